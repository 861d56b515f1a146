"""Tasks 2a, 2b, 2c (Section 5.2, Tables 2 and 3; paper-spec §5.2, readings 11, 12, 16)."""

import time

import numpy as np
import pytest

from lstm1997.tasks.long_lag import noise_free, random_middle, very_long_lag


def _seqs(b, n_steps):
    """Symbols and target argmaxes of equal-length sequences as (n, n_steps) arrays."""
    assert np.all(b.lengths == n_steps)
    return b.symbols.reshape(-1, n_steps), b.targets.argmax(axis=1).reshape(-1, n_steps)


def _check_one_hot_targets(b):
    assert np.all((b.targets == 0.0) | (b.targets == 1.0))
    assert np.all(b.targets.sum(axis=1) == 1.0)


# ---------------------------------------------------------------- 2a

@pytest.mark.parametrize("p", [2, 4, 10, 100])
def test_noise_free_defining_properties(p, rng):
    n = 4000
    b = noise_free(rng, p, n)
    assert b.n_in == p + 1 and b.n_out == p + 1 and len(b) == n and b.symbols is not None
    _check_one_hot_targets(b)
    sym, tgt = _seqs(b, p)                             # p inputs, p targets per sequence
    full = np.concatenate([sym, tgt[:, -1:]], axis=1)  # the p+1 elements of the paper's sequence
    # the targets are the next symbols
    np.testing.assert_array_equal(tgt[:, :-1], sym[:, 1:])
    # exactly two distinct sequences: (y, a_1..a_{p-1}, y) and (x, a_1..a_{p-1}, x)
    distinct = np.unique(full, axis=0)
    middle = np.arange(p - 1)
    np.testing.assert_array_equal(distinct, [[p - 1, *middle, p - 1], [p, *middle, p]])
    # first symbol = last target's argmax, both x or y
    np.testing.assert_array_equal(sym[:, 0], tgt[:, -1])
    frac_y = np.mean(sym[:, 0] == p)
    assert abs(frac_y - 0.5) < 4 * np.sqrt(0.25 / n)


# ---------------------------------------------------------------- 2b

@pytest.mark.parametrize("p", [2, 10, 100])
def test_random_middle_defining_properties(p, rng):
    n = 4000
    b = random_middle(rng, p, n)
    assert b.n_in == p + 1 and b.n_out == p + 1 and len(b) == n
    _check_one_hot_targets(b)
    sym, tgt = _seqs(b, p)
    np.testing.assert_array_equal(tgt[:, :-1], sym[:, 1:])
    np.testing.assert_array_equal(sym[:, 0], tgt[:, -1])  # last target = first symbol (the class)
    assert np.isin(sym[:, 0], [p - 1, p]).all()
    frac_y = np.mean(sym[:, 0] == p)
    assert abs(frac_y - 0.5) < 4 * np.sqrt(0.25 / n)
    # middle symbols: a_1..a_{p-1} only, uniform (chi-square against uniform, generous bound)
    mid = sym[:, 1:]
    assert mid.size == n * (p - 1)
    if p > 2:
        assert mid.min() == 0 and mid.max() == p - 2
        counts = np.bincount(mid.ravel(), minlength=p - 1)
        expected = mid.size / (p - 1)
        chi2 = ((counts - expected) ** 2 / expected).sum()
        dof = p - 2
        assert chi2 < dof + 6 * np.sqrt(2 * dof), (chi2, dof)
        # positions are independent of the class: same mean in both classes
        m_x, m_y = mid[sym[:, 0] == p - 1].mean(), mid[sym[:, 0] == p].mean()
        assert abs(m_x - m_y) < 0.05 * (p - 2) + 0.05
    else:
        assert np.all(mid == 0)
    # random middle: many distinct sequences for p = 100
    if p == 100:
        assert np.unique(sym, axis=0).shape[0] == n


# ---------------------------------------------------------------- 2c

def _check_2c(b, p, q, n):
    assert b.n_in == p + 4 and b.n_out == 2 and len(b) == n and b.symbols is not None
    e, bb, x, y = p, p + 1, p + 2, p + 3
    s, o = b.symbols, b.offsets
    assert s.min() >= 0 and s.max() < p + 4
    starts, ends = o[:-1], o[1:] - 1
    assert np.all(b.lengths >= q + 3)
    assert np.all(s[starts] == bb)                      # first symbol b
    cls = s[starts + 1]
    assert np.isin(cls, [x, y]).all()                   # second x or y
    assert np.all(s[ends] == e)                         # last input e
    # e occurs exactly once per sequence, b and x/y only at their positions: everything else
    # (the q fixed and the k extra distractors) is a distractor a_1..a_p
    special = np.zeros(s.size, dtype=bool)
    special[starts] = special[starts + 1] = special[ends] = True
    assert np.all(s[~special] < p)
    assert np.all(s[special] >= p)
    assert np.count_nonzero(s == e) == n
    # targets only at the last step, one-hot class: (1, 0) for x, (0, 1) for y
    has_t = ~np.isnan(b.targets).any(axis=1)
    assert np.array_equal(np.isnan(b.targets).all(axis=1), ~has_t)
    np.testing.assert_array_equal(np.flatnonzero(has_t), ends)
    want = np.stack([cls == x, cls == y], axis=1).astype(float)
    np.testing.assert_array_equal(b.targets[ends], want)
    return cls, b.lengths - (q + 3)


@pytest.mark.parametrize("p,q,n", [(1, 0, 3000), (3, 2, 5000), (50, 50, 4000), (100, 100, 2000),
                                   (50, 1000, 600), (100, 1000, 600)])
