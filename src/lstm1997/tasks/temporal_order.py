"""Experiment 6, temporal order (Hochreiter & Schmidhuber 1997, Section 5.6, Table 9; paper-spec §5.6
and §9 readings 16, 17).

Positions in this docstring are 1-based as in the paper (reading 17: E is at position 1); arrays
are 0-based.

Alphabet: the 8 symbols of :data:`SYMBOLS`, ``E, B, a, b, c, d, X, Y``, coded one-hot in 8 input
units; the index in :data:`SYMBOLS` is the input unit (E = 0, B = 1, a..d = 2..5, X = 6, Y = 7).

Task 6a. The length is uniform over the integers ``100 .. 110`` (inclusive). Position 1 holds E,
the last position holds the trigger B. Two relevant positions ``t1``, uniform over ``10 .. 20``, and
``t2``, uniform over ``50 .. 60``, hold X or Y (each with probability 0.5, independently). Every other
element is uniform over ``{a, b, c, d}``. Four classes by the order of X/Y: ``(X, X) -> 0 (Q)``,
``(X, Y) -> 1 (R)``, ``(Y, X) -> 2 (S)``, ``(Y, Y) -> 3 (U)``. The minimal lag from ``t2`` to the
end is 40 (length 100, ``t2 = 60``; Table 10).

Task 6b. The same frame with three relevant positions ``t1 in 10 .. 20``, ``t2 in 33 .. 43`` and
``t3 in 66 .. 76``, and eight classes ``XXX -> 0 (Q)``, ``XXY -> 1 (R)``, ``XYX -> 2 (S)``,
``XYY -> 3 (U)``, ``YXX -> 4 (V)``, ``YXY -> 5 (A)``, ``YYX -> 6 (B)``, ``YYY -> 7 (C)``. The minimal lag
from ``t3`` to the end is 24 (Table 10).

In both, the class index is the binary number read off the relevant symbols with ``X = 0``, ``Y = 1``
and the first relevant position most significant (the class letters are output labels only).
The only target is at the last step (where B is read): the one-hot class over 4 (6a) or 8 (6b)
output units (reading 16); every other step has NaN targets. Correct classification: the absolute
error of all output units at the end below 0.3.

All functions draw only from the explicit ``numpy.random.Generator`` passed in and generate all ``n``
sequences with vectorised numpy operations (no Python loop over steps or sequences).
"""

from __future__ import annotations

import numpy as np

from ..batch import Batch

__all__ = ["temporal_order", "SYMBOLS", "RELEVANT_POSITIONS", "LENGTH_RANGE", "N_CLASSES"]

#: Input alphabet; the index of a symbol is its input unit.
SYMBOLS = ("E", "B", "a", "b", "c", "d", "X", "Y")
_E, _B, _A, _X = 0, 1, 2, 6

#: Sequence length range, 1-based inclusive.
LENGTH_RANGE = (100, 110)

#: Ranges of the relevant (X/Y) positions per variant, 1-based inclusive (E is at position 1).
RELEVANT_POSITIONS = {
    "6a": ((10, 20), (50, 60)),
    "6b": ((10, 20), (33, 43), (66, 76)),
}

#: Number of classes (output units) per variant.
N_CLASSES = {v: 2 ** len(r) for v, r in RELEVANT_POSITIONS.items()}


def temporal_order(rng: np.random.Generator, n: int, variant: str = "6a") -> Batch:
    """``n`` temporal-order sequences of task ``variant`` (``"6a"`` or ``"6b"``; spec §5.6).

    Returns a one-hot :class:`~lstm1997.Batch` with 8 inputs (:data:`SYMBOLS`) and 4 (6a) or 8 (6b)
    outputs; the target is NaN except at each sequence's last step (B), where it is the one-hot class.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not isinstance(variant, str) or variant not in RELEVANT_POSITIONS:
        raise ValueError(f"variant must be one of {sorted(RELEVANT_POSITIONS)}, got {variant!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    n = int(n)
    ranges = np.array(RELEVANT_POSITIONS[variant])         # (k, 2), 1-based inclusive
    k = ranges.shape[0]

    lengths = rng.integers(LENGTH_RANGE[0], LENGTH_RANGE[1], size=n, endpoint=True)
    pos = rng.integers(ranges[:, 0], ranges[:, 1], size=(n, k), endpoint=True)   # 1-based positions
    xy = rng.integers(0, 2, size=(n, k))                    # 0: X, 1: Y
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    starts, ends = offsets[:-1], offsets[1:] - 1

    symbols = rng.integers(_A, _A + 4, size=total, dtype=np.int64)    # a, b, c, d
    symbols[starts] = _E
    symbols[ends] = _B
    symbols[(starts[:, None] + pos - 1).ravel()] = (_X + xy).ravel()

    cls = xy @ (1 << np.arange(k - 1, -1, -1))              # first relevant position most significant
    targets = np.full((total, 2 ** k), np.nan)
    targets[ends] = 0.0
    targets[ends, cls] = 1.0
    return Batch.one_hot(symbols, len(SYMBOLS), targets, offsets)
