"""Experiments 4 and 5, the adding and the multiplication problem (Hochreiter & Schmidhuber 1997,
Sections 5.4 and 5.5; paper-spec §5.4, §5.5).

Task. Each sequence element is a pair ``(value, marker)``. The length is uniform over the integers
``T .. T + T/10`` (inclusive). Values are uniform in ``[-1, 1]``. One of the first 10 pairs is
marked (marker 1.0); its value is ``X1``. Then one of the first ``T/2`` pairs other than the first
mark is marked; its value is ``X2`` (spec reading 13: uniform over positions ``{1..T/2}`` minus
``X1``'s position, so the minimal lag is exactly ``T/2``). The first and the last pair carry marker
-1.0 when unmarked; every other marker is 0. If position 1 is marked (by either mark), its value is
set to 0 — in the input the network sees, too (readings 14 and 19). The only target is at the last
step: ``0.5 + (X1 + X2) / 4``, in ``[0, 1]``. A sequence is processed correctly if the absolute
error at the end is below 0.04.

Multiplication (Exp. 5, Section 5.5): the same frame, but values are uniform in ``[0, 1]``, a marked
position 1 gets the value 1.0 (reading 14), and the target is ``X1 * X2``.

``T`` must be a multiple of 10 and at least 20 (reading 20: ``T/2`` and ``T/10`` must be
integers and the first mark must fall inside the first half).

Inputs are ``(value, marker)`` in that column order. Positions in this docstring are 1-based as in
the paper; arrays are 0-based.
"""

from __future__ import annotations

import numpy as np

from ..batch import Batch

__all__ = ["adding", "multiplication", "check_T"]


def check_T(T) -> int:
    """Validate the adding/multiplication sequence parameter ``T``; return it as int."""
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 20 or T % 10:
        raise ValueError(f"T must be a multiple of 10 and at least 20 (T/2 and T/10 must be integers, "
                         f"spec reading 20), got {T!r}")
    return int(T)


def _marked_pairs(rng: np.random.Generator, T: int, n: int, low: float, high: float, first_value: float):
    """The shared frame of Exps. 4 and 5: returns ``(batch_inputs, offsets, x1, x2)``."""
    T = check_T(T)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    lengths = rng.integers(T, T + T // 10, size=n, endpoint=True)
    pos1 = rng.integers(0, 10, size=n)                    # one of the first 10 pairs
    r = rng.integers(0, T // 2 - 1, size=n)                # one of the other T/2 - 1 pairs in {1..T/2}
    pos2 = r + (r >= pos1)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    starts, ends = offsets[:-1], offsets[1:] - 1
    x = np.empty((offsets[-1], 2))
    x[:, 0] = rng.uniform(low, high, size=offsets[-1])
    x[:, 1] = 0.0
    x[starts, 1] = -1.0
    x[ends, 1] = -1.0
    x[starts + pos1, 1] = 1.0
    x[starts + pos2, 1] = 1.0
    first_marked = (pos1 == 0) | (pos2 == 0)
    x[starts[first_marked], 0] = first_value
    return x, offsets, x[starts + pos1, 0], x[starts + pos2, 0]


def adding(rng: np.random.Generator, T: int, n: int = 1) -> Batch:
    """``n`` adding-problem sequences with parameter ``T`` drawn from ``rng`` (spec §5.4).

    Returns a :class:`~lstm1997.Batch` with 2 inputs and 1 output; the target is NaN except at
    each sequence's last step.
    """
    x, offsets, x1, x2 = _marked_pairs(rng, T, n, -1.0, 1.0, 0.0)
    d = np.full((x.shape[0], 1), np.nan)
    d[offsets[1:] - 1, 0] = 0.5 + (x1 + x2) / 4.0
    return Batch(x, d, offsets)


def multiplication(rng: np.random.Generator, T: int, n: int = 1) -> Batch:
    """``n`` multiplication-problem sequences (Exp. 5, spec §5.5): values in [0, 1], target ``X1 * X2``."""
    x, offsets, x1, x2 = _marked_pairs(rng, T, n, 0.0, 1.0, 1.0)
    d = np.full((x.shape[0], 1), np.nan)
    d[offsets[1:] - 1, 0] = x1 * x2
    return Batch(x, d, offsets)
