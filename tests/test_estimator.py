"""LSTMRegressor follows scikit-learn's estimator conventions (without depending on scikit-learn) and learns."""

import pickle

import numpy as np
import pytest

import lstm1997
from lstm1997 import LSTMRegressor
from lstm1997.estimator import NotFittedError, TrainingDiverged
from lstm1997.learners import TruncatedRTRL
from lstm1997.network import init
from lstm1997.tasks.adding import adding
from lstm1997.training import default_architecture, train


def clone(est):
    """What sklearn.base.clone does for an estimator without nested estimators."""
    return type(est)(**est.get_params(deep=False))


def as_lists(batch):
    """An adding-problem Batch as (list of (T_i, 2) inputs, (n,) end targets)."""
    xs = [batch[i][0] for i in range(len(batch))]
    return xs, np.array([batch[i][1][-1, 0] for i in range(len(batch))])


def small(rng, n=12, T=(5, 12), n_in=2):
    """n sequences of random lengths with per-sequence targets in [0, 1]."""
    xs = [rng.uniform(-1, 1, (int(rng.integers(*T)), n_in)) for _ in range(n)]
    return xs, rng.uniform(0, 1, n)


def delayed(rng, n):
    """Per-step targets: each step's target is the previous step's input (none at step 0)."""
    xs = [rng.uniform(0, 1, (int(rng.integers(5, 15)), 1)) for _ in range(n)]
    ds = []
    for x in xs:
        d = np.full_like(x, np.nan)
        d[1:] = x[:-1]
        ds.append(d)
    return xs, ds


def fitted_attrs(est):
    return {k for k in vars(est) if k.endswith("_")}


# ---- scikit-learn conventions ----------------------------------------------------------------------

def test_importable_from_the_package():
    assert lstm1997.LSTMRegressor is LSTMRegressor


def test_init_stores_params_unchanged_and_validates_nothing():
    est = LSTMRegressor(blocks=-3, lr="fast", variant="forget-gate", random_state=7)
    assert est.get_params() == {"blocks": -3, "cells": 2, "lr": "fast", "epochs": 10, "per_step": True,
                                "init_range": 0.1, "connectivity": "F", "shuffle": True, "random_state": 7,
                                "verbose": 0, "variant": "forget-gate"}
    assert fitted_attrs(est) == set()
    with pytest.raises(TypeError):
        LSTMRegressor(3)          # keyword-only, as scikit-learn's estimators


def test_clone_gives_an_unfitted_estimator_with_equal_params(rng):
    est = LSTMRegressor(blocks=1, cells=3, lr=0.3, epochs=2, random_state=5)
    est.fit(*small(rng))
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert fitted_attrs(c) == set() and not hasattr(c, "net_")
    assert type(c) is LSTMRegressor


def test_get_set_params_round_trip_and_unknown_refused():
    est = LSTMRegressor()
    assert est.set_params(lr=0.5, epochs=3) is est
    assert est.get_params()["lr"] == 0.5 and est.get_params(deep=True)["epochs"] == 3
    other = LSTMRegressor().set_params(**est.get_params())
    assert other.get_params() == est.get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rate'.*Valid parameters are"):
        est.set_params(learning_rate=0.1)


def test_repr_shows_non_default_params():
    assert repr(LSTMRegressor()) == "LSTMRegressor()"
    assert repr(LSTMRegressor(lr=0.5, random_state=0, blocks=2)) == "LSTMRegressor(lr=0.5, random_state=0)"


def test_not_fitted_error_before_fit(rng):
    X, y = small(rng)
    est = LSTMRegressor()
    for call in (lambda: est.predict(X), lambda: est.score(X, y)):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(est, "net_")       # hasattr works: the error is an AttributeError


