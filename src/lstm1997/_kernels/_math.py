r"""``exp`` and the logistic function from plain arithmetic, so that LLVM can vectorise the loops that call them.

Numba compiles ``np.exp`` to a call of the C library's scalar ``exp`` (the pip build of llvmlite has no
vector math library), and a loop that calls a function cannot be vectorised: in the SIMD lane kernel
(``lanes.py``) the 13 exp calls per step of the adding net would cost more than the rest of the step.
This ``exp`` is straight-line code (no calls, no branches, no tables) that inlines into the caller's loop
and becomes vector instructions there (ymm registers on AVX2; ``tests/test_math.py`` reads the assembly).

Algorithm (fdlibm's ``e_exp.c``, Sun Microsystems 1993, the classic < 1 ulp method):

1. reduce: ``x = k ln2 + r`` with ``k = floor(x / ln2 + 1/2)`` and ``|r| <= ln2 / 2``, ``ln2`` split into
   ``LN2HI + LN2LO`` (Cody-Waite) so that ``x - k LN2HI`` is exact;
2. approximate on the small interval: with ``c = r - r^2 (P1 + r^2 (P2 + ... P5 r^2))`` (a Remez fit of
   ``r (e^r + 1) / (e^r - 1)``), ``e^r = 1 + r + r c / (2 - c)``;
3. scale by ``2^k`` built from the exponent bits (a bit-for-bit reinterpretation of an int64 as a
   float64), in two factors ``2^(k >> 1) 2^(k - (k >> 1))`` so that results in the subnormal range are
   rounded once and ``e^x`` overflows to ``inf`` exactly where it should.

Arguments are clamped to [-746, 710] first (beyond them ``e^x`` is 0 or ``inf`` all the same); NaN stays
NaN. The error is below 1 ulp over the whole range (tested against extended-precision ``exp`` on millions
of points). The result is a fixed function of its input on every x86-64 machine (``fastmath=False``: no
contraction into fused multiply-adds), so the network's numbers do not depend on the C library either.

Every kernel uses this ``exp`` (never ``np.exp``), which is why a trial gives bit for bit the same numbers
in the one-network kernel and in any lane of the lane kernel.
"""

import numpy as np

from ._jit import JIT, njit
from ._simd import floor, ldexp2, nan_to, select_gt, select_lt

LN2HI = 6.93147180369123816490e-01       # upper bits of ln 2 (k * LN2HI is exact for |k| < 2^11)
LN2LO = 1.90821492927058770002e-10       # ln 2 - LN2HI
INVLN2 = 1.44269504088896338700e+00      # 1 / ln 2
P1 = 1.66666666666666019037e-01
P2 = -2.77777777770155933842e-03
P3 = 6.61375632143793436117e-05
P4 = -1.65339022054652515390e-06
P5 = 4.13813679705723846039e-08
X_MIN = -746.0                           # e^x < 2^-1075 below: rounds to 0
X_MAX = 710.0                            # e^x > DBL_MAX above


@njit(**JIT)
def exp(x):
    """``e^x`` to < 1 ulp (see the module docstring); vectorisable when inlined into a loop. ``x`` is a float,
    or a lane vector (``_simd.LaneVec``: the same instructions, per lane)."""
    v = select_lt(x, X_MIN, X_MIN, x)            # x < X_MIN ? X_MIN : x, so that NaN passes unchanged
    v = select_gt(v, X_MAX, X_MAX, v)
    kf = floor(v * INVLN2 + 0.5)
    kf = nan_to(kf, 0.0)                         # NaN: any finite k (the result is NaN anyway)
    hi = v - kf * LN2HI
    lo = kf * LN2LO
    r = hi - lo
    t = r * r
    c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return ldexp2(y, kf)


@njit(**JIT)
def sigmoid(x):
    """The logistic function ``1 / (1 + e^-x)`` with the ``exp`` above (exactly 0 or 1 far out); for a float or
    a lane vector."""
    return 1.0 / (1.0 + exp(-x))


@njit(**JIT)
def logistic_rows(net, y, fp, lo, hi):
    """``y[i, l] = sigmoid(net[i, l])`` and ``fp[i, l] = y (1 - y)`` for rows ``lo <= i < hi`` of 2-D arrays
    (for the lane kernel: a small function of its own, so that LLVM inlines ``exp`` and vectorises the
    lane loop, which it does not do inside the large kernel)."""
    for i in range(lo, hi):
        for l in range(net.shape[1]):
            v = sigmoid(net[i, l])
            y[i, l] = v
            fp[i, l] = v * (1.0 - v)


@njit(**JIT)
def logistic_into(x, y, fp, lo, hi):
    """``y[i] = sigmoid(x[i])`` and ``fp[i] = y[i] (1 - y[i])`` for ``lo <= i < hi`` of 1-D arrays (for the
    one-network kernel: one vectorised loop over units instead of a scalar exp per unit)."""
    for i in range(lo, hi):
        v = sigmoid(x[i])
        y[i] = v
        fp[i] = v * (1.0 - v)


@njit(**JIT)
def layout(C, S, H, n_in, has_og, see_in):
    """Sizes and offsets of the weight layout (``network.py``): ``(n_cells, n_og, n_hid, n_src, off_c,
    off_hid, oc0)`` = cells, output gates, hidden units (rows of W_h), sources (columns of W_h), the first
    cell row, the first conventional hidden row, and the first cell column of W_k."""
    n_cells = C * S
    n_og = C if has_og else 0
    n_hid = C + n_og + n_cells + H
    off_c = C + n_og
    return n_cells, n_og, n_hid, n_in + n_hid + 1, off_c, off_c + n_cells, n_in if see_in else 0
