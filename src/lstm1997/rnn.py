"""Conventional recurrent nets of logistic units, the paper's baselines, as data plus one time step.

The baselines of Table 1 (RTRL of Smith & Zipser, ELM of Cleeremans et al.) and Table 2 (RTRL and
BPTT with one self-recurrent hidden unit) are nets of logistic units without memory cells
(paper-spec §1.5 end, §5.1, §5.2, §7). One class describes all of them:

* ``N = hidden + n_out`` units, ordered ``[hidden units..., output units...]``;
* unit ``i`` at step ``t`` has the net input ``net_i(t) = sum_j W[i, j] z_j(t)`` over the sources
  ``z(t) = [x(t) (n_in) | y(t-1) (N) | y(t) (N) | 1]``: the inputs, every unit at the previous step
  (recurrent connections), every unit at the same step (feed-forward connections; only from units
  EARLIER in the order, so a step is computed unit by unit in order) and a bias;
* ``y_i(t) = f(net_i(t))``, ``f`` the logistic sigmoid, for every unit (outputs included);
* ``y(t-1) = 0`` at every sequence start (spec §1.4).

``W`` has shape ``(N, n_in + 2N + 1)``; the architecture's ``kind`` says which connections exist
(a boolean mask of the same shape). Absent connections hold exactly 0 and are never trained.

================  ==============================================================================
``"layered"``     Table 2 (spec §5.2): hidden units see x(t) and hidden(t-1) (one hidden unit is
                  self-recurrent); outputs see x(t) and hidden(t), no recurrence. "Each layer is
                  connected to all layers below".
``"full"``        Table 1's RTRL (Smith & Zipser 1989): every unit, hidden and output, sees x(t)
                  and every unit at t-1; no same-step connections.
``"elman"``       Table 1's ELM (Cleeremans et al. 1989): hidden units see x(t) and the context
                  hidden(t-1); outputs see hidden(t) only.
================  ==============================================================================
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import numpy as np

from .network import _check_batch, _input_args, _sigmoid

__all__ = [
    "KINDS",
    "RNN",
    "RNNArchitecture",
    "RNNStep",
    "forward",
    "init_rnn",
    "predict_rnn",
    "sequence_loss",
    "step",
]

#: The connectivity patterns ``RNNArchitecture.kind`` may name, with what each unit sees.
KINDS = {
    "layered": "hidden units see x(t) and hidden(t-1); outputs see x(t) and hidden(t) (Table 2)",
    "full": "every unit sees x(t) and every unit at t-1 (Table 1 RTRL)",
    "full-now": "every unit sees x(t) and every unit at t-1; outputs also see hidden(t), the 1997 timing "
                "(random weight guessing, D34)",
    "elman": "hidden units see x(t) and the context hidden(t-1); outputs see hidden(t) (Table 1 ELM)",
}


@dataclass(frozen=True)
class RNNArchitecture:
    """Everything about a conventional recurrent net except its weights.

    Parameters
    ----------
    n_in, n_out : number of input units and of (logistic) output units.
    hidden : number of (logistic) hidden units, at least 1.
    kind : ``"layered"``, ``"full"``, ``"full-now"`` or ``"elman"``, which connections exist (see
        :data:`KINDS`).
    bias : whether every unit (hidden and output) has a bias weight.
    init_range : initial weights are uniform in ``[-init_range, init_range]``.
    """

    n_in: int
    n_out: int
    hidden: int
    kind: str
    bias: bool = False
    init_range: float = 0.1

    def __post_init__(self) -> None:
        for name in ("n_in", "n_out", "hidden"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
            object.__setattr__(self, name, int(v))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if not isinstance(self.bias, (bool, np.bool_)):
            raise ValueError(f"bias must be True or False, got {self.bias!r}")
        object.__setattr__(self, "bias", bool(self.bias))
        if not (isinstance(self.init_range, (int, float, np.floating)) and not isinstance(self.init_range, bool)
                and np.isfinite(self.init_range) and self.init_range >= 0):
            raise ValueError(f"init_range must be finite and >= 0, got {self.init_range!r}")

    # ---- sizes, rows and columns ------------------------------------------------------------
    @property
    def n_units(self) -> int:
        """Hidden plus output units, ``N``."""
        return self.hidden + self.n_out

    @property
    def n_src(self) -> int:
        """Columns of ``W``: inputs, units at t-1, units at t, bias."""
        return self.n_in + 2 * self.n_units + 1

    @property
    def rows_hidden(self) -> slice:
        return slice(0, self.hidden)

    @property
    def rows_out(self) -> slice:
        return slice(self.hidden, self.n_units)

    @property
    def cols_in(self) -> slice:
        """Columns reading the inputs x(t)."""
        return slice(0, self.n_in)

    @property
    def cols_prev(self) -> slice:
        """Columns reading the units at the previous step, y(t-1) (recurrent connections)."""
        return slice(self.n_in, self.n_in + self.n_units)

    @property
    def cols_now(self) -> slice:
        """Columns reading the units at the same step, y(t) (feed-forward connections)."""
        return slice(self.n_in + self.n_units, self.n_in + 2 * self.n_units)

    @property
    def col_bias(self) -> int:
        return self.n_src - 1

    # ---- connectivity -------------------------------------------------------------------------
    def mask(self) -> np.ndarray:
        """Boolean ``(N, n_src)``: which weights exist for this ``kind``."""
        H, N = self.hidden, self.n_units
        m = np.zeros((N, self.n_src), dtype=bool)
        prev = m[:, self.cols_prev]
        now = m[:, self.cols_now]
        if self.kind in ("full", "full-now"):
            m[:, self.cols_in] = True
            prev[:, :] = True
            if self.kind == "full-now":
                now[H:, :H] = True           # hidden(t) -> outputs(t)
        else:
            m[:H, self.cols_in] = True
            prev[:H, :H] = True              # hidden(t-1) -> hidden(t); the Elman context
            now[H:, :H] = True               # hidden(t) -> outputs(t)
            if self.kind == "layered":
                m[H:, self.cols_in] = True   # outputs also see the inputs
        m[:, self.col_bias] = self.bias
        return m

    @property
    def n_weights(self) -> int:
        """Number of trainable weights (the paper's "# weights")."""
        return int(self.mask().sum())

    # ---- (de)serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RNNArchitecture:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown architecture field(s): {sorted(unknown)}")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def describe(self) -> str:
        """One line for humans."""
        return (f"{self.n_in} input(s), {self.hidden} hidden, {self.n_out} output(s), kind {self.kind!r} "
                f"({KINDS[self.kind]}), {'bias on every unit' if self.bias else 'no bias'}, "
                f"{self.n_weights} weights")


class RNN:
    """A conventional recurrent net: an :class:`RNNArchitecture` and its weights ``W`` (float64,
    ``(N, n_in + 2N + 1)``, updated in place by the learners).

    ``mask`` (optional) makes only a subset of the architecture's connections present and trainable
    (default: all of them); absent weights must be exactly 0.
    """

    __slots__ = ("W", "_mask", "_plan", "arch")

    def __init__(self, arch: RNNArchitecture, W: np.ndarray, mask: np.ndarray | None = None):
        if not isinstance(arch, RNNArchitecture):
            raise TypeError(f"arch must be an RNNArchitecture, got {type(arch).__name__}")
        self.arch = arch
        shape = (arch.n_units, arch.n_src)
        if not isinstance(W, np.ndarray) or W.shape != shape:
            got = getattr(W, "shape", type(W).__name__)
            raise ValueError(f"W must have shape {shape} for this architecture, got {got}")
        self.W = np.ascontiguousarray(W, dtype=np.float64)
        full = arch.mask()
        m = full if mask is None else np.asarray(mask)
        if m.dtype != np.bool_ or m.shape != shape:
            raise ValueError(f"mask must be a boolean array of shape {shape}")
        if np.any(m & ~full):
            raise ValueError("mask enables connections the architecture does not have")
        self._mask = m.copy()
        self._mask.flags.writeable = False
        if np.any(self.W[~m] != 0.0):
            raise ValueError("W has non-zero weights on absent connections")
        self._plan = None

    def __repr__(self) -> str:
        return f"RNN({self.arch.describe()}; {self.n_weights} present)"

    @property
    def mask(self) -> np.ndarray:
        """Boolean ``(N, n_src)``, read-only: which weights are present (and trained)."""
        return self._mask

    @property
    def n_weights(self) -> int:
        return int(self._mask.sum())

    def arrays(self) -> dict:
        """The arrays that, with :attr:`arch`, make this net: ``RNN(net.arch, **net.arrays())``
        (the arrays themselves, not copies)."""
        return {"W": self.W, "mask": self._mask}

    @property
    def w_hidden(self) -> np.ndarray:
        """Hidden-unit weights, shape ``(hidden, n_src)`` (a view)."""
        return self.W[self.arch.rows_hidden]

    @property
    def w_out(self) -> np.ndarray:
        """Output-unit weights, shape ``(n_out, n_src)`` (a view)."""
        return self.W[self.arch.rows_out]

    def copy(self) -> RNN:
        return RNN(self.arch, self.W.copy(), self._mask)

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.W).all())