def test_fit_returns_self_and_sets_the_fitted_attributes(rng):
    X, y = small(rng, n_in=3)
    est = LSTMRegressor(epochs=3, random_state=0)
    before = set(vars(est))
    assert est.fit(X, y) is est
    new = set(vars(est)) - before
    assert {k for k in new if not k.startswith("_")} == {
        "net_", "n_features_in_", "n_outputs_", "per_step_targets_", "offset_", "scale_", "n_iter_", "loss_curve_"}
    assert isinstance(est.net_, lstm1997.LSTM)
    assert est.net_.arch == default_architecture(3, 1, 2, 2)     # the net `lstm1997 fit` trains
    assert (est.n_features_in_, est.n_outputs_, est.n_iter_, est.per_step_targets_) == (3, 1, 3, False)
    assert len(est.loss_curve_) == 3 and all(np.isfinite(est.loss_curve_))
    assert est.get_params()["epochs"] == 3                       # fit leaves the params alone
    assert LSTMRegressor(random_state=0).partial_fit(X, y).n_iter_ == 1


def test_hyperparameters_are_validated_by_fit(rng):
    X, y = small(rng)
    for bad, match in [(dict(blocks=0), "blocks must be a positive integer"),
                       (dict(cells=1.5), "cells must be a positive integer"),
                       (dict(epochs=True), "epochs must be a positive integer"),
                       (dict(lr=0), "lr must be a finite number > 0"),
                       (dict(lr=float("nan")), "lr must be a finite number"),
                       (dict(init_range=-1), "init_range must be a finite number >= 0"),
                       (dict(connectivity="X"), "connectivity must be 'F' or 'B'"),
                       (dict(per_step="yes"), "per_step must be True or False"),
                       (dict(random_state=-1), "random_state must be None"),
                       (dict(variant="forget-gate"), "variant must be one of '1997', 'forget'")]:
        for method in ("fit", "partial_fit"):
            est = LSTMRegressor(**bad)
            with pytest.raises(ValueError, match=match):
                getattr(est, method)(X, y)
            assert not hasattr(est, "net_")


def test_connectivity_B(rng):
    est = LSTMRegressor(connectivity="B", epochs=1, random_state=0).fit(*small(rng))
    assert est.net_.arch.connectivity == "B"


# ---- determinism, partial_fit, the CLI's pipeline ------------------------------------------------

def test_same_random_state_same_numbers(rng):
    X, y = small(rng)
    state = np.random.get_state()
    a = LSTMRegressor(epochs=3, random_state=3).fit(X, y)
    b = LSTMRegressor(epochs=3, random_state=3).fit(X, y)
    c = LSTMRegressor(epochs=3, random_state=4).fit(X, y)
    assert np.array_equal(a.net_.W_h, b.net_.W_h) and np.array_equal(a.net_.W_k, b.net_.W_k)
    assert np.array_equal(a.predict(X), b.predict(X)) and a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.net_.W_h, c.net_.W_h)
    assert np.array_equal(a.fit(X, y).net_.W_h, b.net_.W_h)      # refitting starts over
    g1 = LSTMRegressor(epochs=2, random_state=np.random.default_rng(9)).fit(X, y)
    g2 = LSTMRegressor(epochs=2, random_state=np.random.default_rng(9)).fit(X, y)
    assert np.array_equal(g1.net_.W_h, g2.net_.W_h)
    assert all(np.array_equal(u, v) for u, v in zip(state, np.random.get_state()))   # global RNG untouched


def test_fit_equals_the_cli_pipeline(rng):
    """`lstm1997 fit --seed s`: init from SeedSequence(s).spawn(2)[0], orders from [1], train()."""
    X, y = small(rng)
    est = LSTMRegressor(lr=0.3, epochs=3, random_state=11).fit(X, y)
    s_init, s_order = np.random.SeedSequence(11).spawn(2)
    net = init(default_architecture(2, 1, 2, 2), np.random.default_rng(s_init))
    batch = lstm1997.Batch.from_sequences(X, [np.r_[np.full((len(x) - 1, 1), np.nan), [[d]]] for x, d in zip(X, y)])
    hist = train(net, batch, TruncatedRTRL(0.3), 3, np.random.default_rng(s_order))
    assert np.array_equal(est.net_.W_h, net.W_h) and np.array_equal(est.net_.W_k, net.W_k)
    assert est.loss_curve_ == [h.mse for h in hist]