def test_very_long_lag_defining_properties(p, q, n, rng):
    b = very_long_lag(rng, p, q, n)
    cls, k = _check_2c(b, p, q, n)
    assert abs(np.mean(cls == p + 3) - 0.5) < 4 * np.sqrt(0.25 / n)
    assert k.min() >= 0
    # k ~ geometric: P(k) = 0.9^k 0.1, mean 9, var 90
    assert abs(k.mean() - 9.0) < 4 * np.sqrt(90.0 / n)
    if n >= 2000:
        assert abs(np.mean(k == 0) - 0.1) < 4 * np.sqrt(0.09 / n)
        assert abs(np.mean(k == 1) - 0.09) < 4 * np.sqrt(0.09 * 0.91 / n)
        assert b.lengths.min() == q + 3                   # minimal length attained
    # every distractor roughly equally frequent
    d = b.symbols[b.symbols < p]
    assert d.size == n * q + k.sum()
    if p > 1:
        counts = np.bincount(d, minlength=p)
        expected = d.size / p
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < (p - 1) + 6 * np.sqrt(2 * (p - 1)), chi2


def test_very_long_lag_k_distribution(rng):
    """Histogram of the extra-distractor count against P(k) = 0.9^k 0.1 (q = 0 keeps it cheap)."""
    n = 200_000
    b = very_long_lag(rng, 5, 0, n)
    k = b.lengths - 3
    assert b.lengths.min() == 3
    kmax = 40
    obs = np.bincount(np.minimum(k, kmax), minlength=kmax + 1)
    pk = 0.9 ** np.arange(kmax) * 0.1
    exp = n * np.append(pk, 0.9 ** kmax)
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert chi2 < kmax + 6 * np.sqrt(2 * kmax), chi2
    assert abs(k.mean() - 9.0) < 0.1
    # mean input length q + 12 (full paper sequence q + 13, reading 12)
    assert abs(b.lengths.mean() - 12.0) < 0.1


def test_very_long_lag_classes_independent_of_length(rng):
    b = very_long_lag(rng, 10, 5, 50_000)
    cls = b.symbols[b.offsets[:-1] + 1]
    L = b.lengths
    assert abs(L[cls == 12].mean() - L[cls == 13].mean()) < 0.3


def test_very_long_lag_large_batch_total_length(rng):
    """Generation works for a q = 1000 chunk; not a timing assertion (the time is only printed)."""
    n, p, q = 200, 100, 1000
    t0 = time.perf_counter()
    b = very_long_lag(rng, p, q, n)
    dt = time.perf_counter() - t0
    print(f"2c p={p} q={q} n={n}: {b.n_steps} steps, {dt / b.n_steps * 1e9:.1f} ns/step")
    assert b.n_steps == b.lengths.sum() == b.symbols.size == b.targets.shape[0]
    assert b.n_steps == n * (q + 3) + (b.lengths - q - 3).sum()
    assert n * (q + 3) <= b.n_steps
    _check_2c(b, p, q, n)


# ---------------------------------------------------------------- reproducibility, validation

@pytest.mark.parametrize("make", [lambda r: noise_free(r, 10, 40), lambda r: random_middle(r, 10, 40),
                                  lambda r: very_long_lag(r, 20, 30, 40)])
def test_same_seed_same_batch(make):
    a, b = make(np.random.default_rng(7)), make(np.random.default_rng(7))
    np.testing.assert_array_equal(a.symbols, b.symbols)
    np.testing.assert_array_equal(a.targets, b.targets)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    c = make(np.random.default_rng(8))
    same = (a.offsets.shape == c.offsets.shape and np.array_equal(a.offsets, c.offsets)
            and np.array_equal(a.symbols, c.symbols))
    assert not same


def test_dense_inputs_match_symbols(rng):
    b = very_long_lag(rng, 4, 3, 5)
    x = b.inputs
    assert x.shape == (b.n_steps, 8)
    np.testing.assert_array_equal(x.argmax(axis=1), b.symbols)
    assert np.all(x.sum(axis=1) == 1.0)
    x0, d0 = b[0]
    assert x0.shape[0] == d0.shape[0] == b.lengths[0]


@pytest.mark.parametrize("p", [1, 0, -3, 2.0, True, "5"])
def test_2ab_bad_p(p):
    for f in (noise_free, random_middle):
        with pytest.raises(ValueError, match="p must be"):
            f(np.random.default_rng(0), p, 1)


@pytest.mark.parametrize("p,q", [(0, 5), (-1, 5), (1.5, 5), (5, -1), (5, 2.0), (True, 5), (5, None)])
def test_2c_bad_params(p, q):
    with pytest.raises(ValueError, match="must be an integer"):
        very_long_lag(np.random.default_rng(0), p, q, 1)


@pytest.mark.parametrize("n", [0, -1, 1.0, False])
def test_bad_n(n):
    r = np.random.default_rng(0)
    for call in (lambda: noise_free(r, 5, n), lambda: random_middle(r, 5, n),
                 lambda: very_long_lag(r, 5, 5, n)):
        with pytest.raises(ValueError, match="n must be"):
            call()


@pytest.mark.parametrize("bad", [np.random.RandomState(0), 0, None])
def test_non_generator_rng_refused(bad):
    for call in (lambda: noise_free(bad, 5, 1), lambda: random_middle(bad, 5, 1),
                 lambda: very_long_lag(bad, 5, 5, 1)):
        with pytest.raises(TypeError, match="Generator"):
            call()


def test_numpy_integer_params_accepted(rng):
    b = very_long_lag(rng, np.int64(3), np.int32(4), np.int64(2))
    assert b.n_in == 7 and len(b) == 2
    assert noise_free(rng, np.int64(3), 1).n_in == 4
