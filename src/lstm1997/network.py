"""The 1997 LSTM network as data plus one time step (paper-spec §1).

Symbols (ASCII versions of the paper's, Hochreiter & Schmidhuber 1997, Section 4 and Appendix A.1):

==========  ===================================================================
``C``       number of memory cell blocks
``S``       cells per block (block size)
``K``       number of output units
``y_in``    input-gate activations, one per block, ``f(net_in)``
``y_out``   output-gate activations, one per block, ``f(net_out)`` (1 if the
            architecture has no output gates)
``net_c``   cell-input net inputs, one per cell
``s_c``     cell states (the constant error carousel, self-weight fixed at 1.0):
            ``s_c(t) = s_c(t-1) + y_in(t) * g(net_c(t))``
``y_c``     cell outputs ``y_out * h(s_c)``
``y_k``     output activations ``f(net_k)``
``y_phi``   forget-gate activations, one per block, ``f(net_phi)`` (only with
            ``forget_gate``; the 1997 cell has none: ``y_phi = 1``)
==========  ===================================================================

Layout of the weights (dense arrays; absent connections are held at exactly 0 and
are never trained, see the masks):

* ``W_h`` (hidden-unit weights), one row per hidden unit, in the order
  ``[input gates (C) | output gates (C, if present) | forget gates (C, if present) |
  cells (C*S, block-major) | conventional hidden units (H)]``; one column per source unit,
  in the order ``[inputs x(t) (n_in) | hidden units y(t-1), same order as the rows | bias (+1)]``.
* ``W_k`` (output weights), one row per output unit; columns
  ``[inputs x(t) (only if outputs see inputs) | cells y_c(t) | hidden units (t) | bias]``.
* ``W_p`` (peephole weights, only with ``peepholes``; shape ``(0, C*S)`` otherwise), one row per
  kind of gate present, in the order ``[input gates | output gates (if present) | forget gates (if
  present)]``, one column per cell (block-major): ``W_p[r, j*S + v]`` is the weight from the state
  of cell ``v`` of block ``j`` to block ``j``'s gate of kind ``r``.

A 1997 net (no forget gate, no peepholes) has exactly the layout it always had.

The later cell variants (options of :class:`Architecture`, both off by default)::

    forget gate (Gers, Schmidhuber & Cummins 2000, "Learning to forget"):
        y_phi(t) = f(net_phi(t)),  net_phi from the same sources as net_in (and its own bias)
        s_c(t)   = y_phi(t) s_c(t-1) + y_in(t) g(net_c(t))
    peepholes (Gers, Schraudolph & Schmidhuber 2002, "Learning precise timing with LSTM"):
        net_in_j(t)  += sum_v W_p[in, jv]  s_jv(t-1)       net_phi_j(t) += sum_v W_p[phi, jv] s_jv(t-1)
        net_out_j(t) += sum_v W_p[out, jv] s_jv(t)         (the state just computed in this step)

Timing inside a step (spec §1.3, reading 3): hidden units are updated synchronously
from ``x(t)``, ``y_hidden(t-1)`` and the bias; outputs read the *current* cell
outputs ``y_c(t)``. All activations and states are 0 at the start of a sequence.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import numpy as np

__all__ = ["Architecture", "LSTM", "StepOutput", "init", "step", "forward", "predict", "UNIT_CLASSES",
           "recommended_forget_gate_bias"]

#: Unit classes that may carry a bias weight (a weight from a constant +1 unit). ``"forget_gate"`` only
#: exists in an architecture with forget gates (it is dropped from ``bias`` otherwise, like ``"out_gate"``
#: without output gates).
UNIT_CLASSES = ("in_gate", "out_gate", "forget_gate", "cell", "hidden", "output")

#: the fields of the cell variants; left out of :meth:`Architecture.to_dict` at their defaults, so that a
#: 1997 architecture serialises exactly as it always did
_VARIANT_DEFAULTS = {"forget_gate": False, "peepholes": False, "forget_gate_bias": None}


def recommended_forget_gate_bias(blocks: int) -> tuple[float, ...]:
    """The forget-gate biases Gers, Schmidhuber & Cummins (2000) initialised their nets with: positive and
    growing block by block, ``+0.5, +1.0, +1.5, ...`` (block ``j`` gets ``0.5 (j + 1)``), mirroring the
    negative input- and output-gate biases ``-0.5, -1.0, -1.5, ...`` of the same nets (their Section 4,
    continual embedded Reber grammar, 4 blocks: ``+0.5 ... +2.0``). A positive bias keeps the forget gate
    open (``y_phi`` near 1) at the start, so the cell first behaves like the 1997 CEC and learns to forget
    later. See docs/decisions.md, D40."""
    if not isinstance(blocks, (int, np.integer)) or isinstance(blocks, bool) or blocks < 1:
        raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
    return tuple(0.5 * (j + 1) for j in range(int(blocks)))

_G_CHOICES = {"g2": "4*sigmoid(x) - 2, range [-2, 2] (eq. 5)", "g1": "sigmoid(x), range [0, 1]"}
_H_CHOICES = {"h1": "2*sigmoid(x) - 1, range [-1, 1] (eq. 4)", "id": "identity"}


@dataclass(frozen=True)
class Architecture:
    """Everything about a 1997 LSTM except its weights.

    Parameters
    ----------
    n_in, n_out : number of input units and output units (``K``).
    blocks : number of memory cell blocks ``C``.
    cells : block size ``S`` (cells sharing one input and one output gate).
    hidden : conventional (logistic) hidden units; none of the paper's LSTM nets has any.
    connectivity : ``"F"`` (cells, gates and hidden units see the inputs and every hidden
        unit at t-1; used everywhere but Exp. 2a/2b) or ``"B"`` (hidden units see the inputs
        only; Exp. 2a/2b). Spec §1.5.
    output_gates : whether each block has an output gate (not in Exp. 2a/2b).
    outputs_see_inputs : whether output units receive the inputs directly (only 2a/2b).
    bias : which unit classes carry a bias, a subset of ``UNIT_CLASSES``.
    g, h : squashing of the cell input (``"g2"`` in [-2,2] or ``"g1"`` in [0,1]) and of the
        cell output (``"h1"`` in [-1,1] or ``"id"``). Spec §1.1.
    init_range : initial weights are uniform in ``[-init_range, init_range]``.
    in_gate_bias, out_gate_bias : per-block initial gate-bias values overriding the random
        draw (``None``: random like every other weight). Spec §1.6, Table 10.
    forget_gate : a forget gate per block (Gers, Schmidhuber & Cummins 2000; not in the 1997 paper):
        ``s_c(t) = y_phi(t) s_c(t-1) + y_in(t) g(net_c(t))``; a logistic unit with the sources of the
        input gate (connectivity F or B as for the gates) and a bias if ``"forget_gate"`` is in ``bias``.
    peepholes : peephole connections (Gers, Schraudolph & Schmidhuber 2002; not in the 1997 paper): every
        gate of a block sees the block's cell states, one weight per (gate, cell); the input and forget
        gates see ``s_c(t-1)``, the output gate (if any) ``s_c(t)``. Initialised like every other weight.
    forget_gate_bias : per-block initial forget-gate biases overriding the random draw (``None``: random
        like every other weight). The values of the forget gate's authors, ``+0.5, +1.0, +1.5, ...``, are
        :func:`recommended_forget_gate_bias`; :meth:`with_variant` uses them by default (D40).

    With ``forget_gate`` and ``peepholes`` off (the default) this is the 1997 cell, unchanged.
    """

    n_in: int
    n_out: int
    blocks: int
    cells: int = 1
    hidden: int = 0
    connectivity: str = "F"
    output_gates: bool = True
    outputs_see_inputs: bool = False
    bias: tuple[str, ...] = UNIT_CLASSES
    g: str = "g2"
    h: str = "h1"
    init_range: float = 0.1
    in_gate_bias: tuple[float, ...] | None = None
    out_gate_bias: tuple[float, ...] | None = None
    forget_gate: bool = False
    peepholes: bool = False
    forget_gate_bias: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("forget_gate", "peepholes"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))
        for name in ("n_in", "n_out", "blocks", "cells"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.hidden, (int, np.integer)) or self.hidden < 0:
            raise ValueError(f"hidden must be a non-negative integer, got {self.hidden!r}")
        if self.connectivity not in ("F", "B"):
            raise ValueError(f"connectivity must be 'F' or 'B', got {self.connectivity!r}")
        bias = tuple(self.bias)
        unknown = [b for b in bias if b not in UNIT_CLASSES]
        if unknown:
            raise ValueError(f"unknown bias unit class(es) {unknown}; choose from {UNIT_CLASSES}")
        # canonical order, so that equal architectures compare and serialise equal
        object.__setattr__(self, "bias", tuple(b for b in UNIT_CLASSES if b in bias))
        if self.g not in _G_CHOICES:
            raise ValueError(f"g must be one of {sorted(_G_CHOICES)}, got {self.g!r}")
        if self.h not in _H_CHOICES:
            raise ValueError(f"h must be one of {sorted(_H_CHOICES)}, got {self.h!r}")
        if not (np.isfinite(self.init_range) and self.init_range >= 0):
            raise ValueError(f"init_range must be finite and >= 0, got {self.init_range!r}")
        if not self.forget_gate:    # like "out_gate" without output gates: no such units, no such bias
            object.__setattr__(self, "bias", tuple(b for b in self.bias if b != "forget_gate"))
        for name, present in (("in_gate_bias", True), ("out_gate_bias", self.output_gates),
                              ("forget_gate_bias", self.forget_gate)):
            v = getattr(self, name)
            if v is None:
                continue
            v = tuple(float(b) for b in v)
            object.__setattr__(self, name, v)
            if not present:
                what = "output gates" if name == "out_gate_bias" else "forget gates (forget_gate=False)"
                raise ValueError(f"{name} given but the architecture has no {what}")
            kind = name[: -len("_bias")]
            if kind not in self.bias:
                raise ValueError(f"{name} given but {kind!r} units carry no bias")
            if len(v) != self.blocks:
                raise ValueError(f"{name} needs one value per block ({self.blocks}), got {len(v)}")
            if not all(np.isfinite(v)):
                raise ValueError(f"{name} values must be finite, got {v}")
        if "out_gate" in self.bias and not self.output_gates:
            object.__setattr__(self, "bias", tuple(b for b in self.bias if b != "out_gate"))

    # ---- sizes -------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """Number of memory cells, ``C*S``."""
        return self.blocks * self.cells

    @property
    def n_out_gates(self) -> int:
        return self.blocks if self.output_gates else 0

    @property
    def n_forget_gates(self) -> int:
        return self.blocks if self.forget_gate else 0

    @property
    def is_1997(self) -> bool:
        """Whether this is the 1997 cell (no forget gate, no peepholes)."""
        return not (self.forget_gate or self.peepholes)

    @property
    def n_hidden(self) -> int:
        """Hidden units: input gates + output gates + forget gates + cells + conventional hidden units."""
        return self.blocks + self.n_out_gates + self.n_forget_gates + self.n_cells + self.hidden

    @property
    def peephole_gates(self) -> tuple[str, ...]:
        """The kinds of gate with peepholes, in the row order of ``W_p`` (empty without peepholes)."""
        if not self.peepholes:
            return ()
        return ("in_gate",) + (("out_gate",) if self.output_gates else ()) + \
            (("forget_gate",) if self.forget_gate else ())

    @property
    def n_src(self) -> int:
        """Columns of ``W_h``: inputs, hidden units at t-1, bias."""
        return self.n_in + self.n_hidden + 1

    @property
    def n_osrc(self) -> int:
        """Columns of ``W_k``: inputs (if seen), cells, conventional hidden units, bias."""
        return (self.n_in if self.outputs_see_inputs else 0) + self.n_cells + self.hidden + 1

    # ---- row and column ranges -------------------------------------------------------------
    @property
    def rows_in(self) -> slice:
        return slice(0, self.blocks)

    @property
    def rows_out(self) -> slice:
        return slice(self.blocks, self.blocks + self.n_out_gates)

    @property
    def rows_phi(self) -> slice:
        """Rows of the forget gates in ``W_h`` (empty without forget gates)."""
        a = self.blocks + self.n_out_gates
        return slice(a, a + self.n_forget_gates)

    @property
    def rows_c(self) -> slice:
        a = self.blocks + self.n_out_gates + self.n_forget_gates
        return slice(a, a + self.n_cells)

    @property
    def rows_hidden(self) -> slice:
        a = self.blocks + self.n_out_gates + self.n_forget_gates + self.n_cells
        return slice(a, a + self.hidden)

    # ---- connectivity -----------------------------------------------------------------------
    def mask_h(self) -> np.ndarray:
        """Boolean ``(n_hidden, n_src)``: which hidden-unit weights exist."""
        m = np.zeros((self.n_hidden, self.n_src), dtype=bool)
        m[:, : self.n_in] = True
        if self.connectivity == "F":
            m[:, self.n_in : self.n_in + self.n_hidden] = True
        for kind, rows in (("in_gate", self.rows_in), ("out_gate", self.rows_out),
                           ("forget_gate", self.rows_phi), ("cell", self.rows_c), ("hidden", self.rows_hidden)):
            m[rows, -1] = kind in self.bias
        return m

    def mask_k(self) -> np.ndarray:
        """Boolean ``(n_out, n_osrc)``: which output weights exist (outputs never see gates)."""
        m = np.ones((self.n_out, self.n_osrc), dtype=bool)
        m[:, -1] = "output" in self.bias
        return m

    def mask_p(self) -> np.ndarray:
        """Boolean ``(len(peephole_gates), C*S)``: which peephole weights exist (all of them; zero rows
        without peepholes)."""
        return np.ones((len(self.peephole_gates), self.n_cells), dtype=bool)

    @property
    def n_weights(self) -> int:
        """Number of trainable weights, the paper's "# weights" (CEC self-weights excluded; forget-gate
        and peephole weights included when the architecture has them)."""
        return int(self.mask_h().sum() + self.mask_k().sum() + self.mask_p().sum())

    def with_variant(self, forget_gate: bool = False, peepholes: bool = False,
                     forget_gate_bias="recommended") -> "Architecture":
        """This architecture with the later cell variants switched on or off: ``forget_gate`` (Gers et al.
        2000), ``peepholes`` (Gers et al. 2002). ``forget_gate_bias``: ``"recommended"`` (default) for the
        authors' initial biases, :func:`recommended_forget_gate_bias` (only when forget gates are on and
        carry a bias), ``None`` for random ones like every other weight, or one value per block."""
        from dataclasses import replace

        bias = self.bias
        if forget_gate and "forget_gate" not in bias:
            # the forget gate always carries its bias, even in a net whose other units have none (Exp. 2c):
            # its authors' positive initial bias keeps it open at the start; unbiased, it would start near 0.5
            # and halve the cell state at every step, which is not the variant they describe (D40)
            bias = bias + ("forget_gate",)
        if isinstance(forget_gate_bias, str):
            if forget_gate_bias != "recommended":
                raise ValueError(f"forget_gate_bias must be 'recommended', None or one value per block, "
                                 f"got {forget_gate_bias!r}")
            forget_gate_bias = (recommended_forget_gate_bias(self.blocks)
                                if forget_gate and "forget_gate" in bias else None)
        return replace(self, forget_gate=forget_gate, peepholes=peepholes, bias=bias,
                       forget_gate_bias=forget_gate_bias)

    # ---- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fields as JSON-ready data; the cell-variant fields only where they differ from their
        defaults (so a 1997 architecture gives exactly the dictionary it gave before they existed)."""
        d = asdict(self)
        d["bias"] = list(self.bias)
        for k in ("in_gate_bias", "out_gate_bias", "forget_gate_bias"):
            if d[k] is not None:
                d[k] = list(d[k])
        for k, v in _VARIANT_DEFAULTS.items():
            if d[k] == v:
                del d[k]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown architecture field(s): {sorted(unknown)}")
        d = dict(d)
        for k in ("bias", "in_gate_bias", "out_gate_bias", "forget_gate_bias"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def describe(self) -> str:
        """One line for humans."""
        bias = [b for b in self.bias if b != "hidden" or self.hidden]
        return (f"{self.n_in} input(s), {self.n_out} output(s), {self.blocks} block(s) of {self.cells} cell(s)"
                + (f", {self.hidden} hidden" if self.hidden else "")
                + f", connectivity {self.connectivity}"
                + ("" if self.output_gates else ", no output gates")
                + (", forget gates" if self.forget_gate else "") + (", peepholes" if self.peepholes else "")
                + f", bias on {'/'.join(bias) or 'nothing'}, g={self.g}, h={self.h}"
                + f", {self.n_weights} weights")


class LSTM:
    """A 1997 LSTM: an :class:`Architecture` and its weights ``W_h``, ``W_k`` (float64), plus the
    peephole weights ``W_p`` of an architecture with peepholes (shape ``(0, C*S)`` otherwise).

    The paper's weight groups are views into ``W_h``: :attr:`w_in` (input gates),
    :attr:`w_out` (output gates), :attr:`w_phi` (forget gates, if any), :attr:`w_c` (cell inputs),
    :attr:`w_hidden`; and :attr:`w_k` (output units) is ``W_k``. Learners update these arrays in place.

    ``mask_h``, ``mask_k``, ``mask_p`` (optional) make only a subset of the architecture's connections
    present and trainable (default: all of them). Sequential network construction (Exp. 2a/2b) starts a
    net without its memory cell this way and adds it later with :meth:`add_connections`.
    """

    __slots__ = ("arch", "W_h", "W_k", "W_p", "_masks", "_mask_p")

    def __init__(self, arch: Architecture, W_h: np.ndarray, W_k: np.ndarray,
                 mask_h: np.ndarray | None = None, mask_k: np.ndarray | None = None,
                 W_p: np.ndarray | None = None, mask_p: np.ndarray | None = None):
        self.arch = a = arch
        p_shape = (len(a.peephole_gates), a.n_cells)
        if W_p is None and not a.peepholes:
            W_p = np.zeros(p_shape)
        for name, w, shape in (("W_h", W_h, (a.n_hidden, a.n_src)), ("W_k", W_k, (a.n_out, a.n_osrc)),
                               ("W_p", W_p, p_shape)):
            if not isinstance(w, np.ndarray) or w.shape != shape:
                got = getattr(w, "shape", type(w).__name__)
                what = " (the peephole weights)" if name == "W_p" else ""
                raise ValueError(f"{name}{what} must have shape {shape} for this architecture, got {got}")
        self.W_h = np.ascontiguousarray(W_h, dtype=np.float64)
        self.W_k = np.ascontiguousarray(W_k, dtype=np.float64)
        self.W_p = np.ascontiguousarray(W_p, dtype=np.float64)
        full = (a.mask_h(), a.mask_k(), a.mask_p())
        masks = []
        for name, m, f in (("mask_h", mask_h, full[0]), ("mask_k", mask_k, full[1]), ("mask_p", mask_p, full[2])):
            if m is None:
                m = f
            m = np.asarray(m)
            if m.dtype != np.bool_ or m.shape != f.shape:
                raise ValueError(f"{name} must be a boolean array of shape {f.shape}")
            if np.any(m & ~f):
                raise ValueError(f"{name} enables connections the architecture does not have")
            masks.append(m.copy())
        self._masks = (masks[0], masks[1], masks[0].astype(np.float64), masks[1].astype(np.float64))
        self._mask_p = (masks[2], masks[2].astype(np.float64))
        for name, w, m in (("W_h", self.W_h, masks[0]), ("W_k", self.W_k, masks[1]), ("W_p", self.W_p, masks[2])):
            if np.any(w[~m] != 0.0):
                raise ValueError(f"{name} has non-zero weights on absent connections")

    def __repr__(self) -> str:
        return f"LSTM({self.arch.describe()}; {self.n_weights} present)"

    @property
    def mask_h(self) -> np.ndarray:
        """Boolean ``(n_hidden, n_src)``: which hidden-unit weights are present (and trained)."""
        return self._masks[0]

    @property
    def mask_k(self) -> np.ndarray:
        """Boolean ``(n_out, n_osrc)``: which output weights are present (and trained)."""
        return self._masks[1]

    @property
    def mask_p(self) -> np.ndarray:
        """Boolean, shaped like ``W_p``: which peephole weights are present (and trained)."""
        return self._mask_p[0]

    @property
    def n_weights(self) -> int:
        """Number of weights present now (the architecture's count once all are present)."""
        return int(self._masks[0].sum() + self._masks[1].sum() + self._mask_p[0].sum())

    def arrays(self) -> dict:
        """The arrays that, with :attr:`arch`, make this net: ``LSTM(net.arch, **net.arrays())``
        (weights first, then masks; the arrays themselves, not copies). ``W_p``, ``mask_p`` only for an
        architecture with peepholes (a 1997 net has exactly the arrays it always had)."""
        out = {"W_h": self.W_h, "W_k": self.W_k, "mask_h": self.mask_h, "mask_k": self.mask_k}
        if self.arch.peepholes:
            out = {"W_h": self.W_h, "W_k": self.W_k, "W_p": self.W_p, "mask_h": self.mask_h,
                   "mask_k": self.mask_k, "mask_p": self.mask_p}
        return out

    def add_connections(self, mask_h: np.ndarray, mask_k: np.ndarray, rng: np.random.Generator,
                        mask_p: np.ndarray | None = None) -> None:
        """Make the connections in ``mask_h``/``mask_k`` (and ``mask_p``, peephole weights) present, with
        weights drawn uniform in ``[-init_range, init_range]`` (gate-bias overrides of the architecture
        applied) for those that were absent. Used for sequential network construction (spec §1.6, §9
        reading 4)."""
        fresh = init(self.arch, rng)
        new_h = np.asarray(mask_h, dtype=bool) & ~self.mask_h
        new_k = np.asarray(mask_k, dtype=bool) & ~self.mask_k
        self.W_h[new_h] = fresh.W_h[new_h]
        self.W_k[new_k] = fresh.W_k[new_k]
        new_p = np.zeros_like(self.mask_p) if mask_p is None else np.asarray(mask_p, dtype=bool) & ~self.mask_p
        self.W_p[new_p] = fresh.W_p[new_p]
        LSTM.__init__(self, self.arch, self.W_h, self.W_k, self.mask_h | new_h, self.mask_k | new_k,
                      self.W_p, self.mask_p | new_p)

    @property
    def w_in(self) -> np.ndarray:
        """Input-gate weights ``w[in_j, m]``, shape ``(C, n_src)`` (a view)."""
        return self.W_h[self.arch.rows_in]

    @property
    def w_out(self) -> np.ndarray:
        """Output-gate weights ``w[out_j, m]``, shape ``(C or 0, n_src)`` (a view)."""
        return self.W_h[self.arch.rows_out]

    @property
    def w_phi(self) -> np.ndarray:
        """Forget-gate weights ``w[phi_j, m]``, shape ``(C or 0, n_src)`` (a view)."""
        return self.W_h[self.arch.rows_phi]

    @property
    def w_c(self) -> np.ndarray:
        """Cell-input weights ``w[c_jv, m]``, shape ``(C*S, n_src)`` (a view)."""
        return self.W_h[self.arch.rows_c]

    @property
    def w_hidden(self) -> np.ndarray:
        """Conventional hidden-unit weights, shape ``(H, n_src)`` (a view)."""
        return self.W_h[self.arch.rows_hidden]

    @property
    def w_k(self) -> np.ndarray:
        """Output-unit weights ``w[k, u]``, shape ``(K, n_osrc)``."""
        return self.W_k

    def copy(self) -> "LSTM":
        return LSTM(self.arch, self.W_h.copy(), self.W_k.copy(), self.mask_h, self.mask_k,
                    self.W_p.copy(), self.mask_p)

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.W_h).all() and np.isfinite(self.W_k).all() and np.isfinite(self.W_p).all())