def test_partial_fit_twice_equals_fit_of_two_epochs_without_shuffling(rng):
    X, y = small(rng)
    a = LSTMRegressor(lr=0.5, epochs=2, shuffle=False, random_state=1).fit(X, y)
    b = LSTMRegressor(lr=0.5, random_state=1)
    assert b.partial_fit(X, y) is b
    b.partial_fit(X, y)
    assert np.array_equal(a.net_.W_h, b.net_.W_h) and np.array_equal(a.net_.W_k, b.net_.W_k)
    assert a.n_iter_ == b.n_iter_ == 2 and a.loss_curve_ == b.loss_curve_
    # shuffle=True (the default) presents another order in each epoch, so it ends elsewhere
    c = LSTMRegressor(lr=0.5, epochs=2, random_state=1).fit(X, y)
    assert not np.array_equal(a.net_.W_h, c.net_.W_h)
    # partial_fit after fit continues from the fitted net
    n = c.net_.W_h.copy()
    c.partial_fit(X, y)
    assert c.n_iter_ == 3 and len(c.loss_curve_) == 3 and not np.array_equal(c.net_.W_h, n)


def test_partial_fit_must_match_the_first_call(rng):
    X, y = small(rng)
    est = LSTMRegressor(random_state=0).partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features per step, but LSTMRegressor was fitted with 2"):
        est.partial_fit(small(rng, n_in=3)[0], y)
    with pytest.raises(ValueError, match="y has 2 output"):
        est.partial_fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="per-step targets, but LSTMRegressor was fitted with per-sequence"):
        est.partial_fit(X, [np.full((len(x), 1), 0.5) for x in X])
    assert est.n_iter_ == 1


