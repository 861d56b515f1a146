import numpy as np
import pytest

from lstm1997.tasks.adding import adding


@pytest.mark.parametrize("T", [20, 100, 1000])
def test_adding_defining_properties(T, rng):
    n = 3000 if T < 1000 else 300
    b = adding(rng, T, n)
    assert b.n_in == 2 and b.n_out == 1 and len(b) == n
    L = b.lengths
    assert L.min() >= T and L.max() <= T + T // 10
    if T < 1000:
        assert set(np.unique(L)) == set(range(T, T + T // 10 + 1)), "all lengths T..T+T/10 occur"
    p1s, p2s = [], []
    for i in range(n):
        x, d = b[i]
        v, m = x[:, 0], x[:, 1]
        marked = np.flatnonzero(m == 1.0)
        assert marked.size == 2
        assert set(np.unique(m)) <= {-1.0, 0.0, 1.0}
        assert np.all(m[1:-1][~np.isin(np.arange(1, len(m) - 1), marked)] == 0.0)
        assert m[-1] == -1.0 and (m[0] == -1.0) == (0 not in marked)
        assert np.all(np.abs(v) <= 1.0)
        if 0 in marked:
            assert v[0] == 0.0
        # target only at the end, 0.5 + (X1 + X2)/4
        assert np.isnan(d[:-1]).all()
        assert d[-1, 0] == pytest.approx(0.5 + v[marked].sum() / 4.0, abs=1e-15)
        p1s.append(marked[0]), p2s.append(marked[1])
        # one mark in the first 10, the other within the first T/2 (minimal lag T/2 to the last step
        # is guaranteed by length >= T)
        assert marked[0] < 10 and marked[1] < T // 2
    p_all = np.array([p1s, p2s])
    if T == 100:
        # X2 reaches position T/2 (1-based), i.e. index T/2 - 1, and position 1 can be the second mark
        assert p_all.max() == T // 2 - 1
        assert d.shape[1] == 1
    # values uniform in [-1, 1]
    assert abs(b.inputs[:, 0].mean()) < 0.02 and abs(b.inputs[:, 0].var() - 1 / 3) < 0.02


def test_marks_uniform(rng):
    """For T=100, take sequences whose marks are one in the first 10 and one beyond: the first is then X1,
    uniform over positions 1..10; the second is uniform over 11..50."""
    b = adding(rng, 100, 20000)
    pos = np.flatnonzero(b.inputs[:, 1] == 1.0).reshape(-1, 2) - b.offsets[:-1, None]
    sel = pos[:, 1] >= 10
    c1 = np.bincount(pos[sel, 0], minlength=10)
    c2 = np.bincount(pos[sel, 1] - 10, minlength=40)
    assert c1.size == 10 and c2.size == 40
    assert np.abs(c1 / c1.mean() - 1).max() < 0.1
    assert np.abs(c2 / c2.mean() - 1).max() < 0.25
    # both marks in the first 10: that happens with probability 9/49 per sequence
    assert abs((~sel).mean() - 9 / 49) < 0.01


def test_same_seed_same_data():
    a = adding(np.random.default_rng(3), 100, 50)
    b = adding(np.random.default_rng(3), 100, 50)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    c = adding(np.random.default_rng(4), 100, 50)
    assert not np.array_equal(a.inputs[:100], c.inputs[:100])


@pytest.mark.parametrize("T", [0, 15, 19, 25, 101, 2.5, True])
def test_bad_T_rejected(T):
    with pytest.raises(ValueError, match="multiple of 10"):
        adding(np.random.default_rng(0), T, 1)


def test_global_rng_refused():
    with pytest.raises(TypeError):
        adding(np.random.RandomState(0), 100, 1)


def test_multiplication_defining_properties(rng):
    from lstm1997.tasks.adding import multiplication

    b = multiplication(rng, 100, 3000)
    assert np.all((b.inputs[:, 0] >= 0) & (b.inputs[:, 0] <= 1))
    assert abs(b.inputs[:, 0].mean() - 0.5) < 0.01
    pos = np.flatnonzero(b.inputs[:, 1] == 1.0).reshape(-1, 2)
    assert pos.shape == (3000, 2)
    ends = b.end_indices()
    np.testing.assert_allclose(b.targets[ends, 0], b.inputs[pos[:, 0], 0] * b.inputs[pos[:, 1], 0], rtol=1e-15)
    first = pos[:, 0] == b.offsets[:-1]
    assert first.any() and np.all(b.inputs[pos[first, 0], 0] == 1.0), "a marked position 1 holds 1.0"
    assert np.isnan(np.delete(b.targets[:, 0], ends)).all()