def init(arch: Architecture, rng: np.random.Generator) -> LSTM:
    """Draw initial weights: every existing weight uniform in ``[-r, r]`` (``r = arch.init_range``),
    then the per-block gate-bias overrides (spec §4, Table 10). Peephole weights (if any) are drawn
    after ``W_h`` and ``W_k``, so those two are what the same seed gives the net without peepholes."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (no global RNG is used)")
    r = arch.init_range
    W_h = rng.uniform(-r, r, size=(arch.n_hidden, arch.n_src)) * arch.mask_h()
    W_k = rng.uniform(-r, r, size=(arch.n_out, arch.n_osrc)) * arch.mask_k()
    if arch.in_gate_bias is not None:
        W_h[arch.rows_in, -1] = arch.in_gate_bias
    if arch.out_gate_bias is not None:
        W_h[arch.rows_out, -1] = arch.out_gate_bias
    if arch.forget_gate_bias is not None:
        W_h[arch.rows_phi, -1] = arch.forget_gate_bias
    W_p = None
    if arch.peepholes:
        W_p = rng.uniform(-r, r, size=(len(arch.peephole_gates), arch.n_cells)) + 0.0
    return LSTM(arch, W_h + 0.0, W_k + 0.0, W_p=W_p)  # "+ 0.0" turns -0.0 into 0.0


# ---- one time step (plain NumPy; the readable definition the kernels are tested against) ----

def _sigmoid(x):
    with np.errstate(over="ignore"):   # exp(-x) = inf for x << 0 gives exactly 0, as in the kernel
        return 1.0 / (1.0 + np.exp(-x))


def squash_g(kind: str, x):
    """Cell-input squashing g and its derivative g'."""
    sg = _sigmoid(x)
    if kind == "g2":
        return 4.0 * sg - 2.0, 4.0 * sg * (1.0 - sg)
    return sg, sg * (1.0 - sg)


