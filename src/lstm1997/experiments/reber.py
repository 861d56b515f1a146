"""Experiment 1: the embedded Reber grammar (Section 5.1, Table 1; paper-spec §5.1).

Each trial uses one of three random training/test set pairs (256 strings each; test strings that occur
in the training set excluded) and its own weight initialisation: the paper's 3 pairs x 10
initialisations = 30 trials per row. Training strings are drawn from the training set at random with
replacement; targets at every step, weights updated at every step. Success: every symbol of every string
of both sets predicted correctly (the legal successors are the most active outputs), checked every 100
training strings (reading 7); the cap for failed trials is 200,000 strings (reading 9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Architecture, predict
from ..tasks.reber import all_correct, count_errors, encode, make_datasets
from ._base import Experiment, Row
from .criteria import Check, step_errors
from .protocol import Trial

__all__ = ["ReberConfig", "REBER"]


@dataclass(frozen=True)
class ReberConfig:
    blocks: int = 4                       # Table 1: 4 blocks of size 1 (264 weights) or 3 of size 2 (276)
    cells: int = 1
    lr: float = 0.1                       # Table 1: 0.1, 0.2, 0.5
    init_range: float = 0.2               # §5.1: all weights in [-0.2, 0.2] (input-gate biases too, reading 8)
    dataset: int = 0                      # which of the 3 random training/test set pairs (0, 1, 2)
    n_train: int = 256                    # §5.1: 256 training strings ...
    n_test: int = 256                     # ... and 256 test strings not in the training set
    check_every: int = 100                # [U] reading 7: success checked every 100 training strings
    max_sequences: int = 200_000          # [U] reading 9: cap for failed trials
    chunk: int = 100                      # protocol: strings per call = the check period
    per_step: bool = True                 # reading 2: update at every step (switch: at the string end)
    targets: str = "next"                 # reading 1: one-hot of the actual next symbol ("successors": all legal)

    def __post_init__(self) -> None:
        if self.targets not in ("next", "successors"):
            raise ValueError(f"targets must be 'next' or 'successors', got {self.targets!r}")
        if self.dataset not in (0, 1, 2):
            raise ValueError(f"dataset must be 0, 1 or 2 (the paper's three training/test pairs), got {self.dataset}")

    @property
    def mean_length(self) -> float:
        return 11.0

    def architecture(self) -> Architecture:
        """7 inputs, 7 outputs; only gates biased; output-gate biases -1, -2, ... per block (§5.1)."""
        return Architecture(n_in=7, n_out=7, blocks=self.blocks, cells=self.cells, bias=("in_gate", "out_gate"),
                            init_range=self.init_range,
                            out_gate_bias=tuple(-float(j + 1) for j in range(self.blocks)))

    def datasets(self):
        """The training and test strings of pair ``dataset`` (drawn from a stream of their own)."""
        return make_datasets(np.random.default_rng(np.random.SeedSequence([1, 5, 1, self.dataset])),
                             self.n_train, self.n_test)


def _trial(cfg: ReberConfig) -> Trial:
    train_s, test_s = cfg.datasets()
    onehot = cfg.targets == "next"
    (train, legal_tr), (test, legal_te) = encode(train_s, onehot), encode(test_s, onehot)

    def sample(rng, n):
        return train.take(rng.integers(0, len(train), size=n))

    def success(net, rng):
        y_tr, y_te = predict(net, train), predict(net, test)
        figs = {"train_wrong": count_errors(y_tr, legal_tr, train.offsets),
                "test_wrong": count_errors(y_te, legal_te, test.offsets)}
        return all_correct(y_tr, legal_tr) and all_correct(y_te, legal_te), figs

    return Trial(arch=cfg.architecture(), lr=cfg.lr, sample=sample, tol=0.5, per_step=cfg.per_step,
                 stages=[Check("success", success, every=cfg.check_every)], max_sequences=cfg.max_sequences,
                 chunk=cfg.chunk, errors=step_errors)


_T1 = [(4, 1, 0.1, 264, 1.0, 39_740), (3, 2, 0.1, 276, 1.0, 21_730), (3, 2, 0.2, 276, 0.97, 14_060),
       (4, 1, 0.5, 264, 0.97, 9_500), (3, 2, 0.5, 276, 1.0, 8_440)]

# the literature rows of Table 1 (paper-spec §7): the paper copies them from the sources, so do we
_CITED = [
    ("RTRL 3 hidden", {"weights": 170, "lr": 0.05, "success_text": "some fraction", "sequences": 173_000},
     "Smith & Zipser 1989, cited by the paper; only its few successful trials are reported"),
    ("RTRL 12 hidden", {"weights": 494, "lr": 0.1, "success_text": "some fraction", "sequences": 25_000},
     "Smith & Zipser 1989, cited by the paper; only its few successful trials are reported"),
    ("ELM 15 hidden", {"weights": 435, "success_rate": 0.0, "sequences_text": "> 200,000"},
     "Cleeremans et al. 1989, cited by the paper"),
    ("RCC 7-9 hidden", {"weights_text": "119-198", "success_rate": 0.5, "sequences": 182_000},
     "Fahlman 1991, cited by the paper"),
]

REBER = Experiment(
    id="1", names=("reber",), title="Embedded Reber grammar (Exp. 1, Table 1)", table="1",
    config=ReberConfig, trials=30, make_trial=_trial, symbols=("lr", "blocks", "cells"),
    rows=(*(Row(label, {}, paper, cited=why) for label, paper, why in _CITED),
          *(Row(f"{C}x{S} lr={lr}", {"blocks": C, "cells": S, "lr": lr},
                {"weights": w, "success_rate": rate, "sequences": seqs}) for C, S, lr, w, rate, seqs in _T1)),
    per_trial=lambda k: {"dataset": (k // 10) % 3},
    notes="3 training/test set pairs x 10 initialisations; 'success after' is the mean over successful trials "
          "(docs/decisions.md); the literature rows (RTRL, ELM, RCC) are the paper's cited figures, not re-run")
