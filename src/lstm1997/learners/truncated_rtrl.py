r"""The paper's learning rule: truncated, online, RTRL-like gradient descent (paper-spec §2).

Error function and sign (eqs. 16-19): per step ``E(t) = 1/2 sum_k (d_k(t) - y_k(t))^2`` (the paper writes
the delta without a factor 2, so this is the error actually descended), and ``dw = -lr dE/dw``.

Forward traces (eqs. 14, 25, 27), for every cell ``c_jv`` and every source ``m`` of its block (x(t),
y_hidden(t-1) or the bias), reset to 0 at every sequence start::

    dS_in[jv, m](t) = dS_in[jv, m](t-1) + g(net_c_jv(t)) f'_in(net_in_j(t)) y^m
    dS_c [jv, m](t) = dS_c [jv, m](t-1) + y_in_j(t)   g'(net_c_jv(t))     y^m

Errors and updates at a step with a target (eqs. 19-28), all error signals computed with the weights
as they were before this step's update (spec §9, reading 18)::

    e_k     = f'_k(net_k) (d_k - y_k)
    back_jv = sum_k w[k, c_jv] e_k
    e_out_j = f'_out(net_out_j) sum_v h(s_jv) back_jv
    e_s_jv  = y_out_j h'(s_jv) back_jv
    w[k, u]     += lr e_k y^u            w[out_j, m] += lr e_out_j y^m
    w[in_j, m]  += lr sum_v e_s_jv dS_in[jv, m]
    w[c_jv, m]  += lr e_s_jv dS_c[jv, m]
    (conventional hidden units, if any: e_i = f'_i sum_k w[k,i] e_k,  w[i, m] += lr e_i y^m)

Error arriving at a gate or cell input is not propagated further back in time (the truncation):
only the CEC carries error across time steps. Absent connections are never updated; the CEC
self-weight is fixed at 1.0 and is not a parameter.

The later cell variants (``Architecture(forget_gate=True)``, Gers, Schmidhuber & Cummins 2000;
``Architecture(peepholes=True)``, Gers, Schraudolph & Schmidhuber 2002; not in the 1997 paper) are trained
by the same truncation: every source of a gate's or cell input's net input is cut -- x(t), y_hidden(t-1),
the bias, and the peephole sources s(t-1) (input and forget gates) and s(t) (output gate) -- while the CEC
path s(t-1) -> s(t) stays attached, now scaled by the forget gate: ``s(t) = y_phi(t) s(t-1) + y_in g``.
The traces (``y_phi = 1`` without forget gates, which gives back eqs. 25 and 27)::

    dS_c  [jv, m](t) = y_phi_j(t) dS_c  [jv, m](t-1) + y_in_j(t) g'(net_c_jv(t))     y^m
    dS_in [jv, m](t) = y_phi_j(t) dS_in [jv, m](t-1) + g(net_c_jv(t)) f'_in(net_in_j)  y^m
    dS_phi[jv, m](t) = y_phi_j(t) dS_phi[jv, m](t-1) + s_jv(t-1) f'_phi(net_phi_j(t))  y^m

and, with peepholes, for the peephole weight from cell v' of block j (source s_jv'(t-1), detached)::

    dP_in [jv, v'](t)  = y_phi_j(t) dP_in [jv, v'](t-1)  + g(net_c_jv(t)) f'_in(net_in_j)  s_jv'(t-1)
    dP_phi[jv, v'](t)  = y_phi_j(t) dP_phi[jv, v'](t-1)  + s_jv(t-1) f'_phi(net_phi_j)      s_jv'(t-1)

Updates at a step with a target, beside the 1997 ones (which keep their form with these traces)::

    w[phi_j, m]   += lr sum_v e_s_jv dS_phi[jv, m]
    p[in_j, jv']  += lr sum_v e_s_jv dP_in[jv, v']      p[phi_j, jv'] += lr sum_v e_s_jv dP_phi[jv, v']
    p[out_j, jv]  += lr e_out_j s_jv(t)                 (the output gate's peephole: no trace)

``-lr`` times the gradient of that truncated graph (``bptt_gradient(net, x, d, truncated=True)``) is again
exactly the per-sequence update. The 1997 cell runs in its own kernel (``_kernels/lstm.py``), unchanged;
the variants in ``_kernels/variants.py``.

.. warning::
   Reading implemented (spec §2.5, reading 2): with ``per_step=True`` (default) each step's update
   is applied at once, so later steps of the same sequence see the new weights (RTRL real-time
   style); ``per_step=False`` sums the updates and applies them at the sequence end, which is
   exactly ``-lr`` times the gradient of the truncated computation graph (spec §2.6). The two are
   identical for tasks whose only target is at the sequence end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..batch import Batch
from ..network import LSTM, _check_batch, _run_kernel, squash_g, squash_h, step

__all__ = ["TruncatedRTRL", "RTRLState", "VariantRTRLState", "DivergenceError"]


class DivergenceError(FloatingPointError):
    """Training made a weight NaN or inf. ``sequence`` is the learner's 0-based count of the
    sequence during which it happened."""

    def __init__(self, sequence: int):
        self.sequence = sequence
        super().__init__(f"training diverged: a weight became NaN or inf while training on sequence "
                         f"{sequence} (counting from 0); try a smaller learning rate")


@dataclass
class RTRLState:
    """The learner's state, kept apart from the network: the traces and counters.

    ``dS_in``, ``dS_c`` have shape ``(C*S, n_src)`` and hold the traces of the last step processed
    (they are reset at every sequence start). ``sequences`` and ``steps`` count what was trained on.
    """

    dS_in: np.ndarray
    dS_c: np.ndarray
    sequences: int = 0
    steps: int = 0


def _empty() -> np.ndarray:
    return np.zeros((0, 0))


@dataclass
class VariantRTRLState(RTRLState):
    """The state for a net with forget gates and/or peepholes: the 1997 traces plus ``dS_phi`` ``(C*S,
    n_src)`` (forget-gate weights) and ``dP_in``, ``dP_phi`` ``(C*S, S)`` (peephole weights of the input
    and forget gates); each ``(0, 0)`` where the architecture lacks what it differentiates. (A class of its
    own, so that the state of a 1997 net has exactly the fields it always had.)"""

    dS_phi: np.ndarray = field(default_factory=_empty)
    dP_in: np.ndarray = field(default_factory=_empty)
    dP_phi: np.ndarray = field(default_factory=_empty)


@dataclass(frozen=True)
class TruncatedRTRL:
    """The 1997 learning rule as an ``init``/``update`` pair.

    Parameters
    ----------
    lr : learning rate ``alpha`` (> 0), the paper's values carry over unchanged.
    per_step : apply updates at every step that has a target (default) or at the sequence end.
    backend : ``"numba"`` (the compiled kernel) or ``"numpy"`` (a slow, obvious reference of the
        same rule, step by step; used by the tests and the benchmark).
    delta : the output units' error signal: ``"logistic"`` (default, eq. 19: ``f'(net_k) (d_k - y_k)``);
        ``"linear"`` (``d_k - y_k``, without ``f'``; it contradicts eq. 19 and is a diagnostic: the
        gradient of cross-entropy rather than of squared error) or ``"flat-spot"`` (``(f'(net_k) + 0.1)
        (d_k - y_k)``, Fahlman's fix of the logistic's flat spots; a diagnostic). See docs/decisions.md.
    """

    lr: float
    per_step: bool = True
    backend: str = "numba"
    delta: str = "logistic"

    def __post_init__(self) -> None:
        if not (isinstance(self.lr, (int, float, np.floating)) and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive finite number, got {self.lr!r}")
        if self.backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {self.backend!r}")
        if self.delta not in DELTAS:
            raise ValueError(f"delta must be one of {', '.join(map(repr, DELTAS))}, got {self.delta!r}")

    def init(self, net: LSTM) -> RTRLState:
        a = net.arch
        if a.is_1997:
            return RTRLState(np.zeros((a.n_cells, a.n_src)), np.zeros((a.n_cells, a.n_src)))
        S = a.cells
        return VariantRTRLState(np.zeros((a.n_cells, a.n_src)), np.zeros((a.n_cells, a.n_src)),
                                dS_phi=np.zeros((a.n_cells, a.n_src)) if a.forget_gate else _empty(),
                                dP_in=np.zeros((a.n_cells, S)) if a.peepholes else _empty(),
                                dP_phi=np.zeros((a.n_cells, S)) if a.peepholes and a.forget_gate else _empty())

    def update(self, net: LSTM, state: RTRLState, batch: Batch, outputs: str = "all") -> np.ndarray:
        """Train ``net`` in place, online, on every sequence of ``batch`` in order.

        Returns the outputs ``y_k(t)`` produced during training (each computed before that step's update):
        with ``outputs="all"`` at every step, shape ``(batch.n_steps, K)``; with ``"targets"`` only at the
        steps that have a target (at least one output not NaN), in order, shape ``(target steps, K)``; with
        ``"none"`` none, shape ``(0, K)``. The last two keep the memory of a long stream independent of its
        length beyond the data themselves (8 bytes per step per output less). ``state`` is updated in
        place. Raises :class:`DivergenceError` naming the sequence if a weight becomes NaN or inf.
        """
        _check_batch(net, batch)
        if state.dS_in.shape != (net.arch.n_cells, net.arch.n_src) or \
                isinstance(state, VariantRTRLState) == net.arch.is_1997:
            raise ValueError("state does not belong to this network (call init(net))")
        traces = None
        if not net.arch.is_1997:
            want = self.init(net)
            traces = (state.dS_phi, state.dP_in, state.dP_phi)
            if any(t.shape != w.shape for t, w in zip(traces, (want.dS_phi, want.dP_in, want.dP_phi))):
                raise ValueError("state does not belong to this network (call init(net))")
        if outputs not in _OUTPUTS:
            raise ValueError(f"outputs must be one of {', '.join(map(repr, _OUTPUTS))}, got {outputs!r}")
        if self.backend == "numba":
            y_mode = _OUTPUTS.index(outputs)
            rows = batch.n_steps if y_mode == 0 else (_target_steps(batch).sum() if y_mode == 1 else 0)
            Y = np.empty((int(rows), net.arch.n_out))
            bad = _run_kernel(net, batch, Y, state.dS_in, state.dS_c, float(self.lr), True, bool(self.per_step),
                              y_mode, DELTAS.index(self.delta), traces)
        else:
            with np.errstate(over="ignore", invalid="ignore"):   # divergence is reported below
                if net.arch.is_1997:
                    Y, bad = _reference_update(net, state, batch, float(self.lr), bool(self.per_step), self.delta)
                else:
                    Y, bad = _reference_update_variant(net, state, batch, float(self.lr), bool(self.per_step),
                                                       self.delta)
            if outputs == "targets":
                Y = Y[_target_steps(batch)]
            elif outputs == "none":
                Y = Y[:0]
        advance_counters(state, batch, bad)
        return Y


_OUTPUTS = ("all", "targets", "none")

#: the output error signals (``TruncatedRTRL.delta``), in the kernels' numbering
DELTAS = ("logistic", "linear", "flat-spot")


def _target_steps(batch: Batch) -> np.ndarray:
    """Boolean per step: whether any output has a target there (computed in blocks: no (steps, K) temporary)."""
    out = np.empty(batch.n_steps, dtype=bool)
    for i in range(0, batch.n_steps, 1 << 16):
        out[i: i + (1 << 16)] = ~np.isnan(batch.targets[i: i + (1 << 16)]).all(axis=1)
    return out


def advance_counters(state, batch: Batch, bad: int = -1) -> None:
    """Count the sequences and steps a learner trained on; ``bad >= 0`` is the index (within the
    batch) of a sequence after which a weight was NaN or inf: count up to it, then raise."""
    n = len(batch) if bad < 0 else bad + 1
    state.sequences += n
    state.steps += int(batch.offsets[n])
    if bad >= 0:
        raise DivergenceError(state.sequences - 1)


def _output_error(y_k: np.ndarray, d_t: np.ndarray, has: np.ndarray, delta: str) -> np.ndarray:
    """The output units' error signal e_k of the NumPy references (eq. 19, or a diagnostic ``delta``), 0
    where a unit has no target."""
    fk = {"logistic": y_k * (1 - y_k), "linear": 1.0, "flat-spot": y_k * (1 - y_k) + 0.1}[delta]
    return np.where(has, fk * (np.where(has, d_t, 0.0) - y_k), 0.0)


def _reference_update(net: LSTM, state: RTRLState, batch: Batch, lr: float, per_step: bool,
                      delta: str = "logistic"):
    """The same rule in plain NumPy, written for clarity (one step at a time, using
    :func:`lstm1997.network.step`). Mirrors the kernel's order of operations."""
    a = net.arch
    S, C = a.cells, a.blocks
    Y = np.empty((batch.n_steps, a.n_out))
    rows_in = np.arange(a.rows_in.start, a.rows_in.stop)
    oc0 = a.n_in if a.outputs_see_inputs else 0
    for i in range(len(batch)):
        x, d = batch[i]
        y_prev = np.zeros(a.n_hidden)
        s = np.zeros(a.n_cells)
        state.dS_in[:] = 0.0
        state.dS_c[:] = 0.0
        dW_h = np.zeros_like(net.W_h)
        dW_k = np.zeros_like(net.W_k)
        for t in range(x.shape[0]):
            o = step(net, x[t], y_prev, s)
            y_in_per_cell = np.repeat(o.y_in, S)
            fp_in_per_cell = np.repeat(o.y_in * (1 - o.y_in), S)
            _, gp = squash_g(a.g, o.net_c)
            _, hp = squash_h(a.h, o.s_c)
            # traces (eqs. 25, 27)
            state.dS_in += np.outer(o.g_c * fp_in_per_cell, o.z)
            state.dS_c += np.outer(y_in_per_cell * gp, o.z)
            Y[batch.offsets[i] + t] = o.y_k
            y_prev, s = o.y_hidden, o.s_c
            has = ~np.isnan(d[t])
            if not has.any():
                continue
            e_k = _output_error(o.y_k, d[t], has, delta)
            back = net.W_k[:, oc0:oc0 + a.n_cells + a.hidden].T @ e_k
            back_c, back_hid = back[: a.n_cells], back[a.n_cells:]
            e_s = np.repeat(o.y_out, S) * hp * back_c
            g_h = np.zeros_like(net.W_h)
            g_h[rows_in] = (e_s[:, None] * state.dS_in).reshape(C, S, -1).sum(axis=1)
            g_h[a.rows_c] = e_s[:, None] * state.dS_c
            if a.output_gates:
                e_out = o.y_out * (1 - o.y_out) * (o.h_c * back_c).reshape(C, S).sum(axis=1)
                g_h[a.rows_out] = np.outer(e_out, o.z)
            g_h[a.rows_hidden] = np.outer(o.y_hid * (1 - o.y_hid) * back_hid, o.z)
            dW_h += lr * g_h * net.mask_h
            dW_k += lr * np.outer(e_k, o.zo) * net.mask_k
            if per_step:
                net.W_h += dW_h
                net.W_k += dW_k
                dW_h[:] = 0.0
                dW_k[:] = 0.0
        net.W_h += dW_h
        net.W_k += dW_k
        if not net.is_finite():
            return Y, i
    return Y, -1


def _reference_update_variant(net: LSTM, state: VariantRTRLState, batch: Batch, lr: float, per_step: bool,
                              delta: str = "logistic"):
    """The rule for a net with forget gates and/or peepholes in plain NumPy, written for clarity (one step
    at a time, using :func:`lstm1997.network.step`; the equations of the module docstring). Mirrors the
    order of operations of ``_kernels/variants.py``."""
    a = net.arch
    S, C = a.cells, a.blocks
    Y = np.empty((batch.n_steps, a.n_out))
    rows_in = np.arange(a.rows_in.start, a.rows_in.stop)
    oc0 = a.n_in if a.outputs_see_inputs else 0
    prow = {g: r for r, g in enumerate(a.peephole_gates)}     # rows of W_p

    def per_block(x):                  # (C*S, ...) summed over the cells of each block -> (C, ...)
        return x.reshape(C, S, *x.shape[1:]).sum(axis=1)

    def own_block(s):                  # (C*S,) -> (C*S, S): row jv holds s_j0 .. s_j(S-1)
        return np.repeat(s.reshape(C, S), S, axis=0)

    for i in range(len(batch)):
        x, d = batch[i]
        y_prev = np.zeros(a.n_hidden)
        s = np.zeros(a.n_cells)
        for tr in (state.dS_in, state.dS_c, state.dS_phi, state.dP_in, state.dP_phi):
            tr[:] = 0.0
        dW_h = np.zeros_like(net.W_h)
        dW_k = np.zeros_like(net.W_k)
        dW_p = np.zeros_like(net.W_p)
        for t in range(x.shape[0]):
            o = step(net, x[t], y_prev, s)
            phi = np.repeat(o.y_phi, S)[:, None]                        # the CEC's factor y_phi(t)
            a_in = np.repeat(o.y_in * (1 - o.y_in), S) * o.g_c          # g(net_c) f'_in
            _, gp = squash_g(a.g, o.net_c)
            _, hp = squash_h(a.h, o.s_c)
            a_c = np.repeat(o.y_in, S) * gp                              # y_in g'(net_c)
            if a.forget_gate:
                a_phi = o.s_prev * np.repeat(o.y_phi * (1 - o.y_phi), S)   # s(t-1) f'_phi
                state.dS_in[:] = phi * state.dS_in + np.outer(a_in, o.z)
                state.dS_c[:] = phi * state.dS_c + np.outer(a_c, o.z)
                state.dS_phi[:] = phi * state.dS_phi + np.outer(a_phi, o.z)
                if a.peepholes:
                    state.dP_in[:] = phi * state.dP_in + a_in[:, None] * own_block(o.s_prev)
                    state.dP_phi[:] = phi * state.dP_phi + a_phi[:, None] * own_block(o.s_prev)
            else:
                state.dS_in += np.outer(a_in, o.z)
                state.dS_c += np.outer(a_c, o.z)
                state.dP_in += a_in[:, None] * own_block(o.s_prev)
            Y[batch.offsets[i] + t] = o.y_k
            y_prev, s = o.y_hidden, o.s_c
            has = ~np.isnan(d[t])
            if not has.any():
                continue
            e_k = _output_error(o.y_k, d[t], has, delta)
            back = net.W_k[:, oc0:oc0 + a.n_cells + a.hidden].T @ e_k
            back_c, back_hid = back[: a.n_cells], back[a.n_cells:]
            e_s = np.repeat(o.y_out, S) * hp * back_c
            g_h = np.zeros_like(net.W_h)
            g_p = np.zeros_like(net.W_p)
            g_h[rows_in] = per_block(e_s[:, None] * state.dS_in)
            g_h[a.rows_c] = e_s[:, None] * state.dS_c
            if a.forget_gate:
                g_h[a.rows_phi] = per_block(e_s[:, None] * state.dS_phi)
            if a.output_gates:
                e_out = o.y_out * (1 - o.y_out) * per_block(o.h_c * back_c)
                g_h[a.rows_out] = np.outer(e_out, o.z)
                if a.peepholes:
                    g_p[prow["out_gate"]] = np.repeat(e_out, S) * o.s_c
            if a.peepholes:
                g_p[prow["in_gate"]] = per_block(e_s[:, None] * state.dP_in).ravel()
                if a.forget_gate:
                    g_p[prow["forget_gate"]] = per_block(e_s[:, None] * state.dP_phi).ravel()
            g_h[a.rows_hidden] = np.outer(o.y_hid * (1 - o.y_hid) * back_hid, o.z)
            dW_h += lr * g_h * net.mask_h
            dW_k += lr * np.outer(e_k, o.zo) * net.mask_k
            dW_p += lr * g_p * net.mask_p
            if per_step:
                net.W_h += dW_h
                net.W_k += dW_k
                net.W_p += dW_p
                dW_h[:] = 0.0
                dW_k[:] = 0.0
                dW_p[:] = 0.0
        net.W_h += dW_h
        net.W_k += dW_k
        net.W_p += dW_p
        if not net.is_finite():
            return Y, i
    return Y, -1