def squash_h(kind: str, x):
    """Cell-output squashing h and its derivative h'."""
    if kind == "h1":
        sh = _sigmoid(x)
        return 2.0 * sh - 1.0, 2.0 * sh * (1.0 - sh)
    return x + 0.0, np.ones_like(x)


class StepOutput(NamedTuple):
    """Everything one time step computes (spec §1.2)."""

    z: np.ndarray        # sources of the hidden units: [x(t), y_hidden(t-1), 1]
    zo: np.ndarray       # sources of the output units: [x(t) if seen, y_c(t), y_hidden_conv(t), 1]
    net: np.ndarray      # net inputs of all hidden units
    y_in: np.ndarray     # (C,)
    y_out: np.ndarray    # (C,)  (ones if no output gates)
    net_c: np.ndarray    # (C*S,)
    g_c: np.ndarray      # g(net_c)
    s_c: np.ndarray      # (C*S,) cell states after this step
    h_c: np.ndarray      # h(s_c)
    y_c: np.ndarray      # (C*S,) cell outputs
    y_hid: np.ndarray    # (H,) conventional hidden units
    y_hidden: np.ndarray  # all hidden activations in W_h row order (the next step's recurrent input)
    net_k: np.ndarray    # (K,)
    y_k: np.ndarray      # (K,)
    y_phi: np.ndarray | None = None   # (C,) forget-gate activations (ones if no forget gates)
    s_prev: np.ndarray | None = None  # (C*S,) cell states before this step, s_c(t-1)


