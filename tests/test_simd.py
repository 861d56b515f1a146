"""The explicit SIMD vectors of the lane kernel (``_kernels/_simd.py``): each vector operation is its scalar
counterpart lane by lane, so the ``exp`` and logistic function of a lane vector are bit for bit those of a
float, and the lane kernel compiles to vector instructions."""

import os
import platform
import re

import numpy as np
import pytest

from lstm1997._kernels._jit import JIT, njit
from lstm1997._kernels._math import exp, sigmoid
from lstm1997._kernels._simd import vgather, vload, vsplat, vstore, vwhere, vwhere_eq

JIT_OFF = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
W4, W16 = 4, 16


@njit(**JIT)
def _exp_scalar(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@njit(**JIT)
def _exp_vec4(x, out):
    for i in range(0, x.shape[0], W4):
        vstore(out, i, exp(vload(x, i, W4)))


@njit(**JIT)
def _exp_vec16(x, out):
    for i in range(0, x.shape[0], W16):
        vstore(out, i, exp(vload(x, i, W16)))


@njit(**JIT)
def _sigmoid_scalar(x, out):
    for i in range(x.shape[0]):
        out[i] = sigmoid(x[i])


@njit(**JIT)
def _sigmoid_vec4(x, out):
    for i in range(0, x.shape[0], W4):
        vstore(out, i, sigmoid(vload(x, i, W4)))


def _points(n):
    """Millions of arguments over the whole range of exp, the extremes and the special values; a multiple
    of 16 in number."""
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.uniform(-760.0, 720.0, n),                  # beyond both clamps, too
        rng.uniform(-40.0, 40.0, n),                    # the network's net inputs
        rng.normal(0.0, 1e-3, n // 10),
        rng.uniform(-745.2, -708.0, n // 10),           # subnormal and zero results
        rng.uniform(708.0, 710.5, n // 10),             # near overflow
        np.arange(-1100.0, 1100.0, 0.5) * np.log(2),    # every k of the reduction, and halfway points
        np.array([0.0, -0.0, 5e-324, -5e-324, 1e-300, np.inf, -np.inf, np.nan, -np.nan, 1e308, -1e308,
                  709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, 0.5 * np.log(2)]),
    ])
    return np.concatenate([x, np.zeros(-len(x) % 16)])


def _same_bits(a, b):
    return a.view(np.int64).tobytes() == b.view(np.int64).tobytes()


def _run(f, x):
    out = np.empty_like(x)
    with np.errstate(over="ignore", invalid="ignore"):      # only matters with NUMBA_DISABLE_JIT=1
        f(x, out)
    return out


def test_vector_exp_is_the_scalar_exp_bit_for_bit():
    x = _points(200_000 if JIT_OFF else 2_000_000)
    ref = _run(_exp_scalar, x)
    for f in (_exp_vec4, _exp_vec16):
        got = _run(f, x)
        nan = np.isnan(ref)
        assert np.array_equal(np.isnan(got), nan)
        assert _same_bits(got[~nan], ref[~nan]), f"{f.__name__}: differs at x = {x[~nan][got[~nan] != ref[~nan]][:5]}"
    # and so the vector exp is as accurate as the scalar one (< 1 ulp, tests/test_math.py)
    fin = np.isfinite(x) & (np.abs(x) < 700)
    np.testing.assert_allclose(ref[fin], np.exp(x[fin]), rtol=3e-16)


def test_vector_logistic_is_the_scalar_logistic_bit_for_bit():
    x = np.concatenate([_points(200_000 if JIT_OFF else 1_000_000), np.linspace(-1000, 1000, 4000)])
    x = np.concatenate([x, np.zeros(-len(x) % 4)])
    ref = _run(_sigmoid_scalar, x)
    got = _run(_sigmoid_vec4, x)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(got), nan) and _same_bits(got[~nan], ref[~nan])


@njit(**JIT)
def _ops(a, b, idx, out):
    va = vload(a, 0, W4)
    vb = vload(b, 0, W4)
    vstore(out, 0, va + vb)
    vstore(out, 4, va - vb)
    vstore(out, 8, va * vb)
    vstore(out, 12, va / vb)
    vstore(out, 16, -va)
    vstore(out, 20, 2.0 * va + 1)
    vstore(out, 24, vsplat(3, W4))
    vstore(out, 28, vgather(a, idx, 1, W4))
    vstore(out, 32, vwhere(vb, va, vsplat(-1.0, W4)))
    vstore(out, 36, vwhere_eq(va, va, va, 7.0))


def test_vector_operations_are_the_scalar_operations_lane_by_lane():
    a = np.array([1.5, -2.0, np.nan, 1e308, 0.25, 9.0, -0.0, 3.0])
    b = np.array([0.0, 3.0, 1.0, 10.0, 5.0, 5.0, 5.0, 5.0])
    idx = np.array([3, 0, 2, 6], dtype=np.int64)
    out = np.full(40, -99.0)
    with np.errstate(all="ignore"):
        _ops(a, b, idx, out)
        a4, b4 = a[:4], b[:4]
        expect = np.concatenate([a4 + b4, a4 - b4, a4 * b4, a4 / b4, -a4, 2.0 * a4 + 1, [3.0] * 4,
                                 a[idx + 1], np.where(b4 != 0, a4, -1.0), np.where(a4 == a4, a4, 7.0)])
    np.testing.assert_array_equal(out, expect)
    assert out[16] == -1.5 and out[17] == 2.0 and np.signbit(out[18])           # negation flips every sign


@pytest.mark.skipif(JIT_OFF, reason="types are checked when compiling")
def test_lane_vectors_refuse_arrays_they_cannot_read_as_vectors():
    import numba

    @njit(**JIT)
    def load(a):
        return vload(a, 0, W4)

    for bad in (np.zeros(8, dtype=np.float32), np.zeros((4, 4))[:, 0]):
        with pytest.raises((TypeError, numba.core.errors.TypingError), match="C-contiguous float64"):
            load(bad)


@pytest.mark.skipif(JIT_OFF or platform.machine() not in ("x86_64", "AMD64"), reason="reads x86-64 assembly")
def test_the_lane_kernel_compiles_to_vector_instructions(tmp_path):
    """The lane kernel's step is vector code: packed multiplies, adds and divisions (the logistic) on ymm
    registers, and no call of a library exp."""
    with open("/proc/cpuinfo") as f:
        if " avx2" not in f.read():
            pytest.skip("this CPU has no AVX2")
    from lstm1997 import Architecture, Batch, TruncatedRTRL, init
    from lstm1997._kernels import lanes as K
    from lstm1997.learners.lanes import update_lanes

    arch = Architecture(2, 1, 2, 2)
    rng = np.random.default_rng(0)
    nets = [init(arch, rng) for _ in range(4)]
    batches = [Batch(rng.normal(size=(5, 2)), np.full((5, 1), 0.5), np.array([0, 5])) for _ in range(4)]
    learners = [TruncatedRTRL(0.1) for _ in range(4)]
    update_lanes(learners, nets, [lr.init(n) for lr, n in zip(learners, nets)], batches)
    fresh = njit(**dict(JIT, cache=False))(K.run_lstm_lanes.py_func)    # Numba shows no assembly of cached code
    sig = K.run_lstm_lanes.signatures[0]
    fresh.compile(sig)
    asm = fresh.inspect_asm(sig)
    assert len(re.findall(r"\bv(mul|add)pd\s+[^\n]*%ymm", asm)) > 50
    assert re.search(r"\bvdivpd\s+[^\n]*%ymm", asm), "the logistic is not computed on vectors"
    assert not re.search(r"call\w*\s+.*\bexp\b", asm), "exp is a library call"
