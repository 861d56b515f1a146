"""Experiment 3: noise and signal on the same channel, tasks 3a, 3b, 3c (Section 5.3, Tables 4-6;
paper-spec §5.3). Config defaults are the paper's values for 3a; ``task`` selects 3b or 3c.

Stopping criteria, checked every 100 training sequences on one randomly chosen test set of 256
sequences fixed per trial (reading 7; see docs/decisions.md):

* 3a: ST1 = none of the 256 misclassified (|end error| >= 0.2); ST2 = ST1 and mean absolute test
  error < 0.01.
* 3b: ST1 = fewer than 6 of 256 misclassified; ST2 = ST1 and mean absolute test error < 0.04.
* 3c: stop = none of 256 misclassified (|output - noise-free target| >= 0.1) and mean absolute
  difference to the noise-free target < 0.015; training targets carry noise of variance 0.1.

After the last criterion the fraction misclassified is measured on 2560 fresh sequences.
"""

from __future__ import annotations

from dataclasses import dataclass


from ..network import Architecture
from ..tasks.two_sequence import two_sequence
from ._base import Column, Experiment, Row
from .criteria import Check
from .protocol import Trial, evaluate

__all__ = ["TwoSequenceConfig", "TWO_SEQUENCE"]

_TASK = {  # task -> (lr, class targets, target noise variance, input noise, [(stage, max wrong, MAE bound)], tol)
    "3a": (1.0, (1.0, 0.0), 0.0, False, [("ST1", 0, None), ("ST2", 0, 0.01)], 0.2),
    "3b": (1.0, (1.0, 0.0), 0.0, True, [("ST1", 5, None), ("ST2", 5, 0.04)], 0.2),
    "3c": (0.1, (0.2, 0.8), 0.1, False, [("stop", 0, 0.015)], 0.1),
}


@dataclass(frozen=True)
class TwoSequenceConfig:
    task: str = "3a"                      # §5.3: 3a, 3b (noisy informative inputs), 3c (noisy targets)
    T: int = 100                          # §5.3: length uniform in [T, T + T/10] (Tables 4-6 rows)
    N: int = 3                            # §5.3: number of informative elements at the start
    lr: float | None = None               # §5.3: 1.0 (3a, 3b), 0.1 (3c); None = the task's
    init_range: float = 0.1               # §5.3: weights in [-0.1, 0.1] except the gate biases
    in_gate_bias: tuple = (-1.0, -3.0, -5.0)   # §5.3: input-gate biases
    out_gate_bias: tuple = (-2.0, -4.0, -6.0)  # §5.3: output-gate biases
    check_size: int = 256                 # §5.3: ST1/ST2 on a test set of 256 sequences
    check_every: int = 100                # [U] reading 7: criteria checked every 100 training sequences
    test_size: int = 2560                 # §5.3: fraction misclassified on 2560 sequences after ST2
    max_sequences: int = 5_000_000        # [U] cap not stated for Exp. 3; the paper's 5-million cap (Exp. 2)
    chunk: int = 100                      # protocol: sequences per call = the check period

    def __post_init__(self) -> None:
        if self.task not in _TASK:
            raise ValueError(f"task must be one of {sorted(_TASK)}, got {self.task!r}")
        if self.check_every % self.chunk:
            raise ValueError("check_every must be a multiple of chunk")
        if isinstance(self.T, int) and isinstance(self.N, int) and self.N >= self.T >= 1:
            raise ValueError(f"N must be smaller than T (N={self.N}, T={self.T}): the informative elements must "
                             "be followed by noise")

    @property
    def mean_length(self) -> float:
        return self.T * 1.05

    @property
    def rate(self) -> float:
        return _TASK[self.task][0] if self.lr is None else self.lr

    @property
    def tol(self) -> float:
        return _TASK[self.task][5]

    def architecture(self) -> Architecture:
        """1 input, 1 output, 3 blocks of size 1; cells and gates biased, the output not (102 weights)."""
        return Architecture(n_in=1, n_out=1, blocks=3, cells=1, bias=("in_gate", "out_gate", "cell"),
                            init_range=self.init_range, in_gate_bias=self.in_gate_bias,
                            out_gate_bias=self.out_gate_bias)

    def sample(self, rng, n, clean: bool = False):
        _, targets, noise, input_noise, _, _ = _TASK[self.task]
        return two_sequence(rng, self.T, self.N, n, input_noise=input_noise, targets=targets,
                            target_noise_var=0.0 if clean else noise)


def _trial(cfg: TwoSequenceConfig) -> Trial:
    _, _, _, _, stages, tol = _TASK[cfg.task]
    fixed = {}

    def prepare(rng):                     # one randomly chosen test set per trial, noise-free targets
        fixed["set"] = cfg.sample(rng, cfg.check_size, clean=True)

    def make_check(name, max_wrong, mae):
        def test(net, rng):
            r = evaluate(net, fixed["set"], tol)
            return r["wrong"] <= max_wrong and (mae is None or r["mae"] < mae), \
                {"check_wrong": r["wrong"], "check_mae": r["mae"]}
        return Check(name, test, every=cfg.check_every)

    def final(net, rng):
        r = evaluate(net, cfg.sample(rng, cfg.test_size, clean=True), tol)
        return {**r, "fraction": r["wrong"] / r["total"]}

    return Trial(arch=cfg.architecture(), lr=cfg.rate, sample=cfg.sample, tol=tol,
                 stages=[make_check(*s) for s in stages], max_sequences=cfg.max_sequences, chunk=cfg.chunk,
                 final_test=final, stage_tests=(stages[-1][0],), prepare=prepare)


def _rows():
    t4 = [(100, 3, 27_380, 39_850, 0.000195), (100, 1, 58_370, 64_330, 0.000117), (1000, 3, 446_850, 452_460, 0.000078)]
    t5 = [(100, 3, 41_740, 43_250, 0.00828), (100, 1, 74_950, 78_430, 0.01500), (1000, 1, 481_060, 485_080, 0.01207)]
    t6 = [(100, 3, 269_650, 0.00558, 0.014), (100, 1, 565_640, 0.00441, 0.012)]
    rows = [Row(f"3a T={T} N={N}", {"task": "3a", "T": T, "N": N},
                {"weights": 102, "stage_ST1": st1, "sequences": st2, "test_fraction": frac, "success_rate": 1.0})
            for T, N, st1, st2, frac in t4]
    rows += [Row(f"3b T={T} N={N}", {"task": "3b", "T": T, "N": N},
                 {"weights": 102, "stage_ST1": st1, "sequences": st2, "test_fraction": frac, "success_rate": 1.0})
             for T, N, st1, st2, frac in t5]
    rows += [Row(f"3c T={T} N={N}", {"task": "3c", "T": T, "N": N},
                 {"weights": 102, "sequences": stop, "test_fraction": frac, "test_mae": diff, "success_rate": 1.0})
             for T, N, stop, frac, diff in t6]
    return tuple(rows)


TWO_SEQUENCE = Experiment(
    id="3", names=("two-sequence", "3a", "3b", "3c"), title="Noise and signal on one channel (Exp. 3, Tables 4-6)",
    table="4", config=TwoSequenceConfig, trials=10, make_trial=_trial, symbols=("T", "N", "lr"), rows=_rows(),
    columns=(Column("stop ST1", "stage_ST1"), Column("misclassified", "test_fraction", "{:.5f}"),
             Column("test MAE", "test_mae", "{:.4f}")))