def step(net: LSTM, x_t: np.ndarray, y_hidden_prev: np.ndarray, s_prev: np.ndarray) -> StepOutput:
    """One time step of the network (spec §1.2-1.3), in plain NumPy; with the cell variants of the
    architecture (forget gates, peepholes: see the module docstring) where it has them."""
    a = net.arch
    S = a.cells
    z = np.concatenate([x_t, y_hidden_prev, [1.0]])
    netv = net.W_h @ z
    if a.is_1997:
        y_in = _sigmoid(netv[a.rows_in])
        y_out = _sigmoid(netv[a.rows_out]) if a.output_gates else np.ones(a.blocks)
        net_c = netv[a.rows_c]
        g_c, _ = squash_g(a.g, net_c)
        s_c = s_prev + np.repeat(y_in, S) * g_c
        y_phi = np.ones(a.blocks)
    else:
        # peepholes into the input and forget gates: the cell states of the previous step
        Wp = dict(zip(a.peephole_gates, net.W_p))
        if "in_gate" in Wp:
            netv[a.rows_in] += (Wp["in_gate"] * s_prev).reshape(a.blocks, S).sum(axis=1)
        if "forget_gate" in Wp:
            netv[a.rows_phi] += (Wp["forget_gate"] * s_prev).reshape(a.blocks, S).sum(axis=1)
        y_in = _sigmoid(netv[a.rows_in])
        y_phi = _sigmoid(netv[a.rows_phi]) if a.forget_gate else np.ones(a.blocks)
        net_c = netv[a.rows_c]
        g_c, _ = squash_g(a.g, net_c)
        s_c = (np.repeat(y_phi, S) * s_prev if a.forget_gate else s_prev) + np.repeat(y_in, S) * g_c
        # the output gate's peephole sees the state just computed, s_c(t)
        if "out_gate" in Wp:
            netv[a.rows_out] += (Wp["out_gate"] * s_c).reshape(a.blocks, S).sum(axis=1)
        y_out = _sigmoid(netv[a.rows_out]) if a.output_gates else np.ones(a.blocks)
    h_c, _ = squash_h(a.h, s_c)
    y_c = np.repeat(y_out, S) * h_c
    y_hid = _sigmoid(netv[a.rows_hidden])
    y_hidden = np.concatenate([y_in, y_out[: a.n_out_gates], y_phi[: a.n_forget_gates], y_c, y_hid])
    zo = np.concatenate([x_t if a.outputs_see_inputs else np.empty(0), y_c, y_hid, [1.0]])
    net_k = net.W_k @ zo
    y_k = _sigmoid(net_k)
    return StepOutput(z, zo, netv, y_in, y_out, net_c, g_c, s_c, h_c, y_c, y_hid, y_hidden, net_k, y_k,
                      y_phi, s_prev)


