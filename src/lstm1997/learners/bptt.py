r"""Exact-gradient oracles: backpropagation through time, full or truncated (paper-spec §2.6).

Plain NumPy, float64, written for clarity rather than speed. The forward pass is
:func:`lstm1997.network.step` (recorded step by step); the backward pass below is written by
hand, each backward line under the forward equation it differentiates.

Forward pass of one step (spec §1.2-1.3), hidden sources ``z(t) = [x(t), y_hidden(t-1), 1]``::

    net(t)   = W_h z(t)                                  (net_in, net_out, net_c, net_i)
    y_in(t)  = f(net_in(t))          y_out(t) = f(net_out(t))   (1 if no output gates)
    s(t)     = s(t-1) + y_in(t) g(net_c(t))              (CEC, self-weight fixed at 1.0)
    y_c(t)   = y_out(t) h(s(t))      y_i(t)   = f(net_i(t))     (conventional hidden units)
    y_k(t)   = f(W_k zo(t)),         zo(t) = [x(t) if outputs see inputs, y_c(t), y_i(t), 1]

Loss over one sequence (spec §2.2, eq. 16 with the paper's delta, eq. 19, i.e. no factor 2)::

    L = 1/2 sum_t sum_k (d_k(t) - y_k(t))^2         (terms with a NaN target are left out)

Backward pass, running t = T-1 .. 0 with ``ds`` = dL/ds(t) carried back along the CEC and
``dy_rec`` = dL/dy_hidden(t) arriving from step t+1 through z(t+1)::

    delta_k   = f'(net_k) (y_k - d_k)                    (= -e_k, eq. 19)
    dW_k     += delta_k zo^T                             (eq. 22, outputs)
    dy_c      = W_k[:, c]^T delta_k  + dy_rec[c]         (back_jv, eq. 21/23, + recurrence)
    dy_i      = W_k[:, i]^T delta_k  + dy_rec[i]         (eq. 20, + recurrence)
    dy_out_j  = sum_v h(s_jv) dy_c_jv + dy_rec[out_j]    (eq. 21)
    ds_jv    += y_out_j h'(s_jv) dy_c_jv                 (eq. 23: -e_s, plus ds from s(t+1))
    dy_in_j   = sum_v g(net_c_jv) ds_jv + dy_rec[in_j]   (eqs. 25-26)
    dnet_c    = y_in g'(net_c) ds                        (eqs. 27-28)
    dnet_u    = f'(net_u) dy_u      for the gates and conventional hidden units
    dW_h     += dnet z^T
    dy_rec    = (W_h^T dnet)[hidden columns]             (full graph)
              = 0                                        (truncated graph, spec §2.6 (1))
    ds(t-1)   = ds(t)                                    (dS(t)/dS(t-1) = 1, kept in both graphs)

With ``truncated=True`` every recurrent input ``y_hidden(t-1)`` of the gates, cells and
conventional hidden units is a stop-gradient, the CEC chain stays attached and the outputs read
``y_c(t)`` of the same step: this is the graph whose gradient the paper's rule follows
(spec §2.1, §2.6), so ``-lr * bptt_gradient(net, x, d, truncated=True)`` equals the weight change
of :class:`~lstm1997.TruncatedRTRL` with ``per_step=False`` on that sequence.
With ``truncated=False`` the gradient is the exact one (every recurrent path).

Gradients of absent connections (masked weights, absent biases) are returned as exactly 0.

The later cell variants (forget gates, peepholes; see :mod:`lstm1997.network`) have a backward pass of
their own (:func:`_forward_backward_variant`), written the same way. Its new lines::

    forward:  s(t) = y_phi(t) s(t-1) + y_in g(net_c)
    backward: dL/dy_phi_j += sum_v s_jv(t-1) dL/ds_jv(t)      dL/ds(t-1) = y_phi(t) dL/ds(t)   (both graphs)
    forward:  net_in_j += sum_v p_in[jv] s_jv(t-1), net_phi_j likewise, net_out_j += sum_v p_out[jv] s_jv(t)
    backward: dL/dp_in[jv] = dnet_in_j s_jv(t-1), dL/dp_phi[jv] = dnet_phi_j s_jv(t-1),
              dL/dp_out[jv] = dnet_out_j s_jv(t)                                           (both graphs)
              dL/ds_jv(t)   += p_out[jv] dnet_out_j,  dL/ds_jv(t-1) += p_in[jv] dnet_in_j + p_phi[jv] dnet_phi_j
                                                         (full graph only: the peephole sources are
                                                          stop-gradients in the truncated graph)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batch import Batch
from ..network import LSTM, _check_batch, squash_g, squash_h, step
from .truncated_rtrl import DivergenceError, advance_counters  # noqa: F401  (DivergenceError: documented here)

__all__ = ["bptt_gradient", "BPTT", "BPTTState"]


def _check_sequence(net: LSTM, x, d) -> tuple[np.ndarray, np.ndarray]:
    a = net.arch
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != a.n_in:
        raise ValueError(f"x must have shape (T, {a.n_in}), got {x.shape}")
    if d.shape != (x.shape[0], a.n_out):
        raise ValueError(f"d must have shape ({x.shape[0]}, {a.n_out}) like x, got {d.shape}")
    return x, d


def _forward_loss(net: LSTM, x: np.ndarray, d: np.ndarray):
    """The forward pass (spec §1.2-1.4: reset, then record every step) and the loss 1/2 sum (d - y)^2 over
    the present targets (spec §2.2): ``(steps recorded, outputs y_k (T, K), y - d with 0 where no target,
    loss)``."""
    a = net.arch
    y_prev = np.zeros(a.n_hidden)                       # y_hidden(0) = 0
    s = np.zeros(a.n_cells)                             # s_c(0) = 0
    rec = []
    for t in range(x.shape[0]):
        o = step(net, x[t], y_prev, s)
        rec.append(o)
        y_prev, s = o.y_hidden, o.s_c
    Y = np.array([o.y_k for o in rec], dtype=np.float64).reshape(x.shape[0], a.n_out)
    has = ~np.isnan(d)
    err = np.where(has, Y - np.where(has, d, 0.0), 0.0)  # y - d, 0 where no target
    return rec, Y, err, 0.5 * float(np.sum(err * err))


def _forward_backward(net: LSTM, x: np.ndarray, d: np.ndarray, truncated: bool):
    """Loss, dL/dW_h, dL/dW_k (masked) and the outputs y_k (T, K) of one sequence (the 1997 cell; a net
    with a cell variant goes to :func:`_forward_backward_variant`, and then dL/dW_p comes fifth)."""
    a = net.arch
    if not a.is_1997:
        return _forward_backward_variant(net, x, d, truncated)
    C, S, n_in, nh = a.blocks, a.cells, a.n_in, a.n_hidden
    rows_in, rows_out, rows_c, rows_hid = a.rows_in, a.rows_out, a.rows_c, a.rows_hidden
    oc0 = n_in if a.outputs_see_inputs else 0          # first cell column of W_k
    cols_c = slice(oc0, oc0 + a.n_cells)               # W_k columns reading y_c(t)
    cols_hid = slice(oc0 + a.n_cells, oc0 + a.n_cells + a.hidden)  # ... reading y_i(t)
    T = x.shape[0]

    rec, Y, err, loss = _forward_loss(net, x, d)

    # ---- backward pass ----
    dW_h = np.zeros_like(net.W_h)
    dW_k = np.zeros_like(net.W_k)
    ds = np.zeros(a.n_cells)        # dL/ds(t), flowing back along the CEC
    dy_rec = np.zeros(nh)           # dL/dy_hidden(t) from the hidden units of step t+1
    for t in range(T - 1, -1, -1):
        o = rec[t]

        # forward: y_k = f(net_k), net_k = W_k zo;  loss term 1/2 (d_k - y_k)^2     (eq. 16)
        # backward: delta_k = dL/dnet_k = f'(net_k) (y_k - d_k) = -e_k               (eq. 19)
        delta_k = o.y_k * (1.0 - o.y_k) * err[t]
        dW_k += np.outer(delta_k, o.zo)                                            # eq. 22
        dzo = net.W_k.T @ delta_k

        # forward: y_hidden(t) = [y_in, y_out, y_c, y_i] feeds the outputs (same step)
        #          and, through z(t+1), every hidden unit of step t+1
        dy_c = dzo[cols_c] + dy_rec[rows_c]            # back_jv (+ recurrent part)
        dy_hid = dzo[cols_hid] + dy_rec[rows_hid]      # eq. 20 (+ recurrent part)
        dy_in = dy_rec[rows_in].copy()
        dy_out = dy_rec[rows_out].copy()

        # forward: y_c = y_out h(s)                                                 (spec §1.2)
        # backward: dL/dy_out_j += sum_v h(s_jv) dL/dy_c_jv                         (eq. 21)
        #           dL/ds_jv    += y_out_j h'(s_jv) dL/dy_c_jv                      (eq. 23)
        _, hp = squash_h(a.h, o.s_c)
        if a.output_gates:
            dy_out += (o.h_c * dy_c).reshape(C, S).sum(axis=1)
        ds = ds + np.repeat(o.y_out, S) * hp * dy_c

        # forward: s(t) = s(t-1) + y_in g(net_c)                                    (CEC)
        # backward: dL/dy_in_j += sum_v g(net_c_jv) dL/ds_jv                        (eqs. 25-26)
        #           dL/dnet_c   = y_in g'(net_c) dL/ds                              (eqs. 27-28)
        #           dL/ds(t-1)  = dL/ds(t)             (self-weight 1.0, never truncated)
        _, gp = squash_g(a.g, o.net_c)
        dy_in += (o.g_c * ds).reshape(C, S).sum(axis=1)
        dnet = np.zeros(nh)
        dnet[rows_c] = np.repeat(o.y_in, S) * gp * ds

        # forward: y_in = f(net_in), y_out = f(net_out), y_i = f(net_i)             (eq. 3)
        # backward: dL/dnet = f'(net) dL/dy,  f' = y (1 - y)
        dnet[rows_in] = o.y_in * (1.0 - o.y_in) * dy_in
        if a.output_gates:
            dnet[rows_out] = o.y_out * (1.0 - o.y_out) * dy_out
        dnet[rows_hid] = o.y_hid * (1.0 - o.y_hid) * dy_hid

        # forward: net = W_h z,  z = [x(t), y_hidden(t-1), 1]
        # backward: dL/dW_h += dnet z^T                                             (eq. 22)
        #           dL/dy_hidden(t-1) = (W_h^T dnet)[hidden columns], or 0 when the
        #           recurrent inputs are stop-gradients (truncated graph, spec §2.6 (1))
        dW_h += np.outer(dnet, o.z)
        if truncated:
            dy_rec = np.zeros(nh)
        else:
            dy_rec = (net.W_h.T @ dnet)[n_in:n_in + nh]
        # ds is carried unchanged to step t-1

    # absent connections get exactly 0 (spec §2.4: they are never updated)
    dW_h = np.where(net.mask_h, dW_h, 0.0)
    dW_k = np.where(net.mask_k, dW_k, 0.0)
    return loss, dW_h, dW_k, Y


def _forward_backward_variant(net: LSTM, x: np.ndarray, d: np.ndarray, truncated: bool):
    """As :func:`_forward_backward` for a net with forget gates and/or peepholes: loss, dL/dW_h, dL/dW_k,
    the outputs y_k (T, K) and dL/dW_p (masked)."""
    a = net.arch
    C, S, n_in, nh = a.blocks, a.cells, a.n_in, a.n_hidden
    rows_in, rows_out, rows_phi, rows_c, rows_hid = a.rows_in, a.rows_out, a.rows_phi, a.rows_c, a.rows_hidden
    oc0 = n_in if a.outputs_see_inputs else 0
    cols_c = slice(oc0, oc0 + a.n_cells)
    cols_hid = slice(oc0 + a.n_cells, oc0 + a.n_cells + a.hidden)
    prow = {g: r for r, g in enumerate(a.peephole_gates)}     # rows of W_p
    T = x.shape[0]

    def per_block(v):                   # (C*S,) -> (C,), summed over each block's cells
        return v.reshape(C, S).sum(axis=1)

    rec, Y, err, loss = _forward_loss(net, x, d)

    # ---- backward pass ----
    dW_h = np.zeros_like(net.W_h)
    dW_k = np.zeros_like(net.W_k)
    dW_p = np.zeros_like(net.W_p)
    ds = np.zeros(a.n_cells)        # dL/ds(t), flowing back along the CEC
    dy_rec = np.zeros(nh)           # dL/dy_hidden(t) from the hidden units of step t+1
    for t in range(T - 1, -1, -1):
        o = rec[t]
        delta_k = o.y_k * (1.0 - o.y_k) * err[t]                                  # eq. 19
        dW_k += np.outer(delta_k, o.zo)                                            # eq. 22
        dzo = net.W_k.T @ delta_k
        dy_c = dzo[cols_c] + dy_rec[rows_c]
        dy_hid = dzo[cols_hid] + dy_rec[rows_hid]
        dy_in = dy_rec[rows_in].copy()
        dy_out = dy_rec[rows_out].copy()
        dy_phi = dy_rec[rows_phi].copy()

        # forward: y_c = y_out h(s(t))
        _, hp = squash_h(a.h, o.s_c)
        if a.output_gates:
            dy_out += per_block(o.h_c * dy_c)
        ds = ds + np.repeat(o.y_out, S) * hp * dy_c

        # forward: y_out = f(net_out), net_out += sum_v p_out s(t)   (the peephole sees this step's state)
        dnet = np.zeros(nh)
        if a.output_gates:
            dnet[rows_out] = o.y_out * (1.0 - o.y_out) * dy_out
            if "out_gate" in prow:
                dnet_out_c = np.repeat(dnet[rows_out], S)
                dW_p[prow["out_gate"]] += dnet_out_c * o.s_c
                if not truncated:
                    ds = ds + net.W_p[prow["out_gate"]] * dnet_out_c

        # forward: s(t) = y_phi s(t-1) + y_in g(net_c)
        _, gp = squash_g(a.g, o.net_c)
        dy_in += per_block(o.g_c * ds)
        dnet[rows_c] = np.repeat(o.y_in, S) * gp * ds
        if a.forget_gate:
            dy_phi += per_block(o.s_prev * ds)

        # forward: y_in = f(net_in), y_phi = f(net_phi), y_i = f(net_i)
        dnet[rows_in] = o.y_in * (1.0 - o.y_in) * dy_in
        if a.forget_gate:
            dnet[rows_phi] = o.y_phi * (1.0 - o.y_phi) * dy_phi
        dnet[rows_hid] = o.y_hid * (1.0 - o.y_hid) * dy_hid

        # forward: net = W_h z (+ peepholes from s(t-1) into the input and forget gates)
        dW_h += np.outer(dnet, o.z)
        ds_prev = np.repeat(o.y_phi, S) * ds if a.forget_gate else ds     # the CEC, kept in both graphs
        for kind, rows in (("in_gate", rows_in), ("forget_gate", rows_phi)):
            if kind in prow:
                dnet_c = np.repeat(dnet[rows], S)
                dW_p[prow[kind]] += dnet_c * o.s_prev
                if not truncated:
                    ds_prev = ds_prev + net.W_p[prow[kind]] * dnet_c
        if truncated:
            dy_rec = np.zeros(nh)
        else:
            dy_rec = (net.W_h.T @ dnet)[n_in:n_in + nh]
        ds = ds_prev

    dW_h = np.where(net.mask_h, dW_h, 0.0)
    dW_k = np.where(net.mask_k, dW_k, 0.0)
    dW_p = np.where(net.mask_p, dW_p, 0.0)
    return loss, dW_h, dW_k, Y, dW_p


def bptt_gradient(net: LSTM, x, d, truncated: bool = False) -> tuple:
    """Loss and exact gradient of one sequence.

    Parameters
    ----------
    net : the network (not modified).
    x : inputs, shape ``(T, n_in)``.
    d : targets, shape ``(T, K)``; ``NaN`` means "no target for this output at this step".
    truncated : ``False``: gradient of the full computation graph (every recurrent path).
        ``True``: gradient of the truncated graph of spec §2.6 (recurrent hidden inputs are
        stop-gradients, the CEC chain stays attached), i.e. the paper's learning rule summed
        over the sequence, divided by ``-lr``.

    Returns
    -------
    loss : ``1/2 sum_t sum_k (d_k(t) - y_k(t))^2`` over present targets.
    dW_h, dW_k : ``dloss/dW_h``, ``dloss/dW_k``, shaped like ``net.W_h``, ``net.W_k``, exactly 0
        on absent connections.
    dW_p : only for a net with peepholes (then a 4-tuple is returned): ``dloss/dW_p``, shaped like
        ``net.W_p``. A net without peepholes (the 1997 cell, or forget gates only) gives the 3-tuple.
    """
    x, d = _check_sequence(net, x, d)
    out = _forward_backward(net, x, d, bool(truncated))
    if net.arch.peepholes:
        return out[0], out[1], out[2], out[4]
    return out[0], out[1], out[2]


@dataclass
class BPTTState:
    """Counters of what a :class:`BPTT` learner has trained on."""

    sequences: int = 0
    steps: int = 0


@dataclass(frozen=True)
class BPTT:
    """Per-sequence gradient descent with the exact (or truncated-graph) BPTT gradient.

    For every sequence of a batch, in order: compute :func:`bptt_gradient` at the current
    weights and apply ``W -= lr * grad`` in place at the sequence end (online, never batched
    across sequences). Same ``init``/``update`` interface as :class:`~lstm1997.TruncatedRTRL`;
    with ``truncated=True`` it performs the same updates as ``TruncatedRTRL(lr, per_step=False)``
    (up to rounding), far more slowly.
    """

    lr: float
    truncated: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.lr, (int, float, np.floating)) and not isinstance(self.lr, bool)
                and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive finite number, got {self.lr!r}")

    def init(self, net: LSTM) -> BPTTState:
        return BPTTState()

    def update(self, net: LSTM, state: BPTTState, batch: Batch) -> np.ndarray:
        """Train ``net`` in place on every sequence of ``batch`` in order.

        Returns the outputs ``y_k(t)`` computed during training (sequence i with the weights
        left by sequence i-1), shape ``(batch.n_steps, K)``. Raises :class:`DivergenceError`
        naming the sequence if a weight becomes NaN or inf.
        """
        _check_batch(net, batch)
        if not isinstance(state, BPTTState):
            raise TypeError(f"expected a BPTTState (call init(net)), got {type(state).__name__}")
        Y = np.empty((batch.n_steps, net.arch.n_out))
        lr = float(self.lr)
        for i in range(len(batch)):
            x, d = batch[i]
            # saturating sigmoids may overflow exp() harmlessly; divergence is checked below
            with np.errstate(over="ignore", invalid="ignore"):
                out = _forward_backward(net, x, d, bool(self.truncated))
                _, dW_h, dW_k, Yi = out[:4]
                net.W_h -= lr * dW_h
                net.W_k -= lr * dW_k
                if len(out) > 4:
                    net.W_p -= lr * out[4]
            Y[batch.offsets[i]:batch.offsets[i + 1]] = Yi
            if not net.is_finite():
                advance_counters(state, batch, i)
        advance_counters(state, batch)
        return Y
