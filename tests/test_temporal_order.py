"""Defining properties of the Exp. 6 generator (temporal order, tasks 6a/6b; spec §5.6)."""

import numpy as np
import pytest

from lstm1997.tasks.temporal_order import RELEVANT_POSITIONS, SYMBOLS, temporal_order

E, B, X, Y = (SYMBOLS.index(s) for s in "EBXY")
ABCD = [SYMBOLS.index(s) for s in "abcd"]
CASES = {"6a": (((10, 20), (50, 60)), 40), "6b": (((10, 20), (33, 43), (66, 76)), 24)}


def test_symbols():
    assert SYMBOLS == ("E", "B", "a", "b", "c", "d", "X", "Y")


@pytest.mark.parametrize("variant", ["6a", "6b"])
def test_defining_properties(variant, rng):
    ranges, min_lag = CASES[variant]
    assert RELEVANT_POSITIONS[variant] == ranges
    k, K = len(ranges), 2 ** len(ranges)
    n = 6000
    b = temporal_order(rng, n, variant)
    assert b.symbols is not None and b.n_in == 8 and b.n_out == K and len(b) == n
    L = b.lengths
    assert L.min() >= 100 and L.max() <= 110
    assert set(np.unique(L)) == set(range(100, 111)), "every length 100..110 occurs"
    c = np.bincount(L - 100, minlength=11)
    assert np.abs(c / c.mean() - 1).max() < 0.25

    s = b.symbols
    starts, ends = b.offsets[:-1], b.end_indices()
    assert np.all(s[starts] == E) and np.all(s[ends] == B)
    inner = np.ones(b.n_steps, bool)
    inner[starts] = inner[ends] = False
    assert not np.isin(s[inner], [E, B]).any(), "E and B only at the first and last position"

    # exactly k X/Y symbols per sequence, in position order inside the stated ranges (1-based)
    seq = np.repeat(np.arange(n), L)
    rel = np.flatnonzero(np.isin(s, [X, Y]))
    assert np.array_equal(np.bincount(seq[rel], minlength=n), np.full(n, k))
    pos1 = (rel - starts[seq[rel]] + 1).reshape(n, k)          # 1-based positions, sorted per sequence
    xy = (s[rel] == Y).astype(int).reshape(n, k)              # X = 0, Y = 1
    for j, (lo, hi) in enumerate(ranges):
        p = pos1[:, j]
        assert p.min() >= lo and p.max() <= hi
        cnt = np.bincount(p - lo, minlength=hi - lo + 1)
        assert cnt.size == hi - lo + 1 and cnt.min() > 0, "every position in range occurs"
        assert np.abs(cnt / cnt.mean() - 1).max() < 0.25
        assert abs(xy[:, j].mean() - 0.5) < 0.035, "X and Y each with probability 0.5"
    # minimal lag from the last relevant position to the end (Table 10), and it is attained
    lag = L - pos1[:, -1]
    assert lag.min() == min_lag

    # other symbols uniform over a-d
    other = inner.copy()
    other[rel] = False
    assert np.isin(s[other], ABCD).all()
    f = np.bincount(s[other], minlength=8)[ABCD] / other.sum()
    assert np.abs(f - 0.25).max() < 0.005

    # targets: NaN except the last step; one-hot class from the X/Y order (first most significant)
    d = b.targets
    last = np.zeros(b.n_steps, bool)
    last[ends] = True
    assert np.isnan(d[~last]).all()
    dl = d[ends]
    assert set(np.unique(dl)) <= {0.0, 1.0} and np.all(dl.sum(axis=1) == 1.0)
    cls = dl.argmax(axis=1)
    expected = (xy * (2 ** np.arange(k - 1, -1, -1))).sum(axis=1)
    np.testing.assert_array_equal(cls, expected)
    freq = np.bincount(cls, minlength=K) / n
    assert freq.size == K and np.abs(freq - 1 / K).max() < 0.03, "classes uniform"


def test_class_codes_6a():
    """(X,X)->0 (Q), (X,Y)->1 (R), (Y,X)->2 (S), (Y,Y)->3 (U)."""
    b = temporal_order(np.random.default_rng(1), 400, "6a")
    table = {(X, X): 0, (X, Y): 1, (Y, X): 2, (Y, Y): 3}
    seen = set()
    for i in range(len(b)):
        lo, hi = b.offsets[i], b.offsets[i + 1]
        sym = b.symbols[lo:hi]
        pair = tuple(sym[np.isin(sym, [X, Y])])
        assert b.targets[hi - 1].argmax() == table[pair]
        seen.add(pair)
    assert seen == set(table)


def test_class_codes_6b():
    b = temporal_order(np.random.default_rng(2), 800, "6b")
    names = ["XXX", "XXY", "XYX", "XYY", "YXX", "YXY", "YYX", "YYY"]
    seen = set()
    for i in range(len(b)):
        lo, hi = b.offsets[i], b.offsets[i + 1]
        sym = b.symbols[lo:hi]
        word = "".join(SYMBOLS[v] for v in sym[np.isin(sym, [X, Y])])
        assert b.targets[hi - 1].argmax() == names.index(word)
        seen.add(word)
    assert seen == set(names)


def test_dense_inputs_one_hot(rng):
    b = temporal_order(rng, 20, "6a")
    x = b.inputs
    assert x.shape == (b.n_steps, 8) and np.all(x.sum(axis=1) == 1.0)
    np.testing.assert_array_equal(x.argmax(axis=1), b.symbols)


def test_default_variant_is_6a(rng):
    assert temporal_order(rng, 5).n_out == 4


@pytest.mark.parametrize("variant", ["6a", "6b"])
def test_same_seed_same_data(variant):
    a = temporal_order(np.random.default_rng(5), 100, variant)
    b = temporal_order(np.random.default_rng(5), 100, variant)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.symbols, b.symbols)
    np.testing.assert_array_equal(a.targets, b.targets)
    c = temporal_order(np.random.default_rng(6), 100, variant)
    m = min(a.n_steps, c.n_steps)
    assert not np.array_equal(a.symbols[:m], c.symbols[:m])


@pytest.mark.parametrize("variant", ["6c", "6A", "", 6, None])
def test_bad_variant_rejected(variant):
    with pytest.raises(ValueError, match="variant"):
        temporal_order(np.random.default_rng(0), 10, variant)


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_bad_n_rejected(n):
    with pytest.raises(ValueError, match="n must"):
        temporal_order(np.random.default_rng(0), n, "6a")


@pytest.mark.parametrize("bad", [np.random.RandomState(0), None, 0])
def test_non_generator_rng_refused(bad):
    with pytest.raises(TypeError):
        temporal_order(bad, 10, "6a")
