r"""Full backpropagation through time for the conventional recurrent nets of :mod:`lstm1997.rnn`
(the BPTT baseline of Table 2, paper-spec §5.2, §7: untruncated), and the exact-gradient oracle.

Forward pass of one step (units in order ``i = 0..N-1``), sources ``z(t) = [x(t), y(t-1), y(t), 1]``::

    net_i(t) = sum_j W[i, j] z_j(t)        y_i(t) = f(net_i(t))        (y_j(t) only for j < i)

Loss of one sequence: ``L = 1/2 sum_t sum_k (d_k(t) - y_k(t))^2`` over the present (non-NaN) targets.

Backward pass, t = T-1 .. 0, with ``dy_rec = dL/dy(t)`` arriving from step t+1::

    dy        = dy_rec + (y - d) at the outputs with a target
    for i = N-1 .. 0:  delta_i = f'(net_i) dy_i ;  dy_j += delta_i W[i, now_j]   (j < i, same step)
    dW       += delta z(t)^T
    dy_rec    = W[:, prev]^T delta                                           (to step t-1)

The paper (spec §7) notes that full BPTT gives the same gradient as offline RTRL: the tests check
``RTRL(per_step=False)`` against :func:`rnn_gradient`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batch import Batch
from ..rnn import RNN, _check_lr, _check_rnn_batch, _check_x, _kernel_args, _store_weights, forward, step
from .truncated_rtrl import DivergenceError, advance_counters  # noqa: F401  (DivergenceError: documented here)

__all__ = ["BPTTRNN", "BPTTRNNState", "rnn_gradient"]


def _check_sequence(net: RNN, x, d) -> tuple[np.ndarray, np.ndarray]:
    x = _check_x(net, x)
    d = np.asarray(d, dtype=np.float64)
    if d.shape != (x.shape[0], net.arch.n_out):
        raise ValueError(f"d must have shape ({x.shape[0]}, {net.arch.n_out}) like x, got {d.shape}")
    return x, d


def backprop_step(net: RNN, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Backpropagation through one step: ``dy = dL/dy(t)`` from outside the step (not modified);
    returns ``delta = dL/dnet(t)``, the same-step connections to earlier units included."""
    a = net.arch
    dy = dy.copy()
    delta = np.zeros(a.n_units)
    W_now = net.W[:, a.cols_now]
    for i in range(a.n_units - 1, -1, -1):
        delta[i] = y[i] * (1.0 - y[i]) * dy[i]
        dy += delta[i] * W_now[i]            # W[i, now_j] = 0 for j >= i
    return delta


def output_error(net: RNN, y: np.ndarray, d_t: np.ndarray) -> np.ndarray:
    """``dE(t)/dy(t)`` for all units: ``y_k - d_k`` at outputs with a target, 0 elsewhere."""
    e = np.zeros(net.arch.n_units)
    has = ~np.isnan(d_t)
    e[net.arch.rows_out] = np.where(has, y[net.arch.rows_out] - np.where(has, d_t, 0.0), 0.0)
    return e


def rnn_gradient(net: RNN, x, d) -> np.ndarray:
    """Exact gradient ``dL/dW`` of the sequence loss (shape of ``net.W``, 0 on absent weights), by
    full BPTT in plain NumPy. ``x``: ``(T, n_in)``; ``d``: ``(T, n_out)``, NaN = no target."""
    x, d = _check_sequence(net, x, d)
    a = net.arch
    # ---- forward, recording the sources z(t) and activations y(t) ----
    zs, ys = [], []
    y_prev = np.zeros(a.n_units)
    with np.errstate(over="ignore"):
        for t in range(x.shape[0]):
            o = step(net, x[t], y_prev)
            zs.append(o.z)
            ys.append(o.y)
            y_prev = o.y
    # ---- backward ----
    dW = np.zeros_like(net.W)
    dy_rec = np.zeros(a.n_units)
    for t in range(x.shape[0] - 1, -1, -1):
        delta = backprop_step(net, ys[t], dy_rec + output_error(net, ys[t], d[t]))
        dW += np.outer(delta, zs[t])
        dy_rec = net.W[:, a.cols_prev].T @ delta
    return np.where(net.mask, dW, 0.0)


@dataclass
class BPTTRNNState:
    """Counters of what a :class:`BPTTRNN` learner has trained on."""

    sequences: int = 0
    steps: int = 0


@dataclass(frozen=True)
class BPTTRNN:
    """Full (untruncated) BPTT, online per sequence: for every sequence of a batch, in order, the
    exact gradient of its loss at the current weights, applied as ``W -= lr * grad`` at its end.

    backend : ``"numba"`` (compiled kernel) or ``"numpy"`` (:func:`rnn_gradient` per sequence).
    """

    lr: float
    backend: str = "numba"

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if self.backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {self.backend!r}")

    def init(self, net: RNN) -> BPTTRNNState:
        return BPTTRNNState()

    def update(self, net: RNN, state: BPTTRNNState, batch: Batch) -> np.ndarray:
        """Train ``net`` in place on every sequence of ``batch`` in order. Returns the outputs
        ``(batch.n_steps, n_out)`` (sequence i computed with the weights left by sequence i-1).
        Raises :class:`DivergenceError` naming the sequence if a weight becomes NaN or inf."""
        return train_online(net, state, BPTTRNNState, batch, float(self.lr), self.backend, "rnn_bptt",
                            _reference_update)


def _reference_update(net: RNN, batch: Batch, lr: float, Y: np.ndarray) -> int:
    """Full BPTT in plain NumPy, one update per sequence. Returns the first diverged sequence or -1."""
    for i in range(len(batch)):
        x, d = batch[i]
        Y[batch.offsets[i]:batch.offsets[i + 1]] = forward(net, x)
        net.W -= lr * rnn_gradient(net, x, d)
        if not net.is_finite():
            return i
    return -1


def train_online(net: RNN, state, state_type: type, batch: Batch, lr: float, backend: str, kernel: str,
                 reference) -> np.ndarray:
    """What BPTT and Elman updates share: check the batch and state, run the kernel ``kernel`` of
    ``_kernels.rnn`` (or ``reference(net, batch, lr, Y)``), count, and raise on divergence."""
    _check_rnn_batch(net, batch)
    if not isinstance(state, state_type):
        raise TypeError(f"expected a {state_type.__name__} (call init(net)), got {type(state).__name__}")
    Y = np.empty((batch.n_steps, net.arch.n_out))
    with np.errstate(over="ignore", invalid="ignore"):   # divergence is reported below
        if backend == "numba":
            from .._kernels import rnn as kernels

            args = _kernel_args(net, batch)
            D, offsets = batch._kernel_arrays()[3:]      # the batch's own (checked by _check_rnn_batch)
            bad = getattr(kernels, kernel)(*args, D, offsets, Y, lr)
            _store_weights(net, args[0])
        else:
            bad = reference(net, batch, lr, Y)
    advance_counters(state, batch, bad)
    return Y
