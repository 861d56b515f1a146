"""Issue 19, item 5, the literal cases: one input validation of the estimator and of the PyTorch module,
with messages in the user's terms."""

import numpy as np
import pytest

from lstm1997.estimator import LSTMRegressor

RNG = np.random.default_rng(0)
X = [RNG.uniform(-1, 1, (5, 2)) for _ in range(6)]
Y = RNG.uniform(0, 1, 6)


def test_complex_data_is_refused_not_cast():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no ComplexWarning: refused before any cast
        with pytest.raises(ValueError, match="complex"):
            LSTMRegressor(epochs=1).fit([x + 1j for x in X], Y)
        with pytest.raises(ValueError, match="complex"):
            LSTMRegressor(epochs=1).fit(X, Y + 0j)


def test_a_target_range_that_cannot_be_scaled_is_refused():
    with pytest.raises(ValueError, match="too wide a range"):
        LSTMRegressor(epochs=1).fit(X, np.array([-1e308, 1e308, 0, 1, 2, 3.0]))


def test_partial_fit_after_a_structural_change_is_refused_and_a_new_fit_is_fine():
    e = LSTMRegressor(epochs=1, random_state=0).fit(X, Y)
    e.set_params(variant="forget")
    with pytest.raises(ValueError, match="variant \\(was '1997', now 'forget'\\) changed"):
        e.partial_fit(X, Y)
    e.fit(X, Y)
    assert e.net_.arch.forget_gate
    e.partial_fit(X, Y)


def test_init_range_too_large_is_a_value_error_not_an_overflow():
    with pytest.raises(ValueError, match="init_range must be at most"):
        LSTMRegressor(epochs=1, init_range=1e308).fit(X, Y)


def test_an_estimator_too_big_for_memory_is_refused_before_allocating():
    with pytest.raises(ValueError, match="of memory"):
        LSTMRegressor(epochs=1, blocks=10 ** 6).fit(X, Y)


torch = pytest.importorskip("torch")


def test_torch_module_checks_its_edges():
    from lstm1997.torch import LSTM1997

    m = LSTM1997.paper("adding", generator=0)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 2\)"):
        m(torch.zeros(5))
    with pytest.raises(ValueError, match=r"x_t must have shape \(batch, 2\)"):
        m.step(torch.zeros(2))
    with pytest.raises(ValueError, match="state's y_hidden must have shape"):
        m.step(torch.zeros(1, 2), (torch.zeros(3, 3), torch.zeros(1, 4)))
    sd = m.state_dict()
    sd["W_h"] = sd["W_h"].clone()
    sd["W_h"][0, 0] = float("nan")
    m.load_state_dict(sd)
    with pytest.raises(ValueError, match="W_h holds nan"):
        m(torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="blocks must be a positive integer, got 0"):
        LSTM1997.paper("adding", blocks=0)
    with pytest.raises(ValueError, match="of memory"):
        LSTM1997.paper("2c", p=10 ** 9, q=10)
