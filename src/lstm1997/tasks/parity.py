"""The parity problem of Bengio et al. (1994) and Bengio & Frasconi (1994), in the variant on which the
1997 paper says random weight guessing beats the methods those authors tested (Hochreiter &
Schmidhuber 1997, Sections 1 and 5.3 text; paper-spec §7).

**Confidence [S].** The 1997 paper gives no definition of this task. This module follows the spec's
reading of the authors' companion work on random weight guessing (the NIPS'96 LSTM paper and the
"guessing" technical report), not verified against the original PDFs:

* One input line. Each sequence is a string of binary elements ``+1.0`` / ``-1.0``, each drawn
  independently with probability 1/2 (so the two classes are equally likely).
* Its length is uniform over the integers ``min_length .. max_length`` (inclusive; default 25..50,
  the lengths of Bengio et al.'s parity experiment).
* The only target is at the last step: ``1.0`` if the number of ``+1`` elements in the sequence is
  odd, ``0.0`` if it is even. Every other step has a NaN target (no target).
* Optional input noise (``noise > 0``, the companion work's noisy variant): uniform noise in
  ``[-noise, noise]`` (there 0.2) is added to every element *after* the target is computed from
  the noise-free bits. The noise never flips a bit's sign for ``noise < 1``, so the target is
  still a function of what the net sees (the sign of each input).

Per sequence: ``x_t in {-1, +1}`` (plus noise), ``d_end = (#{t : x_t = +1}) mod 2``.

All functions draw only from the explicit ``numpy.random.Generator`` passed in and generate all ``n``
sequences with vectorised numpy operations.
"""

from __future__ import annotations

import math

import numpy as np

from ..batch import Batch

__all__ = ["parity", "MIN_LENGTH", "MAX_LENGTH"]

#: Default sequence lengths (spec §7, companion work: "parity (lengths 25-50)").
MIN_LENGTH, MAX_LENGTH = 25, 50


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def parity(rng: np.random.Generator, n: int, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH,
           *, noise: float = 0.0) -> Batch:
    """``n`` parity sequences (spec §7): ±1 elements, length uniform in ``min_length..max_length``,
    end target 1.0 if the number of +1 elements is odd, else 0.0.

    ``noise`` (default 0): half-width of uniform noise added to every element (companion work: 0.2);
    must be in ``[0, 1)`` so that the sign of every element still carries its bit.

    Returns a dense :class:`~lstm1997.Batch` with 1 input and 1 output; the target is NaN except at
    each sequence's last step.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = _check_int("n", n, 1)
    lo = _check_int("min_length", min_length, 1)
    hi = _check_int("max_length", max_length, 1)
    if hi < lo:
        raise ValueError(f"max_length ({hi}) must be >= min_length ({lo})")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) \
            or not math.isfinite(noise) or not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be a number in [0, 1), got {noise!r}")

    lengths = rng.integers(lo, hi, size=n, endpoint=True)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    bits = rng.integers(0, 2, size=total)                 # 1: element +1, 0: element -1
    x = (2.0 * bits - 1.0).reshape(total, 1)
    ones = np.add.reduceat(bits, offsets[:-1])            # +1 elements per sequence (lengths >= 1)
    d = np.full((total, 1), np.nan)
    d[offsets[1:] - 1, 0] = (ones % 2).astype(np.float64)
    if noise > 0.0:
        x = x + rng.uniform(-noise, noise, size=(total, 1))
    return Batch(x, d, offsets)