def forward(net: LSTM, x: np.ndarray, record: bool = False):
    """Run the network over one sequence ``x`` of shape ``(T, n_in)`` from the reset state.

    Returns the outputs ``y_k`` of shape ``(T, K)``; with ``record=True`` returns a dict of
    per-step arrays ``y_k, y_in, y_out, net_c, s_c, y_c, y_hid`` (and ``y_phi`` with forget gates;
    each ``(T, ...)``) for
    inspection and plots. Plain NumPy; for many sequences use :func:`lstm1997.predict`.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != net.arch.n_in:
        raise ValueError(f"x must have shape (T, {net.arch.n_in}), got {x.shape}")
    y_prev = np.zeros(net.arch.n_hidden)
    s = np.zeros(net.arch.n_cells)
    keys = ("y_k", "y_in", "y_out", "net_c", "s_c", "y_c", "y_hid") + (("y_phi",) if net.arch.forget_gate else ())
    rec: dict[str, list] = {k: [] for k in keys}
    for t in range(x.shape[0]):
        o = step(net, x[t], y_prev, s)
        y_prev, s = o.y_hidden, o.s_c
        for k in rec:
            rec[k].append(getattr(o, k))
    a = net.arch
    width = {"y_k": a.n_out, "y_in": a.blocks, "y_out": a.blocks, "net_c": a.n_cells,
             "s_c": a.n_cells, "y_c": a.n_cells, "y_hid": a.hidden, "y_phi": a.blocks}
    out = {k: np.array(v, dtype=np.float64).reshape(x.shape[0], width[k]) for k, v in rec.items()}
    return out if record else out["y_k"]


# ---- many sequences at compiled speed -------------------------------------------------------

def _run_kernel(net: LSTM, batch, Y: np.ndarray, dS_in: np.ndarray, dS_c: np.ndarray,
                lr: float, learn: bool, per_step: bool, y_mode: int = 0, delta: int = 0,
                variant_traces: tuple | None = None) -> int:
    """Call the compiled kernel on a validated network and batch: ``_kernels/lstm.py: run_lstm`` for the
    1997 cell, ``_kernels/variants.py: run_variant`` for a net with forget gates or peepholes (then
    ``variant_traces`` = ``(dS_phi, dP_in, dP_phi)``, distinct arrays, ``None`` when not learning). ``Y``
    must have the rows ``y_mode`` asks for (0: every step, 1: the steps with a target, 2: none)."""
    a = net.arch
    if not a.is_1997:
        from ._kernels.variants import run_variant

        if variant_traces is None:
            variant_traces = (np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)))
        with np.errstate(over="ignore", invalid="ignore"):     # see below
            return run_variant(net.W_h, net.W_k, net.W_p, net._masks[2], net._masks[3], net._mask_p[1],
                               a.blocks, a.cells, a.hidden, a.n_in, a.output_gates, a.forget_gate, a.peepholes,
                               a.outputs_see_inputs, 0 if a.g == "g2" else 1, 0 if a.h == "h1" else 1,
                               *batch._kernel_arrays(), Y, dS_in, dS_c,
                               *variant_traces, lr, learn, per_step, y_mode, delta)

    from ._kernels.lstm import run_lstm

    # errstate only matters with NUMBA_DISABLE_JIT=1, where the kernel runs as Python on NumPy scalars:
    # exp overflow then gives the same exact 0/inf as compiled code instead of a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        return run_lstm(net.W_h, net.W_k, net._masks[2], net._masks[3],
                        a.blocks, a.cells, a.hidden, a.n_in, a.output_gates, a.outputs_see_inputs,
                        0 if a.g == "g2" else 1, 0 if a.h == "h1" else 1,
                        *batch._kernel_arrays(), Y, dS_in, dS_c, lr, learn, per_step,
                        y_mode, delta)


def _input_args(batch) -> tuple:
    """``(X, sym, use_sym)`` for the kernel: dense inputs, or symbol indices of a one-hot batch (the batch's
    own arrays, :meth:`Batch._kernel_arrays`; call :func:`_check_batch` first)."""
    return batch._kernel_arrays()[:3]


def _check_batch(net: LSTM, batch) -> None:
    """The gate of every kernel call on a batch (LSTM, lanes, baseline RNN): its type, its sizes against
    the net's, and :meth:`Batch.check`, which checks again every invariant the kernel relies on (offsets,
    symbols, shapes), however the batch was made. O(sequences) (+ O(steps) vectorised for symbols)."""
    from .batch import Batch

    if not isinstance(batch, Batch):
        raise TypeError(f"expected a lstm1997.Batch, got {type(batch).__name__}")
    batch.check()
    if batch.n_in != net.arch.n_in:
        raise ValueError(f"the data has {batch.n_in} input(s) per step but the network has {net.arch.n_in}")
    if batch.n_out != net.arch.n_out:
        raise ValueError(f"the data has {batch.n_out} target(s) per step but the network has "
                         f"{net.arch.n_out} output(s)")


# predict() runs long batches in the lane kernel (learners/lanes.py: predict_lanes), bit for bit the same
_LANES_FROM_SEQUENCES = 8
_LANES_FROM_STEPS = 2000


def predict(net: LSTM, batch) -> np.ndarray:
    """Outputs ``y_k(t)`` of every step of every sequence of ``batch``, shape ``(steps, K)``
    (compiled kernel; weights unchanged). Targets in the batch are ignored."""
    _check_batch(net, batch)
    if net.arch.is_1997 and len(batch) >= _LANES_FROM_SEQUENCES and batch.n_steps >= _LANES_FROM_STEPS:
        from .learners.lanes import predict_lanes

        return predict_lanes(net, batch)       # the same numbers, the sequences spread over SIMD lanes
    Y = np.empty((batch.n_steps, net.arch.n_out))
    # two distinct (empty) trace arrays: the kernel's arrays must not alias (it is compiled with noalias)
    _run_kernel(net, batch, Y, np.zeros((0, 0)), np.zeros((0, 0)), 0.0, False, True)
    return Y
