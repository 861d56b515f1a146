"""Experiment 4: the adding problem (Section 5.4, Table 7; paper-spec §5.4).

The config's defaults are the paper's values; ``T`` selects the row of Table 7.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

from ..network import Architecture
from ..tasks.adding import adding, check_T
from .criteria import ST3
from .protocol import TrialResult, online_trial

__all__ = ["AddingConfig", "PAPER_TABLE7", "run"]

#: Table 7 (means of 10 trials): T -> (minimal lag, # weights, wrong test sequences of 2560, success after)
PAPER_TABLE7 = {100: (50, 93, 1, 74_000), 500: (250, 93, 0, 209_000), 1000: (500, 93, 1, 853_000)}


@dataclass(frozen=True)
class AddingConfig:
    T: int = 100                          # §5.4: sequence length parameter (Table 7 rows 100, 500, 1000)
    lr: float = 0.5                       # §5.4: learning rate 0.5
    blocks: int = 2                       # §5.4: 2 blocks ...
    cells: int = 2                        # ... of size 2 (93 weights)
    init_range: float = 0.1               # §4: weights uniform in [-0.1, 0.1]
    in_gate_bias: tuple = (-3.0, -6.0)    # §5.4 / Table 10: input-gate biases -3, -6; output gates random
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

    def architecture(self) -> Architecture:
        """2 inputs, 1 output, C x S blocks; all non-input units biased; connectivity F (spec §5.4)."""
        in_bias = tuple(self.in_gate_bias)[: self.blocks] if len(self.in_gate_bias) >= self.blocks else None
        if in_bias is None:
            raise ValueError(f"in_gate_bias needs one value per block ({self.blocks})")
        return Architecture(n_in=2, n_out=1, blocks=self.blocks, cells=self.cells,
                            init_range=self.init_range, in_gate_bias=in_bias)

    def params(self) -> dict:
        return asdict(self)


def run(cfg: AddingConfig, seed: int, progress: Callable[[dict], None] | None = None) -> TrialResult:
    """One trial of Exp. 4 under the paper's protocol."""
    return online_trial(cfg.architecture(), cfg.lr, lambda rng, n: adding(rng, cfg.T, n), seed,
                        criterion=ST3(beta=cfg.beta, tol=cfg.tol, window=cfg.window), tol=cfg.tol,
                        test_size=cfg.test_size, max_sequences=cfg.max_sequences, chunk=cfg.chunk,
                        probe_every=cfg.probe_every, probe_gate=cfg.probe_gate,
                        quality_wrong=cfg.quality_wrong, progress=progress)
