"""Stopping and success criteria of the paper (paper-spec §5, Table 11).

Two kinds, both used as *stages* of a trial (see :mod:`.protocol`):

* :class:`Window` — a criterion over the most recent training sequences, decided after every single
  sequence (exactly): ``ST3(beta)`` (Exps. 4, 6: the average training error is below ``beta`` and the
  2000 most recent training sequences were all processed correctly; "average training error" is the
  mean absolute end error over the same window, reading 5) and Exp. 5's "fewer than ``n_seq`` of the
  last 2000 training sequences wrong".
* :class:`Check` — a test of the network on test data, made every ``every`` training sequences
  (reading 7): ST1/ST2 (Exp. 3), the Reber success test (Exp. 1), ABS(beta) over 10,000 sequences with
  frozen weights (Exp. 2).

``ABS(beta)``: the absolute error of all outputs at the sequence end is below ``beta``; a sequence is
*correct* when every output's absolute end error is ``< tol`` and *wrong* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["end_errors", "step_errors", "Window", "ST3", "FewerWrong", "Check"]


def end_errors(outputs: np.ndarray, batch) -> np.ndarray:
    """Absolute error of every output at the last step of every sequence, shape ``(n, K)``."""
    ends = batch.end_indices()
    return np.abs(outputs[ends] - batch.targets[ends])


def step_errors(outputs: np.ndarray, batch) -> np.ndarray:
    """Largest absolute error of every output over all steps with a target, per sequence, ``(n, K)``."""
    err = np.nan_to_num(np.abs(outputs - batch.targets), nan=0.0)
    starts = batch.offsets[:-1]
    out = np.zeros((len(batch), err.shape[1]))
    nonempty = batch.lengths > 0
    if nonempty.any():
        out[nonempty] = np.maximum.reduceat(err, starts[nonempty], axis=0)
    return out


@dataclass
class Window:
    """At most ``max_wrong`` of the last ``window`` training sequences wrong (some output's end error
    ``>= tol``) and, if ``beta`` is set, their mean absolute end error below ``beta``. Needs a full
    window. Feed per-sequence errors ``(n, K)`` in training order."""

    window: int = 2000
    tol: float = 0.04
    max_wrong: int = 0
    beta: float | None = None
    name: str = "window"
    count_from: str = "end"      # "start": success is reported at the window's first sequence (reading #27)

    def __post_init__(self) -> None:
        self._abs = np.empty(0)      # per sequence: mean |error| over outputs
        self._sq = np.empty(0)
        self._wrong = np.empty(0, dtype=bool)

    def _joined(self, err):
        err = np.asarray(err, dtype=np.float64).reshape(len(err), -1)
        return (np.concatenate([self._abs, err.mean(axis=1)]),
                np.concatenate([self._sq, (err ** 2).mean(axis=1)]),
                np.concatenate([self._wrong, ~(err < self.tol).all(axis=1)]))

    def first_hit(self, err) -> int | None:
        """Index (within ``err``) of the first sequence after which the criterion would hold; no change."""
        abs_, _, wrong = self._joined(err)
        n_old, w = self._abs.size, self.window
        if abs_.size < w:
            return None
        ends = np.arange(max(w, n_old + 1), abs_.size + 1)           # windows [end-w, end)
        cw = np.concatenate([[0], np.cumsum(wrong)])
        ok = cw[ends] - cw[ends - w] <= self.max_wrong
        if self.beta is not None:
            ca = np.concatenate([[0.0], np.cumsum(abs_)])
            ok &= (ca[ends] - ca[ends - w]) / w < self.beta
        hit = np.flatnonzero(ok)
        return int(ends[hit[0]]) - 1 - n_old if hit.size else None

    def extend(self, err) -> None:
        """Commit ``err`` to the window."""
        abs_, sq, wrong = self._joined(err)
        self._abs, self._sq, self._wrong = abs_[-self.window:], sq[-self.window:], wrong[-self.window:]

    def push(self, err) -> int | None:
        """``first_hit`` then ``extend`` with the sequences up to (and including) the hit."""
        h = self.first_hit(err)
        self.extend(err if h is None else np.asarray(err)[: h + 1])
        return h

    @property
    def seen(self) -> int:
        return self._abs.size

    def stats(self) -> dict:
        """Mean absolute and squared end error and the wrong count over the current window."""
        n = self._abs.size
        return {"window": n, "mae": float(self._abs.mean()) if n else float("nan"),
                "mse": float(self._sq.mean()) if n else float("nan"), "wrong": int(self._wrong.sum())}

    window_stats = stats

    def state_arrays(self) -> dict:
        """The committed window as arrays (for checkpoints): per sequence mean |error|, mean error^2, wrong."""
        return {"abs": self._abs, "sq": self._sq, "wrong": self._wrong}

    def load_state_arrays(self, arrays: dict) -> None:
        """Restore a window saved by :meth:`state_arrays`."""
        self._abs = np.asarray(arrays["abs"], dtype=np.float64).copy()
        self._sq = np.asarray(arrays["sq"], dtype=np.float64).copy()
        self._wrong = np.asarray(arrays["wrong"], dtype=bool).copy()


def ST3(beta: float, tol: float, window: int = 2000) -> Window:
    """``ST3(beta)`` (Table 11): mean absolute training error < beta and the last 2000 all correct."""
    return Window(window=window, tol=tol, max_wrong=0, beta=beta, name=f"ST3({beta:g})")


def FewerWrong(n_seq: int, tol: float, window: int = 2000) -> Window:
    """Exp. 5 (Section 5.5): fewer than ``n_seq`` of the last 2000 training sequences wrong."""
    return Window(window=window, tol=tol, max_wrong=n_seq - 1, name=f"n_seq={n_seq}")


@dataclass
class Check:
    """A test made every ``every`` training sequences: ``test(net) -> (holds, figures)``.

    ``gate``: test only when at least this many of the most recent training sequences were all
    correct (saves the cost of large test sets while the network is clearly not there yet).
    """

    name: str
    test: Callable
    every: int = 100
    gate: int = 0
    figures: dict = field(default_factory=dict)
