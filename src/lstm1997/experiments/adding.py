"""Experiments 4 and 5: the adding problem (Section 5.4, Table 7) and the multiplication problem
(Section 5.5, Table 8); paper-spec §5.4, §5.5. Config defaults are the paper's values."""

from __future__ import annotations

from dataclasses import dataclass

from ..network import Architecture
from ..tasks.adding import adding, check_T, multiplication
from ._base import Column, Experiment, Row
from .criteria import ST3, FewerWrong
from .protocol import Trial, evaluate

__all__ = ["AddingConfig", "MultiplicationConfig", "ADDING", "MULTIPLICATION", "PAPER_TABLE7"]

#: Table 7 (means of 10 trials): T -> (minimal lag, # weights, wrong test sequences of 2560, success after)
PAPER_TABLE7 = {100: (50, 93, 1, 74_000), 500: (250, 93, 0, 209_000), 1000: (500, 93, 1, 853_000)}


@dataclass(frozen=True)
class AddingConfig:
    T: int = 100                          # §5.4: sequence length parameter (Table 7 rows 100, 500, 1000)
    lr: float = 0.5                       # §5.4: learning rate 0.5
    blocks: int = 2                       # §5.4: 2 blocks ...
    cells: int = 2                        # ... of size 2 (93 weights)
    init_range: float = 0.1               # §4: weights uniform in [-0.1, 0.1]
    in_gate_bias: tuple | None = (-3.0, -6.0)  # §5.4 / Table 10: input-gate biases -3, -6; output gates random
    beta: float = 0.01                    # §5.4: stop ST3(0.01)
    window: int = 2000                    # Table 11: ST3 counts the 2000 most recent training sequences
    tol: float = 0.04                     # §5.4: a sequence is correct if |error at the end| < 0.04
    test_size: int = 2560                 # §5.4: test on 2560 fresh sequences
    max_sequences: int = 5_000_000        # [U] cap not stated for Exp. 4; the paper's 5-million cap (Exp. 2)
    chunk: int = 1000                     # protocol: sequences drawn per call (fixes the data order)
    probe_every: int = 10_000             # protocol: test probe period for the secondary figure (reading 24)
    probe_gate: int = 20                  # protocol: probe only if <= this many of the window are wrong
    quality_wrong: int = 3                # §5.4: "never more than 3 wrong test sequences" (paper's quality)

    def __post_init__(self) -> None:
        check_T(self.T)
        for k in ("blocks", "cells"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{k} must be a positive integer, got {v!r}")
        if self.in_gate_bias is not None and len(self.in_gate_bias) != self.blocks:
            raise ValueError(f"blocks={self.blocks}: the paper's net for this task has "
                             f"{len(self.in_gate_bias)} blocks, whose input gates have the biases "
                             f"{', '.join(f'{b:g}' for b in self.in_gate_bias)} (Section 5.4, Table 10); the paper "
                             f"gives no biases for {self.blocks} block(s): leave out --blocks")

    @property
    def mean_length(self) -> float:
        return self.T * 1.05

    def architecture(self) -> Architecture:
        """2 inputs, 1 output, C x S blocks; all non-input units biased; connectivity F (spec §5.4)."""
        return Architecture(n_in=2, n_out=1, blocks=self.blocks, cells=self.cells, init_range=self.init_range,
                            in_gate_bias=None if self.in_gate_bias is None else tuple(self.in_gate_bias))

    def sample(self, rng, n):
        return adding(rng, self.T, n)

    def stages(self) -> list:
        return [ST3(self.beta, self.tol, self.window)]


@dataclass(frozen=True)
class MultiplicationConfig(AddingConfig):
    lr: float = 0.1                       # §5.5: learning rate 0.1
    in_gate_bias: tuple | None = None     # §5.5 / Table 10 (igb = r): all weights incl. gate biases random
    n_seq: tuple = (140, 13)              # §5.5: test when fewer than n_seq of the last 2000 are wrong
    quality_wrong: int = 15               # §5.5: "never more than 15 wrong" at n_seq = 13

    def sample(self, rng, n):
        return multiplication(rng, self.T, n)

    def stages(self) -> list:
        return [FewerWrong(n, self.tol, self.window) for n in self.n_seq]


def _trial(cfg: AddingConfig) -> Trial:
    test = lambda net, rng: evaluate(net, cfg.sample(rng, cfg.test_size), cfg.tol)
    stages = cfg.stages()
    return Trial(arch=cfg.architecture(), lr=cfg.lr, sample=cfg.sample, stages=stages, tol=cfg.tol,
                 max_sequences=cfg.max_sequences, chunk=cfg.chunk, final_test=test,
                 stage_tests=tuple(s.name for s in stages),
                 probe=lambda net, rng: test(net, rng)["wrong"] <= cfg.quality_wrong,
                 probe_every=cfg.probe_every, probe_gate=cfg.probe_gate)


_TEST_COLS = (Column("wrong /2560", "test_wrong", "{:.1f}"), Column("test MAE", "test_mae", "{:.4f}"),
              Column("test MSE", "test_mse", "{:.5f}"))

ADDING = Experiment(
    id="4", names=("adding",), title="Adding problem (Exp. 4, Table 7)", table="7",
    config=AddingConfig, trials=10, make_trial=_trial, columns=_TEST_COLS, symbols=("T", "lr"),
    rows=tuple(Row(f"T={T}", {"T": T}, {"lag": lag, "weights": w, "test_wrong": wrong, "sequences": seqs,
                                           "success_rate": 1.0})
               for T, (lag, w, wrong, seqs) in PAPER_TABLE7.items()))

MULTIPLICATION = Experiment(
    id="5", names=("multiplication",), title="Multiplication problem (Exp. 5, Table 8)", table="8",
    config=MultiplicationConfig, trials=10, make_trial=_trial, columns=_TEST_COLS, symbols=("T", "lr"),
    rows=(Row("n_seq=140", {"T": 100}, {"weights": 93, "test_wrong": 139, "test_mse": 0.0223,
                                         "sequences": 482_000, "success_rate": 1.0}, stage="n_seq=140"),
          Row("n_seq=13", {"T": 100}, {"weights": 93, "test_wrong": 14, "test_mse": 0.0139,
                                        "sequences": 1_273_000, "success_rate": 1.0}, stage="n_seq=13")),
    notes="one run per trial, tested at both n_seq levels (docs/decisions.md); the paper's 'MSE' column looks like "
          "a mean absolute error (docs/decisions.md): we report both")
