import numpy as np

from lstm1997.experiments.criteria import ST3


def _slow_first_hit(errs, beta, tol, window):
    for i in range(window - 1, len(errs)):
        w = errs[i - window + 1:i + 1]
        if np.all(w < tol) and w.mean() < beta:
            return i
    return None


def test_st3_matches_direct_definition_across_chunks(rng):
    for trial in range(20):
        n = 3000
        errs = np.where(rng.random(n) < 0.002 * (trial % 3), 0.05, rng.uniform(0, 0.018, n))
        errs[: rng.integers(0, 1500)] = 0.5
        expect = _slow_first_hit(errs, 0.01, 0.04, 200)
        crit = ST3(beta=0.01, tol=0.04, window=200)
        got, done = None, 0
        for chunk in np.array_split(errs, rng.integers(1, 40)):
            h = crit.push(chunk[:, None])
            if h is not None:
                got = done + h
                break
            done += len(chunk)
        assert got == expect
        if got is not None:
            assert crit.seen == 200
            np.testing.assert_allclose(crit.window_stats()["mae"], errs[got - 199:got + 1].mean())


def test_st3_needs_a_full_window():
    crit = ST3(beta=0.01, tol=0.04, window=2000)
    assert crit.push(np.zeros((1999, 1))) is None
    assert crit.push(np.zeros((5, 1))) == 0


def test_st3_wrong_means_any_output_at_or_above_tol():
    crit = ST3(beta=1.0, tol=0.3, window=3)
    assert crit.push(np.array([[0.1, 0.3], [0.0, 0.0], [0.0, 0.0]])) is None   # 0.3 is not < 0.3
    assert crit.push(np.array([[0.29, 0.0]])) == 0