def init_rnn(arch: RNNArchitecture, rng: np.random.Generator) -> RNN:
    """Every existing weight uniform in ``[-init_range, init_range]``, absent ones 0."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (no global RNG is used)")
    r = arch.init_range
    W = rng.uniform(-r, r, size=(arch.n_units, arch.n_src)) * arch.mask()
    return RNN(arch, W + 0.0)   # "+ 0.0" turns -0.0 into 0.0


# ---- one time step (plain NumPy; the readable definition the kernels are tested against) ----

class RNNStep(NamedTuple):
    """What one time step computes."""

    z: np.ndarray   # the sources [x(t), y(t-1), y(t), 1] (y(t) filled in as computed)
    y: np.ndarray   # (N,) activations y(t) of all units, [hidden, outputs]


def step(net: RNN, x_t: np.ndarray, y_prev: np.ndarray) -> RNNStep:
    """One time step: units in order, each from x(t), y(t-1), the earlier units' y(t) and the bias."""
    a = net.arch
    N, c_now = a.n_units, a.cols_now.start
    z = np.concatenate([x_t, y_prev, np.zeros(N), [1.0]])
    for i in range(N):
        z[c_now + i] = _sigmoid(net.W[i] @ z)   # W[i, now_j] = 0 for j >= i
    return RNNStep(z, z[a.cols_now].copy())


