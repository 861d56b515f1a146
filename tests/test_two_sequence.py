"""Defining properties of the Exp. 3 generator (2-sequence problem, tasks 3a/3b/3c; spec §5.3)."""

import numpy as np
import pytest

from lstm1997.tasks.two_sequence import CLASS_TARGETS, two_sequence


def _split(b, N):
    """Per-step sequence index, in-sequence position (0-based), informative mask, last-step mask."""
    seq = np.repeat(np.arange(len(b)), b.lengths)
    pos = np.arange(b.n_steps) - b.offsets[:-1][seq]
    last = np.zeros(b.n_steps, bool)
    last[b.end_indices()] = True
    return seq, pos, pos < N, last


@pytest.mark.parametrize("T,N", [(100, 1), (100, 3), (50, 3), (5, 2)])
def test_3a_defining_properties(T, N, rng):
    n = 4000
    b = two_sequence(rng, T, N, n)
    assert b.n_in == 1 and b.n_out == 1 and len(b) == n and b.symbols is None
    L = b.lengths
    assert L.min() >= T and L.max() <= T + T // 10
    assert set(np.unique(L)) == set(range(T, T + T // 10 + 1)), "every length T..T+T//10 occurs"
    x, d = b.inputs[:, 0], b.targets[:, 0]
    seq, pos, info, last = _split(b, N)
    # targets: NaN except the last step, exactly 1.0 (class 1) or 0.0 (class 2)
    assert np.isnan(d[~last]).all()
    end = d[last]
    assert set(np.unique(end)) <= {1.0, 0.0}
    cls1 = end == 1.0
    assert abs(cls1.mean() - 0.5) < 0.04, "class balance"
    # informative elements exactly +1 (class 1) / -1 (class 2), all N identical
    xi = x[info].reshape(n, N)
    np.testing.assert_array_equal(xi, np.where(cls1, 1.0, -1.0)[:, None] * np.ones(N))
    # noise elements: Gaussian, mean 0, variance 0.2
    # (tolerances: 5 standard errors for the sample size)
    noise = x[~info]
    M = noise.size
    assert abs(noise.mean()) < 5 * np.sqrt(0.2 / M)
    assert abs(noise.var() - 0.2) < 5 * 0.2 * np.sqrt(2 / M)
    within = np.mean(np.abs(noise) < np.sqrt(0.2))
    assert abs(within - 0.6827) < 5 * np.sqrt(0.6827 * 0.3173 / M), "Gaussian: ~68% within 1 std"
    # noise is independent of the class
    a, c = x[~info & np.repeat(cls1, L)], x[~info & np.repeat(~cls1, L)]
    assert abs(a.mean() - c.mean()) < 5 * np.sqrt(0.2 / a.size + 0.2 / c.size)


def test_3a_statistics_large(rng):
    """Overall noise statistics over ~1e6 samples (T=100, N=1)."""
    b = two_sequence(rng, 100, 1, 10000)
    _, _, info, _ = _split(b, 1)
    noise = b.inputs[~info, 0]
    assert noise.size > 1_000_000
    assert abs(noise.mean()) < 0.003 and abs(noise.var() - 0.2) < 0.003


def test_T1000_lengths(rng):
    b = two_sequence(rng, 1000, 3, 300)
    assert b.lengths.min() >= 1000 and b.lengths.max() <= 1100


@pytest.mark.parametrize("N", [1, 3])
def test_3b_informative_elements_noisy(N, rng):
    n = 6000
    b = two_sequence(rng, 100, N, n, input_noise=True, targets=CLASS_TARGETS["3b"])
    x, d = b.inputs[:, 0], b.targets[:, 0]
    _, _, info, last = _split(b, N)
    assert np.isnan(d[~last]).all()
    cls1 = d[last] == 1.0
    assert set(np.unique(d[last])) <= {0.0, 1.0}
    assert abs(cls1.mean() - 0.5) < 0.035
    xi = x[info].reshape(n, N)
    c1, c2 = xi[cls1].ravel(), xi[~cls1].ravel()
    for c, mu in ((c1, 1.0), (c2, -1.0)):
        assert abs(c.mean() - mu) < 5 * np.sqrt(0.2 / c.size)
        assert abs(c.var() - 0.2) < 5 * 0.2 * np.sqrt(2 / c.size)
    # noise on the informative elements is independent per position
    if N == 3:
        assert not np.any(np.all(xi == xi[:, :1], axis=1))
    noise = x[~info]
    assert abs(noise.mean()) < 0.01 and abs(noise.var() - 0.2) < 0.01


def test_3c_targets_with_noise(rng):
    n = 8000
    b = two_sequence(rng, 100, 3, n, targets=CLASS_TARGETS["3c"], target_noise_var=0.1)
    x, d = b.inputs[:, 0], b.targets[:, 0]
    _, _, info, last = _split(b, 3)
    assert np.isnan(d[~last]).all() and np.isfinite(d[last]).all()
    cls1 = x[b.offsets[:-1]] == 1.0                   # informative inputs are noise-free in 3c
    assert np.all(np.abs(x[info]) == 1.0)
    assert abs(cls1.mean() - 0.5) < 0.03
    e1, e2 = d[last][cls1], d[last][~cls1]
    assert abs(e1.mean() - 0.2) < 0.03 and abs(e2.mean() - 0.8) < 0.03
    assert abs(e1.var() - 0.1) < 0.015 and abs(e2.var() - 0.1) < 0.015


def test_3c_targets_exact_without_noise(rng):
    b = two_sequence(rng, 100, 1, 2000, targets=CLASS_TARGETS["3c"])
    x, d = b.inputs[:, 0], b.targets[:, 0]
    _, _, _, last = _split(b, 1)
    cls1 = x[b.offsets[:-1]] == 1.0
    np.testing.assert_array_equal(d[last], np.where(cls1, 0.2, 0.8))
    assert np.isnan(d[~last]).all()


def test_class_targets_table():
    assert CLASS_TARGETS == {"3a": (1.0, 0.0), "3b": (1.0, 0.0), "3c": (0.2, 0.8)}


def test_same_seed_same_data():
    kw = dict(input_noise=True, targets=(0.2, 0.8), target_noise_var=0.1)
    a = two_sequence(np.random.default_rng(7), 100, 3, 50, **kw)
    b = two_sequence(np.random.default_rng(7), 100, 3, 50, **kw)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    c = two_sequence(np.random.default_rng(8), 100, 3, 50, **kw)
    m = min(a.n_steps, c.n_steps)
    assert not np.array_equal(a.inputs[:m], c.inputs[:m])


@pytest.mark.parametrize("args,kw", [
    ((0, 1, 10), {}),                  # T < 1
    ((100, 0, 10), {}),                # N < 1
    ((100, 100, 10), {}),              # N == T
    ((10, 11, 10), {}),                # N > T
    ((1, 1, 10), {}),                  # T = 1 leaves no N < T
    ((100, 1, 0), {}),                 # n < 1
    ((100.0, 1, 10), {}),              # non-integer T
    ((True, 1, 10), {}),               # bool T
    ((100, 1.5, 10), {}),              # non-integer N
    ((100, 1, 10), {"target_noise_var": -0.1}),
    ((100, 1, 10), {"target_noise_var": float("nan")}),
    ((100, 1, 10), {"targets": (1.0,)}),
    ((100, 1, 10), {"targets": (1.0, 0.0, 0.5)}),
    ((100, 1, 10), {"targets": (1.0, float("inf"))}),
    ((100, 1, 10), {"targets": None}),
])
def test_bad_parameters_rejected(args, kw):
    with pytest.raises(ValueError):
        two_sequence(np.random.default_rng(0), *args, **kw)


@pytest.mark.parametrize("bad", [np.random.RandomState(0), None, 0])
def test_non_generator_rng_refused(bad):
    with pytest.raises(TypeError):
        two_sequence(bad, 100, 1, 10)
