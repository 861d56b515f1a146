r"""Elman training of a simple recurrent net (the ELM baseline of Table 1, Cleeremans et al. 1989;
paper-spec §5.1, §7).

At every step ``t`` with a target the hidden activations of the previous step, the *context*
``y(t-1)``, are a fixed input: the error ``E(t) = 1/2 sum_k (d_k(t) - y_k(t))^2`` is backpropagated
through step t only (outputs to hidden units through the same-step connections) and stops at the
context. The update ``dW = -lr dE(t)/dW`` (with ``y(t-1)`` held fixed) is applied at once, so later
steps of the sequence run with the new weights; the context is then the forward value ``y(t)``.
Works for any ``kind`` of :class:`~lstm1997.rnn.RNNArchitecture`; Elman's net is ``kind="elman"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batch import Batch
from ..rnn import RNN, _check_lr, step
from .bptt_rnn import backprop_step, output_error, train_online
from .truncated_rtrl import DivergenceError  # noqa: F401  (DivergenceError: documented here)

__all__ = ["Elman", "ElmanState"]


@dataclass
class ElmanState:
    """Counters of what an :class:`Elman` learner has trained on."""

    sequences: int = 0
    steps: int = 0


@dataclass(frozen=True)
class Elman:
    """Elman's one-step backpropagation with the context as a fixed input, applied at every step.

    backend : ``"numba"`` (compiled kernel) or ``"numpy"`` (a slow, obvious reference of the same rule).
    """

    lr: float
    backend: str = "numba"

    def __post_init__(self) -> None:
        _check_lr(self.lr)
        if self.backend not in ("numba", "numpy"):
            raise ValueError(f"backend must be 'numba' or 'numpy', got {self.backend!r}")

    def init(self, net: RNN) -> ElmanState:
        return ElmanState()

    def update(self, net: RNN, state: ElmanState, batch: Batch) -> np.ndarray:
        """Train ``net`` in place, online, on every sequence of ``batch`` in order. Returns the outputs
        ``(batch.n_steps, n_out)``, each computed before that step's update. Raises
        :class:`DivergenceError` naming the sequence if a weight becomes NaN or inf."""
        return train_online(net, state, ElmanState, batch, float(self.lr), self.backend, "rnn_elman",
                            _reference_update)


def _reference_update(net: RNN, batch: Batch, lr: float, Y: np.ndarray) -> int:
    """The rule in plain NumPy, one step at a time. Returns the first diverged sequence or -1."""
    a = net.arch
    for i in range(len(batch)):
        x, d = batch[i]
        context = np.zeros(a.n_units)                    # y(t-1), reset at the sequence start
        for t in range(x.shape[0]):
            o = step(net, x[t], context)
            Y[batch.offsets[i] + t] = o.y[a.rows_out]
            if not np.isnan(d[t]).all():
                delta = backprop_step(net, o.y, output_error(net, o.y, d[t]))   # stops at the context
                net.W -= lr * np.where(net.mask, np.outer(delta, o.z), 0.0)
            context = o.y                                # the forward value, not recomputed
        if not net.is_finite():
            return i
    return -1
