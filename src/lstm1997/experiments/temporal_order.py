"""Experiment 6: temporal order, tasks 6a and 6b (Section 5.6, Table 9; paper-spec §5.6).
Config defaults are the paper's values for 6a; ``variant="6b"`` selects the other row."""

from __future__ import annotations

from dataclasses import dataclass

from ..network import Architecture
from ..tasks.temporal_order import temporal_order
from ._base import Column, Experiment, Row
from .criteria import ST3
from .protocol import Trial, evaluate

__all__ = ["TemporalOrderConfig", "TEMPORAL_ORDER"]

_ROW = {  # variant -> (blocks, outputs, learning rate, input-gate biases); §5.6 and Table 10
    "6a": (2, 4, 0.5, (-2.0, -4.0)),
    "6b": (3, 8, 0.1, (-2.0, -4.0, -6.0)),
}


@dataclass(frozen=True)
class TemporalOrderConfig:
    variant: str = "6a"                   # §5.6: task 6a (2 relevant symbols) or 6b (3)
    lr: float | None = None               # §5.6: 0.5 (6a), 0.1 (6b); None = the variant's
    cells: int = 2                        # §5.6: blocks of size 2 (2 blocks for 6a, 3 for 6b)
    init_range: float = 0.1               # §4: weights uniform in [-0.1, 0.1]
    beta: float = 0.1                     # §5.6: stop ST3(0.1)
    window: int = 2000                    # Table 11: the 2000 most recent training sequences
    tol: float = 0.3                      # §5.6: correct if the final absolute error of all outputs < 0.3
    test_size: int = 2560                 # §5.6: 2560 test sequences
    max_sequences: int = 5_000_000        # [U] cap not stated for Exp. 6; the paper's 5-million cap (Exp. 2)
    chunk: int = 1000                     # protocol: sequences drawn per call (fixes the data order)
    probe_every: int = 10_000             # protocol: test probe period for the secondary figure
    probe_gate: int = 20                  # protocol: probe only if <= this many of the window are wrong
    quality_wrong: int = 3                # §5.6: "never more than 3 wrong test sequences"

    def __post_init__(self) -> None:
        if self.variant not in _ROW:
            raise ValueError(f"variant must be '6a' or '6b', got {self.variant!r}")

    @property
    def mean_length(self) -> float:
        return 105.0

    @property
    def rate(self) -> float:
        return _ROW[self.variant][2] if self.lr is None else self.lr

    def architecture(self) -> Architecture:
        """8 one-hot inputs, 4 (6a) or 8 (6b) outputs, 2 or 3 blocks of size 2, all non-input units biased,
        connectivity F; input-gate biases -2, -4(, -6) (spec §5.6)."""
        blocks, k, _, igb = _ROW[self.variant]
        return Architecture(n_in=8, n_out=k, blocks=blocks, cells=self.cells, init_range=self.init_range,
                            in_gate_bias=igb)

    def sample(self, rng, n):
        return temporal_order(rng, n, self.variant)


def _trial(cfg: TemporalOrderConfig) -> Trial:
    test = lambda net, rng: evaluate(net, cfg.sample(rng, cfg.test_size), cfg.tol)
    stage = ST3(cfg.beta, cfg.tol, cfg.window)
    return Trial(arch=cfg.architecture(), lr=cfg.rate, sample=cfg.sample, stages=[stage], tol=cfg.tol,
                 max_sequences=cfg.max_sequences, chunk=cfg.chunk, final_test=test, stage_tests=(stage.name,),
                 probe=lambda net, rng: test(net, rng)["wrong"] <= cfg.quality_wrong,
                 probe_every=cfg.probe_every, probe_gate=cfg.probe_gate)


TEMPORAL_ORDER = Experiment(
    id="6", names=("temporal-order", "6a", "6b"), title="Temporal order (Exp. 6, Table 9)", table="9",
    config=TemporalOrderConfig, trials=20, make_trial=_trial, symbols=("lr",),
    columns=(Column("wrong /2560", "test_wrong", "{:.1f}"), Column("test MAE", "test_mae", "{:.4f}")),
    rows=(Row("6a", {"variant": "6a"}, {"weights": 156, "test_wrong": 1, "sequences": 31_390, "success_rate": 1.0},
              trials=20),
          Row("6b", {"variant": "6b"}, {"weights": 308, "test_wrong": 2, "sequences": 571_100, "success_rate": 1.0},
              trials=10)))