def test_pickle_round_trip(rng):
    X, y = small(rng)
    est = LSTMRegressor(epochs=2, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    assert np.array_equal(back.predict(X), est.predict(X)) and back.get_params() == est.get_params()


# ---- learning ----------------------------------------------------------------------------------------

def test_learns_the_adding_problem_T20(rng):
    X, y = as_lists(adding(rng, 20, 2000))
    X_test, y_test = as_lists(adding(rng, 20, 500))
    est = LSTMRegressor(lr=1.0, epochs=6, random_state=0)
    untrained = est.partial_fit(X[:1], y[:1]).score(X_test, y_test)
    est.fit(X, y)
    score = est.score(X_test, y_test)
    assert score > 0.9 and untrained < 0.4, (score, untrained)     # predicting the mean scores 0
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    p = est.predict(X_test)
    assert p.shape == (500,)
    r2 = 1 - ((y_test - p) ** 2).sum() / ((y_test - y_test.mean()) ** 2).sum()
    assert score == pytest.approx(r2, rel=1e-12)
    assert LSTMRegressor(lr=1.0, epochs=1, random_state=0).fit(X, y[:, None]).predict(X_test[:4]).shape == (4, 1)


def test_3d_arrays(rng):
    X = rng.uniform(-1, 1, (10, 6, 2))
    y = rng.uniform(0, 1, (10, 2))
    a = LSTMRegressor(epochs=2, random_state=0).fit(X, y)
    b = LSTMRegressor(epochs=2, random_state=0).fit(list(X), list(y))
    assert np.array_equal(a.net_.W_h, b.net_.W_h)
    assert a.predict(X).shape == (10, 2) and a.n_outputs_ == 2


def test_per_step_targets(rng):
    X, Y = delayed(rng, 500)
    X_test, Y_test = delayed(rng, 100)
    est = LSTMRegressor(lr=0.5, epochs=20, random_state=0).fit(X, Y)
    assert est.per_step_targets_ and est.n_outputs_ == 1
    p = est.predict(X_test)
    assert isinstance(p, list) and [q.shape for q in p] == [x.shape for x in X_test]
    assert est.score(X_test, Y_test) > 0.7
    d, q = np.concatenate(Y_test), np.concatenate(p)
    m = ~np.isnan(d)
    assert est.score(X_test, Y_test) == pytest.approx(1 - ((d - q)[m] ** 2).sum() / ((d[m] - d[m].mean()) ** 2).sum())
    with pytest.raises(ValueError, match="y holds per-sequence targets, but LSTMRegressor was fitted with per-step"):
        est.score(X_test, np.zeros(100))
    # one array (n, T, K) of per-step targets
    X3, Y3 = rng.uniform(0, 1, (8, 5, 1)), np.full((8, 5, 1), np.nan)
    Y3[:, 1:] = X3[:, :-1]
    est3 = LSTMRegressor(epochs=1, random_state=0).fit(X3, Y3)
    assert est3.per_step_targets_ and len(est3.predict(X3)) == 8


# ---- targets outside [0, 1] are rescaled -----------------------------------------------------------

def test_targets_in_unit_interval_are_used_as_given(rng):
    X, y = small(rng)
    est = LSTMRegressor(epochs=1, random_state=0).fit(X, y)
    assert np.array_equal(est.offset_, [0.0]) and np.array_equal(est.scale_, [1.0])


def test_targets_outside_unit_interval_are_rescaled_and_mapped_back(rng):
    X, y01 = small(rng, n=30)
    y = np.c_[100 * y01 - 50, y01]              # output 0 outside [0, 1], output 1 inside
    est = LSTMRegressor(epochs=3, random_state=0).fit(X, y)
    assert np.allclose(est.offset_, [y[:, 0].min(), 0.0]) and np.allclose(est.scale_, [np.ptp(y[:, 0]), 1.0])
    # the net is the one trained on the min-max rescaled targets; predictions are mapped back
    unit = (y - est.offset_) / est.scale_
    ref = LSTMRegressor(epochs=3, random_state=0).fit(X, unit)
    assert np.array_equal(ref.offset_, [0.0, 0.0]) and np.array_equal(ref.net_.W_h, est.net_.W_h)
    assert np.allclose(est.predict(X), est.offset_ + est.scale_ * ref.predict(X))
    p = est.predict(X)[:, 0]
    assert (p > y[:, 0].min()).all() and (p < y[:, 0].max()).all()   # inside the training range
    # a constant target outside [0, 1] is trained as 0.5
    const = LSTMRegressor(epochs=1, random_state=0).fit(X, np.full(30, 7.0))
    assert const.offset_[0] == 6.5 and const.scale_[0] == 1.0
    # partial_fit keeps the first call's scaling and refuses targets beyond it
    pf = LSTMRegressor(random_state=0).partial_fit(X, y[:, 0])
    pf.partial_fit(X[:5], y[:5, 0])
    with pytest.raises(ValueError, match=r"targets of output 0 lie outside \[-?[\d.]+, [\d.]+\].*first partial_fit"):
        pf.partial_fit(X[:5], y[:5, 0] + 200)
    with pytest.raises(ValueError, match=r"targets of output 0 lie outside \[0, 1\]"):
        LSTMRegressor(random_state=0).partial_fit(X, y01).partial_fit(X, y01 + 1)
    assert pf.n_iter_ == 2


# ---- bad input and divergence ---------------------------------------------------------------------

def test_bad_input_is_refused_clearly(rng):
    X, y = small(rng)
    cases = [
        ([x.copy() for x in X[:2]] + [np.where(np.arange(len(X[2]))[:, None] == 3, np.nan, X[2])] + X[3:], y,
         r"X contains nan \(sequence 2, step 3, feature 0\)"),
        (X[:-1] + [np.full_like(X[-1], np.inf)], y, r"X contains inf \(sequence 11, step 0"),
        (np.zeros((12, 5)), y, r"X must be a list of \(T_i, n_features\) arrays.*shape \(12, 5\)"),
        ("abc", y, "X must be a list"),
        (X[:-1] + [np.zeros(5)], y, r"sequence 11 of X has shape \(5,\); each must be 2-D"),
        (X[:-1] + [np.zeros((5, 3))], y, r"different numbers of features: \[2, 3\]"),
        ([], y, "X holds no sequences"),
        (X, y[:-1], "X holds 12 sequences but y holds 11 targets"),
        (X, np.full(12, np.nan), "every target in y is NaN"),
        (X, np.r_[y[:-1], np.inf], r"y contains inf \(sequence 11"),
        (X, np.zeros((12, 1, 1, 1)), "y must have shape"),
        (X, [np.full((len(x) + (i == 4), 1), 0.5) for i, x in enumerate(X)],
         r"sequence 4 has \d+ steps in X but \d+ rows of per-step targets"),
        (X, [np.full((len(x), 1 + (i == 1)), 0.5) for i, x in enumerate(X)], "same number of columns"),
        (X[:-1] + [np.zeros((0, 2))], y, "sequence 11 of X is empty"),
        (X, [np.full((len(x), 1), np.nan) for x in X], "every target in y is NaN"),
    ]
    for bad_X, bad_y, match in cases:
        est = LSTMRegressor(epochs=1)
        with pytest.raises(ValueError, match=match):
            est.fit(bad_X, bad_y)
        assert not hasattr(est, "net_")
    est = LSTMRegressor(epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 1 features per step, but LSTMRegressor was fitted with 2"):
        est.predict([x[:, :1] for x in X])
    with pytest.raises(ValueError, match=r"X contains nan"):
        est.predict([np.full((3, 2), np.nan)])
    with pytest.raises(ValueError, match="sequence 0 of X is empty"):
        est.predict([np.zeros((0, 2))])


def test_divergence_names_the_epoch_and_suggests_a_smaller_lr(rng):
    # per_step=False sums 20 per-step updates of the output bias, each about lr/8: beyond float64 at lr 1e308
    X = [rng.uniform(-1, 1, (20, 1)) for _ in range(5)]
    Y = [np.ones((20, 1)) for _ in range(5)]
    est = LSTMRegressor(lr=1.7e308, per_step=False, epochs=2, random_state=0)
    with pytest.raises(TrainingDiverged, match=r"in epoch 1 .*try a smaller learning rate"):
        est.fit(X, Y)
    assert fitted_attrs(est) == set()                         # fit leaves it unfitted
    est = LSTMRegressor(lr=0.1, per_step=False, random_state=0).partial_fit(X, Y)
    W_h, W_k = est.net_.W_h.copy(), est.net_.W_k.copy()
    with pytest.raises(TrainingDiverged, match=r"in epoch 2 .*try a smaller learning rate"):
        est.set_params(lr=1.7e308).partial_fit(X, Y)
    assert np.array_equal(est.net_.W_h, W_h) and np.array_equal(est.net_.W_k, W_k)   # as before the call
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1


def test_verbose_reports_each_epoch_on_stderr(rng, capsys):
    X, y = small(rng)
    LSTMRegressor(epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""
    est = LSTMRegressor(epochs=2, verbose=1, random_state=0).fit(X, y)
    est.partial_fit(X, y)
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert out.out == "" and len(lines) == 3
    assert lines[0].startswith("epoch 1/2: training MSE ") and lines[0].endswith(" s)")
    assert lines[1].startswith("epoch 2/2: ") and lines[2].startswith("epoch 3: ")
    assert f"{est.loss_curve_[1]:.4e}" in lines[1]


@pytest.mark.parametrize("variant", ["forget", "peepholes", "forget+peepholes"])
def test_a_cell_variant_is_the_net_it_names_and_partial_fit_keeps_it(rng, variant):
    X, y = small(rng)
    est = LSTMRegressor(variant=variant, epochs=2, random_state=0, shuffle=False).fit(X, y)
    a = est.net_.arch
    assert (a.forget_gate, a.peepholes) == {"forget": (True, False), "peepholes": (False, True),
                                            "forget+peepholes": (True, True)}[variant]
    assert est.predict(X).shape == np.asarray(y).shape and np.isfinite(est.predict(X)).all()
    one = LSTMRegressor(variant=variant, epochs=1, random_state=0, shuffle=False)
    one.partial_fit(X, y).partial_fit(X, y)
    for k, v in est.net_.arrays().items():
        np.testing.assert_array_equal(v, one.net_.arrays()[k], err_msg=k)
    base = LSTMRegressor(epochs=2, random_state=0, shuffle=False).fit(X, y)
    assert not np.array_equal(base.predict(X), est.predict(X))
