"""Error-flow analysis (lstm1997.analysis) against independent computations (paper-spec §3, A.2).

* conventional nets: the backpropagated unit error equals central finite differences of a plain NumPy
  forward pass in which one unit's net input (or activation) at one step is perturbed; along a single
  self-loop it equals eq. 2's product computed from the recorded activations; Section 3.1's bound holds;
* memory cells: the carousel error is exactly 1 at every lag; eq. 41's terms equal the formula evaluated
  on ``forward(record=True)``; they agree with ``bptt_gradient`` (truncated and exact graphs) through
  input weights whose input is a single pulse; the exact flow also agrees with finite differences.
float64, small nets, weights larger than the paper's so that recurrent paths matter.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm1997 import Architecture, forward, init
from lstm1997.analysis import (
    F_PRIME_MAX,
    decay_bound,
    error_flow_lstm,
    error_flow_rnn,
    rnn_with_weight_scale,
    self_recurrent_rnn,
)
from lstm1997.learners.bptt import bptt_gradient
from lstm1997.network import squash_g, squash_h
from lstm1997.rnn import RNNArchitecture
from lstm1997.rnn import forward as rnn_forward

EPS = 1e-6


# ---- a plain NumPy forward pass with one perturbation ------------------------------------------

def _net_u_last(net, x, u, t_pert=-1, v=-1, eps=0.0, where="net"):
    """``net_u(T-1)`` of ``net`` on ``x`` with ``eps`` added to unit v's net input (``where="net"``)
    or activation (``where="y"``) at step ``t_pert``. Written from the rnn module's docstring; complex
    arithmetic when ``eps`` is complex (complex-step differentiation)."""
    a = net.arch
    N = a.n_units
    c_prev, c_now = a.cols_prev.start, a.cols_now.start
    dtype = np.result_type(eps, np.float64)
    y_prev = np.zeros(N, dtype=dtype)
    for t in range(x.shape[0]):
        z = np.zeros(a.n_src, dtype=dtype)
        z[: a.n_in] = x[t]
        z[c_prev:c_prev + N] = y_prev
        z[-1] = 1.0
        for i in range(N):
            n_i = net.W[i] @ z
            if t == t_pert and i == v and where == "net":
                n_i += eps
            if t == x.shape[0] - 1 and i == u:
                last = n_i                               # net_u(T-1)
            z[c_now + i] = 1.0 / (1.0 + np.exp(-n_i))
            if t == t_pert and i == v and where == "y":
                z[c_now + i] += eps
        y_prev = z[c_now:c_now + N].copy()
    return last


def _jacobian_row(net, x, u, t, where, method):
    """d net_u(T-1) / d (net or y)_v(t) for every unit v: central differences or the complex step."""
    N = net.arch.n_units
    if method == "central":
        return np.array([(_net_u_last(net, x, u, t, v, EPS, where) - _net_u_last(net, x, u, t, v, -EPS, where))
                         / (2 * EPS) for v in range(N)])
    h = 1e-30
    return np.array([_net_u_last(net, x, u, t, v, 1j * h, where).imag / h for v in range(N)])


@pytest.mark.parametrize("kind,unit", [("full", None), ("full", 1), ("layered", None), ("elman", 4)])
def test_rnn_error_flow_equals_finite_differences(kind, unit, rng):
    arch = RNNArchitecture(2, 2, 3, kind, bias=True)
    net = rnn_with_weight_scale(arch, 1.5, rng)
    x = rng.uniform(-1, 1, size=(9, 2))
    r = error_flow_rnn(net, x, unit)
    T, u = x.shape[0], r["unit"]
    assert u == (arch.hidden if unit is None else unit)
    assert r["theta"].shape == r["dy"].shape == (T, arch.n_units)
    # central differences (float64 rounding limits them to ~1e-10 absolute: lags where the error is
    # still large) and the complex step (exact to rounding: every tested lag, tolerance 1e-10 relative)
    for method, lags, tol in (("central", (0, 1, 2), 1e-6), ("complex", (0, 1, 2, 4, 8), 1e-10)):
        for q in lags:
            t = T - 1 - q
            for key, where in (("theta", "net"), ("dy", "y")):
                fd = _jacobian_row(net, x, u, t, where, method)
                scale = np.abs(fd).max()
                if q == 0 and key == "dy" and kind == "full":   # no same-step connections: nothing
                    assert np.all(fd == 0) and np.all(r["dy"][0] == 0)
                    continue
                assert scale > 1e-9, (kind, q, key)          # a real signal at every tested lag
                np.testing.assert_allclose(r[key][q], fd, rtol=0, atol=tol * scale,
                                           err_msg=f"{kind} {key} q={q} {method}")
    assert r["theta"][0, u] == 1.0
    rec = r["recurrent"]
    np.testing.assert_array_equal(rec, np.arange(arch.n_units if kind == "full" else arch.hidden))
    np.testing.assert_allclose(r["max_abs"], np.abs(r["theta"][:, rec]).max(axis=1))
    np.testing.assert_allclose(r["norm"], np.sqrt((r["theta"][:, rec] ** 2).sum(axis=1)))


@pytest.mark.parametrize("w", [0.5, -1.0, 3.9])
def test_self_loop_decay_is_eq2_product(w, rng):
    """One self-recurrent logistic unit: the error at lag q is prod_{m=1..q} f'(net(T-1-m)) w (eq. 2 with
    one path), computed here from the hidden activations of rnn.forward; with a constant input the state
    settles and the decay becomes exactly exponential, slope log|f'(net*) w| < log(|w|/4) per step."""
    net = self_recurrent_rnn(w, bias=0.3, w_in=0.7)
    T = 120
    x = np.concatenate([rng.uniform(-1, 1, size=(20, 1)), np.full((T - 20, 1), 0.4)])
    r = error_flow_rnn(net, x, unit=0)
    _, h = rnn_forward(net, x, return_hidden=True)
    fp = (h[:, 0] * (1.0 - h[:, 0]))[::-1]               # f'(net(T-1-q)), indexed by lag
    product = np.concatenate([[1.0], np.cumprod(fp[1:] * w)])
    np.testing.assert_allclose(r["theta"][:, 0], product, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(r["self_units"], [0])
    np.testing.assert_allclose(r["self_factor"][:, 0], fp * abs(w), rtol=1e-14)
    q = np.arange(T)
    assert np.all(np.abs(r["theta"][:, 0]) <= (F_PRIME_MAX * abs(w)) ** q * (1 + 1e-12))
    # exponential decay where the state has settled: constant log slope, the fixed point's log|f' w|
    slope = np.diff(np.log(np.abs(r["theta"][:60, 0])))
    np.testing.assert_allclose(slope, np.log(fp[1] * abs(w)), rtol=1e-8)
    assert slope[0] < np.log(abs(w) / 4) < 0


def test_decay_bound_holds_for_small_weights(rng):
    """Section 3.1: with |w_ij| <= w_max < 4/n every error scaling is <= n (n w_max / 4)^q."""
    arch = RNNArchitecture(2, 2, 3, "full", bias=True)
    n = arch.n_units
    w_max = 0.9 * 4.0 / n
    T = 40
    for _ in range(3):
        net = rnn_with_weight_scale(arch, w_max, rng)
        assert np.abs(net.W).max() <= w_max and net.arch.init_range == w_max
        x = rng.uniform(-1, 1, size=(T, 2))
        for u in range(n):
            r = error_flow_rnn(net, x, u)
            assert np.all(r["max_abs"] <= decay_bound(n, w_max, r["lags"]))
    np.testing.assert_allclose(decay_bound(5, 0.4, [0, 1, 3]), 5 * (0.25 * 5 * 0.4) ** np.array([0, 1, 3]))
    with pytest.raises(ValueError):
        decay_bound(0, 0.1, 1)


def test_rnn_error_flow_rejects_bad_arguments(rng):
    net = rnn_with_weight_scale(RNNArchitecture(2, 1, 2, "full"), 1.0, rng)
    with pytest.raises(ValueError):
        error_flow_rnn(net, np.zeros((5, 3)))
    with pytest.raises(ValueError):
        error_flow_rnn(net, np.zeros((5, 2)), unit=3)
    with pytest.raises(ValueError):
        error_flow_rnn(net, np.zeros((0, 2)))


# ---- memory cells -------------------------------------------------------------------------------

ALL = ("in_gate", "out_gate", "cell", "output")


def _eq41(net, x, block):
    """Eq. 41 from forward(record=True): (T, S) cell-input and input-gate terms, indexed by lag."""
    a = net.arch
    r = forward(net, x, record=True)
    cells = np.arange(block * a.cells, (block + 1) * a.cells)
    _, hp = squash_h(a.h, r["s_c"][-1, cells])
    e_s = r["y_out"][-1, block] * hp
    g, gp = squash_g(a.g, r["net_c"][:, cells])
    y_in = r["y_in"][:, block][:, None]
    return e_s, (e_s * gp * y_in)[::-1], (e_s * g * y_in * (1.0 - y_in))[::-1]


def test_carousel_is_exactly_one_and_eq41_matches_forward(rng):
    net = init(Architecture(3, 2, blocks=2, cells=2, bias=ALL, init_range=1.5), rng)
    x = rng.uniform(-1, 1, size=(300, 3))
    for block in (0, 1):
        r = error_flow_lstm(net, x, block)
        assert r["carousel"].shape == (300, 2)
        assert np.all(r["carousel"] == 1.0)               # exactly: ds(t)/ds(t-1) = 1 at every lag
        e_s, ci, ig = _eq41(net, x, block)
        np.testing.assert_allclose(r["e_s"], e_s, rtol=1e-14)
        np.testing.assert_array_equal(r["state"], np.broadcast_to(r["e_s"], r["state"].shape))
        np.testing.assert_allclose(r["cell_input"], ci, rtol=1e-12, atol=0)
        np.testing.assert_allclose(r["in_gate"], ig, rtol=1e-12, atol=0)
        np.testing.assert_allclose(r["in_gate_net"], ig.sum(axis=1), rtol=1e-12, atol=1e-300)
        # the exact graph: recurrent paths carry error too, so the carousel is no longer exactly 1
        assert r["exact_recurrent"][0] == 0.0 and np.all(r["exact_recurrent"][1:5] > 0)
        assert r["exact_carousel"][0].tolist() == [1.0, 1.0]
        assert np.abs(r["exact_carousel"][1:] - 1.0).max() > 1e-3


def _pulse(rng, T, n_in, p):
    """Inputs whose column 0 is zero except for one value at step p; other columns random."""
    x = rng.uniform(-1, 1, size=(T, n_in))
    x[:, 0] = 0.0
    x[p, 0] = 0.8
    return x


def test_truncated_flow_matches_truncated_bptt_gradient(rng):
    """With a target at T-1 only, the truncated gradient of w[c_v, 0] (input 0 nonzero only at step p)
    is back_v * cell_input[T-1-p, v] * x_0(p), back_v = sum_k w[k, c_v] delta_k(T-1); likewise the input
    gate through sum_v back_v in_gate[T-1-p, v]."""
    a = Architecture(3, 2, blocks=2, cells=2, bias=ALL, init_range=1.0)
    net = init(a, rng)
    T, block = 15, 1
    cells = np.arange(block * a.cells, (block + 1) * a.cells)
    for p in (0, 5, 13, 14):
        x = _pulse(rng, T, a.n_in, p)
        d = np.full((T, a.n_out), np.nan)
        d[-1] = rng.uniform(0, 1, size=a.n_out)
        _, dW_h, _ = bptt_gradient(net, x, d, truncated=True)
        y = forward(net, x)[-1]
        back = net.W_k[:, cells].T @ (y * (1 - y) * (y - d[-1]))
        r = error_flow_lstm(net, x, block)
        q = T - 1 - p
        np.testing.assert_allclose(dW_h[a.rows_c.start + cells, 0], back * r["cell_input"][q] * x[p, 0], rtol=1e-10)
        np.testing.assert_allclose(dW_h[a.rows_in.start + block, 0], back @ r["in_gate"][q] * x[p, 0], rtol=1e-10)


def test_exact_flow_matches_exact_bptt_gradient_and_finite_differences(rng):
    """One cell, one output: the loss at T-1 depends on the past only through y_c(T-1), so the exact
    gradient of w[c, 0] (input pulse at p) is back * exact_cell_input[T-1-p] * x_0(p)."""
    a = Architecture(2, 1, blocks=1, cells=1, bias=ALL, init_range=1.5)
    net = init(a, rng)
    T, c, i = 12, a.rows_c.start, a.rows_in.start
    for p in (0, 4, 10):
        x = _pulse(rng, T, a.n_in, p)
        d = np.full((T, 1), np.nan)
        d[-1] = 0.3
        _, dW_h, _ = bptt_gradient(net, x, d, truncated=False)
        y = forward(net, x)[-1]
        back = net.W_k[0, 0] * (y * (1 - y) * (y - d[-1]))[0]
        r = error_flow_lstm(net, x)
        q = T - 1 - p
        np.testing.assert_allclose(dW_h[c, 0], back * r["exact_cell_input"][q, 0] * x[p, 0], rtol=1e-10)
        np.testing.assert_allclose(dW_h[i, 0], back * r["exact_in_gate_net"][q] * x[p, 0], rtol=1e-10)
        # finite differences of y_c(T-1) in the weights w[c, 0], w[in, 0] (only step p sees them)
        for row, key in ((c, "exact_cell_input"), (i, "exact_in_gate_net")):
            fd = []
            for sgn in (1, -1):
                n2 = net.copy()
                n2.W_h[row, 0] += sgn * EPS
                fd.append(forward(n2, x, record=True)["y_c"][-1, 0])
            val = np.ravel(r[key][q])[0]
            np.testing.assert_allclose((fd[0] - fd[1]) / (2 * EPS), val * x[p, 0], rtol=1e-6, atol=1e-10)
        if q >= 2:   # recurrent paths make the exact flow differ from the truncated one
            assert abs(r["exact_cell_input"][q, 0] - r["cell_input"][q, 0]) > 1e-6


def test_lstm_error_flow_rejects_bad_arguments(rng):
    net = init(Architecture(2, 1, blocks=2), rng)
    with pytest.raises(ValueError):
        error_flow_lstm(net, np.zeros((4, 2)), block=2)
    with pytest.raises(ValueError):
        error_flow_lstm(net, np.zeros((4, 3)))
    with pytest.raises(TypeError):
        error_flow_lstm(self_recurrent_rnn(1.0), np.zeros((4, 1)))
