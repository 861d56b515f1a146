"""Training on a fixed set of sequences (your own data): epochs of online presentations.

Each epoch presents every sequence once, in an order drawn from ``rng``, and the learner updates
the weights online (after every step with a target, or at every sequence end) — the paper's
regime, never batching across sequences.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .batch import Batch
from .learners import DivergenceError
from .network import LSTM, Architecture

__all__ = ["default_architecture", "train", "EpochStats", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """A weight became NaN or inf; ``epoch`` and ``sequence`` (index in the data) say where."""

    def __init__(self, epoch: int, sequence: int):
        self.epoch, self.sequence = epoch, sequence
        super().__init__(f"training diverged (a weight became NaN or inf) in epoch {epoch + 1} while "
                         f"training on sequence {sequence} of the data (counting from 0); "
                         "try a smaller learning rate")


@dataclass
class EpochStats:
    epoch: int
    mae: float        # mean |d - y| over all target values seen during the epoch (while training)
    mse: float
    seconds: float


def default_architecture(n_in: int, n_out: int, blocks: int, cells: int,
                         init_range: float = 0.1) -> Architecture:
    """The paper's usual net for a new task: connectivity F, every non-input unit biased, g in
    [-2,2], h in [-1,1], and input-gate biases -2, -4, -6, ... (as in Exp. 6, spec §1.6-1.7:
    negative input-gate biases against state drift, staggered so blocks are allocated one by one)."""
    return Architecture(n_in=n_in, n_out=n_out, blocks=blocks, cells=cells, init_range=init_range,
                        in_gate_bias=tuple(-2.0 * (j + 1) for j in range(blocks)))


def train(net: LSTM, batch: Batch, learner, epochs: int, rng: np.random.Generator,
          progress: Callable[[EpochStats], None] | None = None, chunk: int = 256) -> list[EpochStats]:
    """Train ``net`` in place for ``epochs`` epochs; returns the per-epoch statistics.

    Raises :class:`TrainingDiverged` naming the data sequence if a weight becomes NaN or inf.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    history = []
    state = learner.init(net)
    for ep in range(epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(batch))
        abs_sum, sq_sum, count = 0.0, 0.0, 0
        for a in range(0, len(order), chunk):
            idx = order[a:a + chunk]
            sub = batch.take(idx)
            seen = state.sequences
            try:
                Y = learner.update(net, state, sub)
            except DivergenceError as e:
                raise TrainingDiverged(ep, int(idx[e.sequence - seen])) from None
            m = ~np.isnan(sub.targets)
            diff = np.abs(Y[m] - sub.targets[m])
            abs_sum += float(diff.sum())
            sq_sum += float((diff ** 2).sum())
            count += diff.size
        n = max(count, 1)
        st = EpochStats(ep + 1, abs_sum / n if count else float("nan"),
                        sq_sum / n if count else float("nan"), time.perf_counter() - t0)
        history.append(st)
        if progress is not None:
            progress(st)
    return history
