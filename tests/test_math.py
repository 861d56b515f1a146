"""The kernels' own exp and logistic function (``_kernels/_math.py``): accuracy and vectorisation."""

import os
import platform
import re

import numpy as np
import pytest

from lstm1997._kernels._jit import JIT, njit
from lstm1997._kernels._math import exp, sigmoid

JIT_OFF = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


@njit(**JIT)
def _exp_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@njit(**JIT)
def _sigmoid_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = sigmoid(x[i])


def _exp_all(x, out):
    with np.errstate(over="ignore", invalid="ignore"):   # only matters with NUMBA_DISABLE_JIT=1
        _exp_loop(x, out)


def _sigmoid_all(x, out):
    with np.errstate(over="ignore", invalid="ignore"):
        _sigmoid_loop(x, out)


def _ulps(got, x):
    """Error of ``got`` against e^x in extended precision, in units of the last place of the double result."""
    ref = np.exp(x.astype(np.longdouble))
    spacing = np.spacing(np.minimum(np.abs(ref), np.finfo(np.float64).max).astype(np.float64))
    return np.abs((got.astype(np.longdouble) - ref) / spacing.astype(np.longdouble)).astype(np.float64)


needs_long = pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="no extended precision on this platform")


@needs_long
def test_exp_is_within_one_ulp_on_millions_of_points():
    rng = np.random.default_rng(0)
    n = 300_000 if JIT_OFF else 3_000_000
    x = np.concatenate([
        rng.uniform(-745.0, 709.7, n),                  # the whole range with a finite, non-zero result
        rng.uniform(-40.0, 40.0, n),                    # where the network's net inputs live
        rng.normal(0.0, 1e-3, n // 10),                 # near 0
        rng.uniform(-745.13, -708.0, n // 10),          # subnormal results
        np.linspace(-1.0, 1.0, 100_001),
        np.array([0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.0, -1.0, 0.5 * np.log(2), -0.5 * np.log(2),
                  709.78, 709.782712893384, -708.39, -745.1332191019411]),
    ])
    out = np.empty_like(x)
    _exp_all(x, out)
    err = _ulps(out, x)
    assert err.max() < 1.0, f"max error {err.max():.3f} ulp at x = {x[err.argmax()]!r}"
    # and within 1 ulp of NumPy's exp as well
    npx = np.exp(x)
    assert np.all(np.abs(out - npx) <= np.spacing(np.maximum(np.abs(npx), np.finfo(np.float64).tiny)) * 1.0
                  + np.finfo(np.float64).smallest_subnormal)


def test_exp_and_sigmoid_at_the_extremes():
    x = np.array([-np.inf, -1e308, -746.0, -745.2, 800.0, 709.79, 1e308, np.inf, np.nan, 0.0])
    out = np.empty_like(x)
    _exp_all(x, out)
    assert list(out[:4]) == [0.0, 0.0, 0.0, 0.0]
    assert list(out[4:8]) == [np.inf] * 4
    assert np.isnan(out[8]) and out[9] == 1.0
    s = np.empty_like(x)
    _sigmoid_all(-x, s)
    assert list(s[:4]) == [1.0] * 4 and list(s[4:8]) == [0.0] * 4 and np.isnan(s[8]) and s[9] == 0.5
    # e^-x overflows for x < -709.78: the logistic is exactly 0 there, never NaN
    y = np.linspace(-1000, 1000, 20001)
    s = np.empty_like(y)
    _sigmoid_all(y, s)
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) >= 0)
    with np.errstate(over="ignore"):
        ref = 1 / (1 + np.exp(-y))
    np.testing.assert_allclose(s, ref, rtol=4e-16, atol=1e-300)


@pytest.mark.skipif(JIT_OFF or platform.machine() not in ("x86_64", "AMD64"), reason="reads x86-64 assembly")
def test_loops_over_exp_compile_to_vector_instructions():
    """The point of this exp: a loop calling it vectorises (np.exp would be a scalar call per element)."""
    x = np.linspace(-5, 5, 64)
    out = np.empty_like(x)
    fresh = njit(**dict(JIT, cache=False))(_sigmoid_loop.py_func)   # Numba shows no assembly of cached code
    fresh(x, out)
    asm = fresh.inspect_asm(fresh.signatures[0])
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    if " avx" not in flags:
        pytest.skip("this CPU has no AVX")
    assert re.search(r"\bvdivpd\s+%[yz]mm", asm), "the division of the logistic is not vectorised"
    assert not re.search(r"call\w*\s+.*\bexp\b", asm), "exp is still a library call"
