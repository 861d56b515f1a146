r"""Error flow measured on real networks and sequences: the analysis of paper Section 3 and A.2
(paper-spec §3), as NumPy arrays for the write-up's figures. Plain NumPy, float64, no plotting.

Conventional recurrent nets (Section 3.1, eqs. 1-2)
----------------------------------------------------
For the logistic nets of :mod:`lstm1997.rnn`, ``theta_v(t) = dL/dnet_v(t)`` is the error at the net
input of unit ``v``. Backpropagation through time (eq. 1) runs::

    theta_j(t) = f'_j(net_j(t)) sum_i w_ij theta_i(t+1)          (recurrent connections, t -> t+1)

(plus the same-step connections of the ``"layered"``/``"elman"`` kinds, to earlier units of step t).
Injecting a unit error ``theta_u(T-1) = 1`` at one unit and running this recursion gives, at lag q,
``theta_v(T-1-q) = d net_u(T-1) / d net_v(T-1-q)``: the scaling factor of eq. 2, which for q > 1 is a
sum of ``n^(q-1)`` products ``prod_m f'_{l_m}(net_{l_m}(t-m)) w_{l_m l_{m-1}}``. Along the self-loop of
one unit it is the single product ``prod_{m=1..q} f'(net(T-1-m)) w``: it vanishes exponentially when
``|f' w| < 1`` (always the case for ``|w| < 4``: the logistic's ``f'max = 0.25``) and explodes when
``|f' w| > 1``. Section 3.1's bound (:func:`decay_bound`)::

    |theta_v(t-q) / theta_u(t)| <= n (f'max ||W||_A)^q <= n (n w_max / 4)^q       for |w_ij| <= w_max

Memory cells (Section 3.2, A.2 eqs. 30-41)
------------------------------------------
The CEC is the one self-connection with ``f' w = 1`` (identity, weight 1.0): ``s(t) = s(t-1) +
y_in(t) g(net_c(t))``. Under the paper's truncation (spec §2.1: every recurrent input ``y_hidden(t-1)``
of gates and cells is a stop-gradient) ``ds(t)/ds(t-1) = 1`` exactly, so an error entering the cell
output ``y_c(T-1)`` is scaled once by ``y_out(T-1) h'(s(T-1))``, circulates unchanged, and leaves at
lag q through the cell input or the input gate scaled as in eq. 41::

    dy_c(T-1)/dnet_c(T-1-q)  = y_out(T-1) h'(s(T-1)) g'(net_c(T-1-q)) y_in(T-1-q)
    dy_c(T-1)/dnet_in(T-1-q) = y_out(T-1) h'(s(T-1)) g(net_c(T-1-q)) f'_in(net_in(T-1-q))

which does not decay with q. :func:`error_flow_lstm` computes these by a backward pass over the
truncated graph, and the same quantities over the exact (untruncated) graph for comparison.

Symbols: ``T`` sequence length, ``q`` lag (``0..T-1``; lag q is time step ``T-1-q``), ``N`` units of a
conventional net, ``C`` blocks, ``S`` cells per block; ``y_in, y_out, net_c, s_c, y_c`` as in
:mod:`lstm1997.network`. Every per-lag array is indexed by q along its first axis.

"Inside a trained network" (per-step ``s_c, y_in, y_out, y_c, y_k, net_c``) needs no wrapper here:
:func:`lstm1997.network.forward` with ``record=True`` returns exactly those arrays, each ``(T, width)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .network import LSTM, squash_g, squash_h
from .network import step as lstm_step
from .rnn import RNN, RNNArchitecture, _check_x, init_rnn
from .rnn import step as rnn_step

__all__ = [
    "F_PRIME_MAX",
    "decay_bound",
    "error_flow_lstm",
    "error_flow_rnn",
    "rnn_with_weight_scale",
    "self_recurrent_rnn",
]

#: Maximum of the logistic sigmoid's derivative, f'(0) = 1/4 (Section 3.1).
F_PRIME_MAX = 0.25


# ---- conventional recurrent nets (Section 3.1) -----------------------------------------------

def _rnn_record(net: RNN, x: np.ndarray) -> np.ndarray:
    """Activations ``y(t)`` of all units, ``(T, N)``, by the NumPy step of :mod:`lstm1997.rnn`."""
    ys = np.zeros((x.shape[0], net.arch.n_units))
    y_prev = np.zeros(net.arch.n_units)
    with np.errstate(over="ignore"):
        for t in range(x.shape[0]):
            y_prev = ys[t] = rnn_step(net, x[t], y_prev).y
    return ys


def error_flow_rnn(net: RNN, x: np.ndarray, unit: int | None = None) -> dict:
    """Backpropagate a unit error injected at ``net_u(T-1)`` through ``net`` run on ``x`` (exact BPTT,
    eqs. 1-2 of Section 3.1) and report what arrives at every unit, lag by lag.

    Parameters
    ----------
    net : a conventional recurrent net (not modified).
    x : inputs ``(T, n_in)``, ``T >= 1``; the net starts from the reset state (spec §1.4).
    unit : index ``u`` (in ``[hidden..., outputs...]`` order) of the unit whose net input receives the
        unit error ``theta_u(T-1) = 1``. Default: the first output unit.

    Returns
    -------
    dict with, for lags ``q = 0..T-1`` (time step ``T-1-q``):

    ``lags`` : ``(T,)`` int, ``q``.
    ``unit`` : ``u``.
    ``theta`` : ``(T, N)``, ``theta[q, v] = d net_u(T-1) / d net_v(T-1-q)``, the error at the net input
        of unit v (eq. 2's ``d theta_v(T-1-q) / d theta_u(T-1)``); ``theta[0, u] = 1``.
    ``dy`` : ``(T, N)``, ``dy[q, v] = d net_u(T-1) / d y_v(T-1-q)``, the same error before the
        ``f'_v`` factor, i.e. arriving at unit v's activation (``theta = f'(net) * dy``).
    ``recurrent`` : int array, the units whose previous activation some unit reads (the recurrent
        units: every unit for kind ``"full"``, the hidden units otherwise).
    ``max_abs``, ``norm`` : ``(T,)``, ``max_v |theta[q, v]|`` and ``||theta[q, recurrent]||_2`` over the
        recurrent units.
    ``self_units`` : int array, the units with a (present) self-recurrent connection ``w_vv``.
    ``self_factor`` : ``(T, len(self_units))``, ``|f'_v(net_v(T-1-q)) w_vv|``: the factor by which the
        error on v's self-loop is multiplied when it goes from step ``T-q`` back to step ``T-1-q``
        (meaningful for ``q >= 1``). Along the self-loop alone, the error at lag q is the product of
        ``self_factor[1..q]`` (eq. 2 with a single path).
    """
    if not isinstance(net, RNN):
        raise TypeError(f"expected a lstm1997.rnn.RNN, got {type(net).__name__}")
    x = _check_x(net, x)
    a = net.arch
    N, T = a.n_units, x.shape[0]
    if T < 1:
        raise ValueError("x must have at least one time step")
    u = a.hidden if unit is None else unit
    if not isinstance(u, (int, np.integer)) or isinstance(u, bool) or not 0 <= u < N:
        raise ValueError(f"unit must be an integer in [0, {N}), got {unit!r}")
    u = int(u)

    ys = _rnn_record(net, x)
    fp = ys * (1.0 - ys)                               # f'(net) = y (1 - y) for the logistic
    W_prev = net.W[:, a.cols_prev]                     # w[i, j]: y_j(t-1) -> unit i at step t
    W_now = net.W[:, a.cols_now]                       # w[i, j]: y_j(t)   -> unit i (j < i)

    theta = np.zeros((T, N))
    dy = np.zeros((T, N))
    dy_rec = np.zeros(N)                               # sum_i w_ij theta_i(t+1), from step t+1
    for q in range(T):
        t = T - 1 - q
        d = dy_rec.copy()                              # dL/dy(t), same-step terms added below
        th = np.zeros(N)
        for i in range(N - 1, -1, -1):                 # units in reverse order within the step
            th[i] = fp[t, i] * d[i] + (1.0 if (q == 0 and i == u) else 0.0)
            d += th[i] * W_now[i]                      # W_now[i, j] = 0 for j >= i
        theta[q], dy[q] = th, d
        dy_rec = W_prev.T @ th                         # eq. 1: to step t-1

    rec = np.nonzero(net.mask[:, a.cols_prev].any(axis=0))[0]
    selfs = np.array([v for v in range(N) if net.mask[v, a.cols_prev.start + v]], dtype=np.int64)
    w_self = net.W[selfs, a.cols_prev.start + selfs]
    self_factor = np.abs(fp[::-1][:, selfs] * w_self)
    th_rec = theta[:, rec]
    return {
        "lags": np.arange(T),
        "unit": u,
        "theta": theta,
        "dy": dy,
        "recurrent": rec,
        "max_abs": np.abs(th_rec).max(axis=1) if rec.size else np.zeros(T),
        "norm": np.linalg.norm(th_rec, axis=1),
        "self_units": selfs,
        "self_factor": self_factor,
    }


def decay_bound(n: int, w_max: float, q, f_prime_max: float = F_PRIME_MAX) -> np.ndarray:
    """Section 3.1's bound on the error scaling over ``q`` steps in a net of ``n`` units whose
    weights satisfy ``|w_ij| <= w_max``::

        |d theta_v(t-q) / d theta_u(t)| <= n (f'max ||W||_A)^q <= n (f'max n w_max)^q = n tau^q

    with ``tau = n w_max f'max`` (``= n w_max / 4`` for the logistic). It decays exponentially when
    ``w_max < 4/n``. ``q`` may be a scalar or an array; returns an array of the same shape."""
    if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (np.isfinite(w_max) and w_max >= 0):
        raise ValueError(f"w_max must be finite and >= 0, got {w_max!r}")
    q = np.asarray(q, dtype=np.float64)
    if np.any(q < 0):
        raise ValueError("q must be >= 0")
    return n * (f_prime_max * n * float(w_max)) ** q


def rnn_with_weight_scale(arch: RNNArchitecture, scale: float, rng: np.random.Generator) -> RNN:
    """A net of architecture ``arch`` whose every existing weight is uniform in ``[-scale, scale]``
    (the returned net's ``arch.init_range`` is ``scale``). E.g. ``scale < 4/N`` puts a ``"full"`` net
    under Section 3.1's decay bound; larger scales show that large weights do not help either."""
    return init_rnn(dataclasses.replace(arch, init_range=float(scale)), rng)


def self_recurrent_rnn(w_self: float, bias: float | None = None, w_in: float = 1.0) -> RNN:
    """The smallest net of Section 3.1's single-unit case: one logistic hidden unit with self-weight
    ``w_self`` and input weight ``w_in`` from one input (and bias ``bias``, if given), read by one
    logistic output unit with weight 1 (kind ``"layered"``; the output's input weight and bias are
    0). Inject at ``unit=0`` in :func:`error_flow_rnn` to follow the error along the self-loop.

    With bias ``-w_self/2`` the unit rests at ``net = 0`` (``y = 1/2``, ``f' = f'max``) when its input
    is 0; this fixed point is stable only for ``|w_self| < 4``, i.e. only while ``|f' w| < 1``."""
    arch = RNNArchitecture(1, 1, 1, "layered", bias=bias is not None, init_range=0.0)
    W = np.zeros((arch.n_units, arch.n_src))
    W[0, arch.cols_in] = w_in
    W[0, arch.cols_prev.start] = w_self
    W[1, arch.cols_now.start] = 1.0
    if bias is not None:
        W[0, arch.col_bias] = bias
    return RNN(arch, W)


# ---- memory cells (Section 3.2, A.2) ---------------------------------------------------------

def _lstm_backward(net: LSTM, rec: list, seed_yc: np.ndarray, seed_s: np.ndarray, truncated: bool):
    """Backward pass of ``L = seed_yc . y_c(T-1) + seed_s . s(T-1)`` through the hidden layer (the
    recursion of :mod:`lstm1997.learners.bptt` without output units). Returns, per time step t,
    ``ds`` ``(T, C*S)`` = dL/ds(t), ``dnet`` ``(T, n_hidden)`` = dL/dnet(t), and ``dy_rec``
    ``(T, n_hidden)`` = dL/dy_hidden(t) arriving from step t+1 (always 0 when ``truncated``)."""
    a = net.arch
    C, S, nh, n_in = a.blocks, a.cells, a.n_hidden, a.n_in
    T = len(rec)
    out_ds = np.zeros((T, a.n_cells))
    out_dnet = np.zeros((T, nh))
    out_dyrec = np.zeros((T, nh))
    ds = np.zeros(a.n_cells)
    dy_rec = np.zeros(nh)
    for t in range(T - 1, -1, -1):
        o = rec[t]
        out_dyrec[t] = dy_rec
        dy_c = dy_rec[a.rows_c] + (seed_yc if t == T - 1 else 0.0)
        if t == T - 1:
            ds = ds + seed_s
        dy_in = dy_rec[a.rows_in].copy()
        dy_out = dy_rec[a.rows_out].copy()
        # y_c = y_out h(s)
        _, hp = squash_h(a.h, o.s_c)
        if a.output_gates:
            dy_out += (o.h_c * dy_c).reshape(C, S).sum(axis=1)
        ds = ds + np.repeat(o.y_out, S) * hp * dy_c
        out_ds[t] = ds
        # s(t) = s(t-1) + y_in g(net_c);  ds(t-1) = ds(t) (the CEC, self-weight 1.0)
        _, gp = squash_g(a.g, o.net_c)
        dy_in += (o.g_c * ds).reshape(C, S).sum(axis=1)
        dnet = np.zeros(nh)
        dnet[a.rows_c] = np.repeat(o.y_in, S) * gp * ds
        dnet[a.rows_in] = o.y_in * (1.0 - o.y_in) * dy_in
        if a.output_gates:
            dnet[a.rows_out] = o.y_out * (1.0 - o.y_out) * dy_out
        dnet[a.rows_hidden] = o.y_hid * (1.0 - o.y_hid) * dy_rec[a.rows_hidden]
        out_dnet[t] = dnet
        # net = W_h [x(t), y_hidden(t-1), 1]: to step t-1 unless the recurrent inputs are cut
        dy_rec = np.zeros(nh) if truncated else (net.W_h.T @ dnet)[n_in:n_in + nh]
    return out_ds, out_dnet, out_dyrec


def error_flow_lstm(net: LSTM, x: np.ndarray, block: int = 0) -> dict:
    """Error flow through memory cell block ``block`` of ``net`` run on ``x`` (Section 3.2, A.2).

    The error is a unit error at each cell output of the block at the last step,
    ``L = sum_v y_c_v(T-1)`` (v over the block's cells), propagated back by a backward pass over the
    paper's truncated graph (spec §2.1, §2.6: the recurrent inputs ``y_hidden(t-1)`` of gates and cells
    are cut, the CEC is kept) and, for comparison, over the exact graph (every recurrent path).

    Parameters
    ----------
    net : a 1997 LSTM (not modified).
    x : inputs ``(T, n_in)``, ``T >= 1``, run from the reset state.
    block : which block ``j`` (``0 <= j < C``).

    Returns
    -------
    dict with, for lags ``q = 0..T-1`` (time step ``T-1-q``), ``S`` = cells per block:

    ``lags`` : ``(T,)`` int. ``block`` : ``j``. ``cells`` : ``(S,)`` int, the block's cell indices
        (into ``s_c``, ``net_c``, ``y_c``).
    ``e_s`` : ``(S,)``, ``y_out(T-1) h'(s(T-1))``: the one scaling of the error entering the CEC
        (eq. 23 with a unit ``back``).
    ``carousel`` : ``(T, S)``, ``ds_v(T-1)/ds_v(T-1-q)`` in the truncated graph: the product of the CEC
        self-derivatives, exactly 1.0 at every lag (eqs. 30, 35).
    ``state`` : ``(T, S)``, ``dL/ds_v(T-1-q)`` (truncated): ``e_s`` at every lag.
    ``cell_input`` : ``(T, S)``, ``dL/dnet_c_v(T-1-q)`` (truncated): eq. 41's cell-input term
        ``y_out(T-1) h'(s(T-1)) g'(net_c(T-1-q)) y_in(T-1-q)``. The truncated gradient of the weight
        ``w[c_v, m]`` is ``sum_q cell_input[q] y_m(T-1-q)``.
    ``in_gate`` : ``(T, S)``, the part of ``dL/dnet_in(T-1-q)`` that comes through cell v (truncated):
        eq. 41's input-gate term ``y_out(T-1) h'(s(T-1)) g(net_c(T-1-q)) f'_in(net_in(T-1-q))``.
    ``in_gate_net`` : ``(T,)``, ``dL/dnet_in_j(T-1-q)`` (truncated), the sum of ``in_gate`` over v.
    ``exact_state``, ``exact_cell_input`` : ``(T, S)``; ``exact_in_gate_net`` : ``(T,)``: the same
        derivatives in the exact graph, where the error also travels back through the recurrent
        connections of gates and cells (from ``bptt_gradient(truncated=False)``'s recursion).
    ``exact_carousel`` : ``(T, S)``, ``d(sum_v' s_v'(T-1)) / ds_v(T-1-q)`` in the exact graph (1 at
        ``q = 0``; departs from 1 as recurrent paths add to the CEC).
    ``exact_recurrent`` : ``(T,)``, ``||dL/dy_hidden(T-1-q)||_2`` for the error arriving at the hidden
        activations of step ``T-1-q`` from step ``T-q`` through the recurrent connections in the
        exact graph (0 at ``q = 0``; identically 0 under truncation).
    """
    if not isinstance(net, LSTM):
        raise TypeError(f"expected a lstm1997.LSTM, got {type(net).__name__}")
    if not net.arch.is_1997:
        raise ValueError("error_flow_lstm analyses the 1997 cell (whose carousel is exactly 1.0); this net has "
                         "forget gates or peepholes")
    a = net.arch
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != a.n_in:
        raise ValueError(f"x must have shape (T, {a.n_in}), got {x.shape}")
    T = x.shape[0]
    if T < 1:
        raise ValueError("x must have at least one time step")
    if not isinstance(block, (int, np.integer)) or isinstance(block, bool) or not 0 <= block < a.blocks:
        raise ValueError(f"block must be an integer in [0, {a.blocks}), got {block!r}")
    j, S = int(block), a.cells
    cells = np.arange(j * S, (j + 1) * S)

    # forward (spec §1.2-1.4), every step recorded
    rec = []
    y_prev, s = np.zeros(a.n_hidden), np.zeros(a.n_cells)
    with np.errstate(over="ignore"):
        for t in range(T):
            o = lstm_step(net, x[t], y_prev, s)
            rec.append(o)
            y_prev, s = o.y_hidden, o.s_c

    seed = np.zeros(a.n_cells)
    seed[cells] = 1.0
    zero = np.zeros(a.n_cells)
    row_in = a.rows_in.start + j
    rows_c = a.rows_c.start + cells
    with np.errstate(over="ignore", invalid="ignore"):
        # truncated graph: the paper's error flow
        ds_t, dnet_t, _ = _lstm_backward(net, rec, seed, zero, truncated=True)
        car_t, _, _ = _lstm_backward(net, rec, zero, seed, truncated=True)
        # exact graph
        ds_x, dnet_x, dyrec_x = _lstm_backward(net, rec, seed, zero, truncated=False)
        car_x, _, _ = _lstm_backward(net, rec, zero, seed, truncated=False)

    rev = slice(None, None, -1)                        # time step t -> lag q = T-1-t
    y_in = np.array([o.y_in[j] for o in rec])
    g_c = np.array([o.g_c[cells] for o in rec]).reshape(T, S)
    in_gate = (y_in * (1.0 - y_in))[:, None] * g_c * ds_t[:, cells]   # per-cell part of dnet_in
    o_last = rec[-1]
    _, hp = squash_h(a.h, o_last.s_c[cells])
    return {
        "lags": np.arange(T),
        "block": j,
        "cells": cells,
        "e_s": o_last.y_out[j] * hp,
        "carousel": car_t[rev][:, cells],
        "state": ds_t[rev][:, cells],
        "cell_input": dnet_t[rev][:, rows_c],
        "in_gate": in_gate[rev],
        "in_gate_net": dnet_t[rev][:, row_in],
        "exact_carousel": car_x[rev][:, cells],
        "exact_state": ds_x[rev][:, cells],
        "exact_cell_input": dnet_x[rev][:, rows_c],
        "exact_in_gate_net": dnet_x[rev][:, row_in],
        "exact_recurrent": np.linalg.norm(dyrec_x[rev], axis=1),
    }
