"""Stopping and success criteria of the paper (paper-spec §5, Table 11).

* ``ST3(beta)`` (Exps. 4, 6): the average training error is below ``beta`` *and* the 2000 most
  recent training sequences were all processed correctly. "Average training error" is read as the
  mean absolute end-of-sequence error over the same window of 2000 sequences (spec §9, reading 5);
  the mean squared error over the window is logged beside it.
* ``ABS(beta)``: the absolute error of all outputs at the sequence end is below ``beta``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["end_errors", "ST3"]


def end_errors(outputs: np.ndarray, batch) -> np.ndarray:
    """Absolute error of every output at the last step of every sequence, shape ``(n, K)``."""
    ends = batch.end_indices()
    return np.abs(outputs[ends] - batch.targets[ends])


@dataclass
class ST3:
    """``ST3(beta)`` over a sliding window of the most recent training sequences.

    Feed the per-sequence end errors in training order with :meth:`push`; it returns the index
    (within the pushed chunk) of the first sequence after which the criterion holds, or ``None``.
    A sequence is correct when the absolute end error of every output is below ``tol``.
    """

    beta: float = 0.01
    tol: float = 0.04
    window: int = 2000

    def __post_init__(self) -> None:
        self._abs = np.empty(0)      # per-sequence mean |error| over outputs, last `window` sequences
        self._sq = np.empty(0)
        self._wrong = np.empty(0, dtype=bool)

    def push(self, err: np.ndarray) -> int | None:
        """``err``: ``(n, K)`` absolute end errors of ``n`` consecutive training sequences."""
        err = np.asarray(err, dtype=np.float64).reshape(len(err), -1)
        abs_ = np.concatenate([self._abs, err.mean(axis=1)])
        sq = np.concatenate([self._sq, (err ** 2).mean(axis=1)])
        wrong = np.concatenate([self._wrong, ~(err < self.tol).all(axis=1)])
        n_old, w = self._abs.size, self.window
        found = None
        if abs_.size >= w:
            # rolling sums over windows ending at every position >= w-1 (exact: recomputed per chunk)
            cw = np.concatenate([[0], np.cumsum(wrong)])
            ca = np.concatenate([[0.0], np.cumsum(abs_)])
            ends = np.arange(max(w, n_old + 1), abs_.size + 1)           # window = [end-w, end)
            ok = (cw[ends] - cw[ends - w] == 0) & ((ca[ends] - ca[ends - w]) / w < self.beta)
            hit = np.flatnonzero(ok)
            if hit.size:
                found = int(ends[hit[0]]) - 1 - n_old
                keep = n_old + found + 1
                abs_, sq, wrong = abs_[:keep], sq[:keep], wrong[:keep]
        self._abs, self._sq, self._wrong = abs_[-w:], sq[-w:], wrong[-w:]
        return found

    @property
    def seen(self) -> int:
        return self._abs.size

    def window_stats(self) -> dict:
        """Mean absolute and squared end error and wrong count over the current window."""
        n = self._abs.size
        return {"window": n,
                "mae": float(self._abs.mean()) if n else float("nan"),
                "mse": float(self._sq.mean()) if n else float("nan"),
                "wrong": int(self._wrong.sum())}