def _check_x(net: RNN, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != net.arch.n_in:
        raise ValueError(f"x must have shape (T, {net.arch.n_in}), got {x.shape}")
    return x


def forward(net: RNN, x: np.ndarray, return_hidden: bool = False):
    """Run the net over one sequence ``x`` ``(T, n_in)`` from the reset state (plain NumPy).

    Returns the outputs ``(T, n_out)``, or with ``return_hidden=True`` the pair
    ``(outputs, hidden activations (T, hidden))``. For many sequences use :func:`predict_rnn`.
    """
    x = _check_x(net, x)
    a = net.arch
    ys = np.zeros((x.shape[0], a.n_units))
    y_prev = np.zeros(a.n_units)
    with np.errstate(over="ignore"):
        for t in range(x.shape[0]):
            y_prev = ys[t] = step(net, x[t], y_prev).y
    out = ys[:, a.rows_out]
    return (out, ys[:, a.rows_hidden]) if return_hidden else out


def sequence_loss(net: RNN, x, d) -> float:
    """``1/2 sum_t sum_k (d_k(t) - y_k(t))^2`` over the present (non-NaN) targets of one sequence."""
    y = forward(net, x)
    d = np.asarray(d, dtype=np.float64)
    if d.shape != y.shape:
        raise ValueError(f"d must have shape {y.shape} like the outputs, got {d.shape}")
    has = ~np.isnan(d)
    return 0.5 * float(np.sum((d[has] - y[has]) ** 2))


# ---- many sequences at compiled speed -------------------------------------------------------

class _Plan(NamedTuple):
    """The present weights in compressed row order, as the kernels read them.

    The kernels hold the present weights as a flat vector ``wf = W[mask]`` (row-major). Row ``i``
    owns ``wf[ptr[i]:ptr[i+1]]``, reading the source columns ``cols[...]`` (ascending); its input
    part ends at ``pp[i]``, its y(t-1) part at ``pn[i]``, its y(t) part at ``pb[i]`` (then the bias).
    ``widx[i, m]`` is the flat index of input weight ``(i, m)`` (-1 if absent), for one-hot inputs.
    ``rec``: units whose y(t-1) is read by some unit (the recurrent units); ``infl``: units whose
    weights can influence a recurrent unit (the recurrent units and every unit with a path to one);
    ``segs``: ``(n, 2)`` the weights of the ``infl`` rows as contiguous ranges ``[lo, hi)`` of ``wf``.
    """

    cols: np.ndarray
    ptr: np.ndarray
    pp: np.ndarray
    pn: np.ndarray
    pb: np.ndarray
    widx: np.ndarray
    rec: np.ndarray
    infl: np.ndarray
    segs: np.ndarray


def _plan(net: RNN) -> _Plan:
    if net._plan is not None:
        return net._plan
    a, m = net.arch, net.mask
    N, n_in = a.n_units, a.n_in
    rows, cols = np.nonzero(m)
    ptr = np.concatenate([[0], np.cumsum(m.sum(axis=1))]).astype(np.int64)
    below = np.cumsum(m, axis=1)          # below[i, c] = present columns <= c in row i
    pp = ptr[:-1] + below[:, n_in - 1]
    pn = ptr[:-1] + below[:, n_in + N - 1]
    pb = ptr[:-1] + below[:, n_in + 2 * N - 1]
    widx = np.full((N, n_in), -1, dtype=np.int64)
    flat = np.arange(rows.size, dtype=np.int64)
    sel = cols < n_in
    widx[rows[sel], cols[sel]] = flat[sel]
    feeds = m[:, a.cols_prev] | m[:, a.cols_now]      # feeds[i, j]: unit j's output reaches unit i
    rec = np.nonzero(m[:, a.cols_prev].any(axis=0))[0]
    infl = np.zeros(N, dtype=bool)
    infl[rec] = True
    while True:                                       # add every unit feeding an influencing unit
        grown = infl | feeds[infl].any(axis=0)
        if np.array_equal(grown, infl):
            break
        infl = grown
    segs: list[list[int]] = []
    for i in np.nonzero(infl)[0]:
        if segs and segs[-1][1] == ptr[i]:
            segs[-1][1] = int(ptr[i + 1])
        else:
            segs.append([int(ptr[i]), int(ptr[i + 1])])
    net._plan = _Plan(cols.astype(np.int64), ptr, pp.astype(np.int64), pn.astype(np.int64),
                      pb.astype(np.int64), widx, rec.astype(np.int64), np.nonzero(infl)[0].astype(np.int64),
                      np.array(segs, dtype=np.int64).reshape(-1, 2))
    return net._plan


def _check_rnn_batch(net: RNN, batch) -> None:
    if not isinstance(net, RNN):
        raise TypeError(f"expected a lstm1997.rnn.RNN, got {type(net).__name__}")
    _check_batch(net, batch)


def _check_lr(lr) -> None:
    if not (isinstance(lr, (int, float, np.floating)) and not isinstance(lr, bool) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive finite number, got {lr!r}")


def _kernel_args(net: RNN, batch) -> tuple:
    """The arguments every RNN kernel starts with: flat weights, the plan, sizes, the batch inputs."""
    p = _plan(net)
    a = net.arch
    wf = net.W[net.mask]
    return (wf, p.cols, p.ptr, p.pp, p.pn, p.pb, p.widx, a.n_units, a.n_in, a.n_out, *_input_args(batch))


def _store_weights(net: RNN, wf: np.ndarray) -> None:
    net.W[net.mask] = wf


def predict_rnn(net: RNN, batch) -> np.ndarray:
    """Outputs of every step of every sequence of ``batch``, shape ``(steps, n_out)`` (compiled
    kernel; weights unchanged). Targets in the batch are ignored."""
    from ._kernels.rnn import rnn_forward

    _check_rnn_batch(net, batch)
    Y = np.empty((batch.n_steps, net.arch.n_out))
    with np.errstate(over="ignore", invalid="ignore"):     # only matters with NUMBA_DISABLE_JIT=1
        rnn_forward(*_kernel_args(net, batch), batch._kernel_arrays()[4], Y)    # the batch's own offsets
    return Y
