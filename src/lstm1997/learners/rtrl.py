r"""Exact real-time recurrent learning (Williams & Zipser 1989) for the conventional recurrent nets of
:mod:`lstm1997.rnn`: the RTRL baselines of Table 1 (Smith & Zipser's fully recurrent nets) and Table 2
(one self-recurrent hidden unit), paper-spec §5.1, §5.2, §7.

Sensitivities ``p[k, w] = dy_k(t)/dw`` are carried forward in time, reset to 0 at every sequence start.
For a unit ``k`` with sources ``z(t) = [x(t), y(t-1), y(t), 1]`` and a weight ``w = W[i, j]``::

    p[k, w](t) = f'(net_k(t)) ( [k = i] z_j(t) + sum_l W[k, prev_l] p[l, w](t-1)
                                               + sum_{l < k} W[k, now_l] p[l, w](t) )
    dE(t)/dw   = sum_k (y_k(t) - d_k(t)) p[k, w](t)        (outputs with a target)

Error ``E(t) = 1/2 sum_k (d_k(t) - y_k(t))^2`` and ``dw = -lr dE/dw``.

The compiled kernel carries ``p`` only for the *recurrent* units (those whose y(t-1) some unit reads)
and only w.r.t. the weights that can influence them; the gradient of every other weight, and the error
of the other units, follow exactly from backpropagation through the current step (see
``_kernels/rnn.py: rnn_rtrl``). A step of Table 2's net (1 recurrent unit) then costs O(weights), and
O(R^2 x weights) in general for R recurrent units, as RTRL does. The NumPy reference
(``backend="numpy"``) is the textbook recursion above for all units and all weights.

``per_step=True``: each step's update is applied at once (real-time RTRL; the sensitivities are not
recomputed for the new weights). ``per_step=False``: the updates are summed and applied at the sequence
end, which is exactly ``-lr`` times the gradient of the sequence loss (the same as full BPTT).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batch import Batch
from ..rnn import RNN, _check_lr, _check_rnn_batch, _kernel_args, _plan, _store_weights, step
from .truncated_rtrl import DivergenceError, advance_counters  # noqa: F401  (DivergenceError: documented here)

__all__ = ["RTRL", "RNNRTRLState"]


@dataclass
class RNNRTRLState:
    """The learner's state, kept apart from the net.

    ``p`` has shape ``(R, n_weights)``: ``p[r, w] = dy_u(t)/dw`` for the recurrent unit ``u = rec[r]``
    (ascending unit order) and the present weight ``w`` (in the order of ``W[mask]``), at the last
    step processed; 0 for weights that cannot influence the recurrent units. Reset per sequence.
    ``sequences`` and ``steps`` count what was trained on.
    """

    p: np.ndarray
    sequences: int = 0
    steps: int = 0


@dataclass(frozen=True)
class RTRL:
    """Exact RTRL as an ``init``/``update`` pair, online.

    Parameters
    ----------
    lr : learning rate (> 0).
    per_step : apply each step's update at once (default, real-time RTRL) or at the sequence end.
    backend : ``"numba"`` (the compiled kernel) or ``"numpy"`` (the slow textbook recursion).
    """

    lr: float
    per_step: bool = True
    backend: str = "numba"

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if self.backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {self.backend!r}")

    def init(self, net: RNN) -> RNNRTRLState:
        return RNNRTRLState(np.zeros((_plan(net).rec.size, net.n_weights)))

    def update(self, net: RNN, state: RNNRTRLState, batch: Batch) -> np.ndarray:
        """Train ``net`` in place, online, on every sequence of ``batch`` in order.

        Returns the outputs ``(batch.n_steps, n_out)``, each computed before that step's update;
        ``state`` is updated in place. Raises :class:`DivergenceError` naming the sequence if a
        weight becomes NaN or inf.
        """
        _check_rnn_batch(net, batch)
        if not isinstance(state, RNNRTRLState):
            raise TypeError(f"expected an RNNRTRLState (call init(net)), got {type(state).__name__}")
        plan = _plan(net)
        p = state.p
        if not (isinstance(p, np.ndarray) and p.shape == (plan.rec.size, net.n_weights) and p.dtype == np.float64
                and p.flags.c_contiguous):
            raise ValueError("state does not belong to this network (call init(net))")
        lr, per_step = float(self.lr), bool(self.per_step)
        Y = np.empty((batch.n_steps, net.arch.n_out))
        with np.errstate(over="ignore", invalid="ignore"):   # divergence is reported below
            if self.backend == "numba":
                from .._kernels.rnn import rnn_rtrl

                args = _kernel_args(net, batch)
                p_flat = state.p.reshape(-1)    # a view: the kernel updates state.p
                D, offsets = batch._kernel_arrays()[3:]      # the batch's own (checked by _check_rnn_batch)
                bad = rnn_rtrl(*args, D, offsets, Y, plan.rec, plan.infl, plan.segs, p_flat, lr, per_step)
                _store_weights(net, args[0])
            else:
                bad = _reference_update(net, state, batch, lr, per_step, Y)
        advance_counters(state, batch, bad)
        return Y


def _reference_update(net: RNN, state: RNNRTRLState, batch: Batch, lr: float, per_step: bool,
                      Y: np.ndarray) -> int:
    """The textbook recursion in plain NumPy: sensitivities of every unit w.r.t. every weight, one step
    at a time. Returns the first diverged sequence or -1."""
    a = net.arch
    N = a.n_units
    M = net.mask
    rec = _plan(net).rec
    for i in range(len(batch)):
        x, d = batch[i]
        y_prev = np.zeros(N)
        p = np.zeros((N, N, a.n_src))               # p[k, i, j] = dy_k(t-1)/dW[i, j]
        dW = np.zeros_like(net.W)
        for t in range(x.shape[0]):
            o = step(net, x[t], y_prev)
            fp = o.y * (1.0 - o.y)
            W_prev, W_now = net.W[:, a.cols_prev], net.W[:, a.cols_now]
            p_new = np.zeros_like(p)                # p[k, i, j] = dy_k(t)/dW[i, j], units in order
            for k in range(N):
                acc = np.tensordot(W_prev[k], p, axes=1) + np.tensordot(W_now[k, :k], p_new[:k], axes=1)
                acc[k] += o.z
                p_new[k] = fp[k] * acc * M          # only present weights are parameters
            p = p_new
            Y[batch.offsets[i] + t] = o.y[a.rows_out]
            has = ~np.isnan(d[t])
            if has.any():
                err = np.where(has, o.y[a.rows_out] - np.where(has, d[t], 0.0), 0.0)
                dW -= lr * np.tensordot(err, p[a.rows_out], axes=1)
                if per_step:
                    net.W += dW
                    dW[:] = 0.0
            y_prev = o.y
        net.W += dW
        state.p[:] = p[rec][:, M]                   # the kernel's layout: recurrent units x present weights
        if not net.is_finite():
            return i
    return -1
