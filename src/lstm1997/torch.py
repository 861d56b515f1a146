r"""The 1997 LSTM cell as a PyTorch module (Hochreiter & Schmidhuber 1997, Section 4, Appendix A.1).

``lstm1997.torch`` needs PyTorch: ``pip install "lstm1997[torch]"`` (``torch==2.13.0``).

:class:`LSTM1997` is the network of :mod:`lstm1997.network` — blocks of ``S`` cells sharing one input
gate and (optionally) one output gate, the constant error carousel with self-weight 1.0, **no forget
gate**, squashing ``g`` and ``h`` as in the paper, connectivity ``F`` or ``B``, biases per unit class,
outputs optionally seeing the inputs, conventional hidden units if the architecture has any — held as
an :class:`lstm1997.Architecture` plus the two weight matrices ``W_h`` and ``W_k`` in the project's
layout (see :mod:`lstm1997.network`), so that weights convert both ways exactly
(:meth:`LSTM1997.from_lstm1997`, :meth:`LSTM1997.to_lstm1997`, the project's model files). It is float
and autograd-based: slower per network step than the Numba kernel, meant for modern pipelines (any
loss, any ``torch.optim`` optimiser, mini-batches, float32 or float64, any device).

Equations of one step (spec §1.2-1.3), for a batch, with ``z(t) = [x(t), y_hidden(t-1), 1]``::

    net(t)   = (W_h * mask_h) z(t)                       rows: net_in | net_out | net_c | net_i
    y_in(t)  = f(net_in(t))        y_out(t) = f(net_out(t))     (1 if no output gates)
    s_c(t)   = s_c(t-1) + y_in(t) g(net_c(t))            (CEC, self-weight fixed at 1.0)
    y_c(t)   = y_out(t) h(s_c(t))  y_i(t)   = f(net_i(t))       (conventional hidden units)
    y_k(t)   = f((W_k * mask_k) zo(t)),  zo(t) = [x(t) if outputs see inputs, y_c(t), y_i(t), 1]
    y_hidden(t) = [y_in(t), y_out(t) (if output gates), y_c(t), y_i(t)]

with ``f`` the logistic sigmoid, ``g`` = ``4 f - 2`` (``"g2"``, eq. 5) or ``f`` (``"g1"``) and ``h`` =
``2 f - 1`` (``"h1"``, eq. 4) or the identity (``"id"``). The hidden units are updated synchronously
from ``x(t)``, ``y_hidden(t-1)`` and the bias; the outputs read the *current* ``y_c(t)`` (spec §1.3).
Every activation and state is 0 at each sequence start. Absent connections (the masks) are multiplied
away in every forward pass, so their gradient is exactly 0 and they stay 0 under any optimiser whose
step is 0 for a zero gradient from the start (SGD, Adam, AdamW, ...).

The later cell variants are options of the architecture (``arch.forget_gate``, ``arch.peepholes``; see
:mod:`lstm1997.network`; the module then also holds the peephole weights ``W_p``)::

    y_phi(t) = f(net_phi(t)),   s_c(t) = y_phi(t) s_c(t-1) + y_in(t) g(net_c(t))          (forget gate)
    net_in/net_phi += peepholes from s_c(t-1),   net_out += peepholes from s_c(t)          (peepholes)

With ``truncated=True`` the peephole sources are detached as well (they are sources of a gate's net
input), while the CEC path ``s_c(t-1) -> s_c(t)`` (now through ``y_phi(t) s_c(t-1)``) stays attached: the
graph whose gradient the truncated-RTRL traces of the variants follow (``learners/truncated_rtrl.py``).

Truncated gradient (spec §2.1, §2.6). With ``truncated=True`` the recurrent inputs ``y_hidden(t-1)``
are detached where they enter the gates, the cell inputs and the conventional hidden units; the CEC
path ``s_c(t-1) -> s_c(t)`` and the same-step path ``y_c(t) -> y_k(t)`` stay attached. Autograd then
gives exactly the gradient the paper's learning rule follows: for ``E = 1/2 sum (d - y)^2`` over the
steps with a target (:func:`squared_error`) of one sequence, it equals ``bptt_gradient(net, x, d,
truncated=True)``, and ``-lr`` times it is the weight change of ``TruncatedRTRL(lr, per_step=False)`` on
that sequence; over a batch it is the sum of the sequences' gradients at the same weights.
With ``truncated=False`` (default) it is the gradient of the full graph (every recurrent path).

Variable lengths: ``module(x, lengths)`` takes a padded batch ``x`` of shape ``(B, T, n_in)``; steps
past a sequence's length are padding, replaced by 0 before use, and their outputs are exactly 0 (no
gradient flows through them). :func:`pad_batch` turns a ragged :class:`lstm1997.Batch` into
``(x, d, lengths)`` tensors.

Example::

    import numpy as np, torch
    from lstm1997.torch import LSTM1997, pad_batch, squared_error
    from lstm1997.tasks.adding import adding

    model = LSTM1997.paper("adding", generator=np.random.default_rng(0))   # Exp. 4's 93-weight net
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, d, lengths = pad_batch(adding(np.random.default_rng(1), 100, 32))
    loss = squared_error(model(x, lengths), d)
    opt.zero_grad(); loss.backward(); opt.step()
"""

from __future__ import annotations

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError('lstm1997.torch needs PyTorch; install it with: pip install "lstm1997[torch]" '
                      "(torch==2.13.0)") from e

import numpy as np

from .network import LSTM, Architecture, init

__all__ = ["LSTM1997", "pad_batch", "squared_error"]


def _g(kind: str, x: torch.Tensor) -> torch.Tensor:
    """Cell-input squashing: ``"g2"`` 4 sigmoid - 2 in [-2, 2] (eq. 5), ``"g1"`` sigmoid in [0, 1]."""
    return 4.0 * torch.sigmoid(x) - 2.0 if kind == "g2" else torch.sigmoid(x)


def _h(kind: str, x: torch.Tensor) -> torch.Tensor:
    """Cell-output squashing: ``"h1"`` 2 sigmoid - 1 in [-1, 1] (eq. 4), ``"id"`` the identity."""
    return 2.0 * torch.sigmoid(x) - 1.0 if kind == "h1" else x


class LSTM1997(torch.nn.Module):
    """The 1997 LSTM (no forget gate, unless ``arch`` asks for the later variants) as a ``torch.nn.Module``;
    see the module docstring for the equations.

    Parameters
    ----------
    arch : the :class:`lstm1997.Architecture` (sizes, connectivity, biases, g, h, output gates, ...).
    W_h, W_k : initial weights in the layout of :class:`lstm1997.LSTM` (arrays or tensors); ``None``
        draws them as :func:`lstm1997.init` does, from ``generator``.
    mask_h, mask_k : boolean masks of the connections present (default: all of the architecture's);
        a subset is allowed (sequential construction, Exp. 2a/2b). Weights on absent connections must be 0.
    W_p, mask_p : (keyword) the peephole weights and their mask, for an architecture with peepholes
        (``None``: drawn with ``W_h``, ``W_k`` / all present).
    truncated : default for :meth:`forward`: detach the recurrent inputs (the paper's truncated gradient).
    generator : a ``numpy.random.Generator`` (or an int seed) for the initial weights; the same seed
        gives the same weights as ``lstm1997.init(arch, numpy.random.default_rng(seed))``. ``None``:
        fresh entropy.
    dtype, device : of the parameters (default float64 on the CPU); ``.to()``, ``.float()`` work as usual.

    Attributes
    ----------
    W_h : ``torch.nn.Parameter`` ``(n_hidden, n_src)``; W_k : ``(n_out, n_osrc)``; W_p (only with
        peepholes): ``(len(arch.peephole_gates), C*S)``.
    mask_h, mask_k (, mask_p) : boolean buffers (in ``state_dict``).
    """

    def __init__(self, arch: Architecture, W_h=None, W_k=None, mask_h=None, mask_k=None, *,
                 W_p=None, mask_p=None,
                 truncated: bool = False, generator=None, dtype: torch.dtype = torch.float64, device=None):
        super().__init__()
        if not isinstance(arch, Architecture):
            raise TypeError(f"arch must be a lstm1997.Architecture, got {type(arch).__name__}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if (W_h is None) != (W_k is None):
            raise ValueError("give both W_h and W_k, or neither")
        _check_size(arch)
        if W_h is None:
            if generator is None or isinstance(generator, (int, np.integer)):
                generator = np.random.default_rng(generator)
            if not isinstance(generator, np.random.Generator):
                raise TypeError(f"generator must be a numpy.random.Generator, an int seed or None, "
                                f"got {type(generator).__name__}")
            net0 = init(arch, generator)
            W_h, W_k = net0.W_h, net0.W_k
            if W_p is None and arch.peepholes:
                W_p = net0.W_p
            if mask_h is not None or mask_k is not None:   # a subset present: the rest held at 0
                mh = arch.mask_h() if mask_h is None else np.asarray(mask_h, dtype=bool)
                mk = arch.mask_k() if mask_k is None else np.asarray(mask_k, dtype=bool)
                W_h, W_k = np.where(mh, W_h, 0.0), np.where(mk, W_k, 0.0)
            if mask_p is not None and arch.peepholes:
                W_p = np.where(np.asarray(mask_p, dtype=bool), W_p, 0.0)

        def as_np(a):
            return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a

        for nm, a in (("W_h", W_h), ("W_k", W_k), ("W_p", W_p)):
            if a is not None:
                _check_array(as_np(a), nm)
        # validation (shapes, masks within the architecture, zeros on absent connections) by lstm1997.LSTM
        net = LSTM(arch, np.asarray(as_np(W_h), dtype=np.float64), np.asarray(as_np(W_k), dtype=np.float64),
                   None if mask_h is None else np.asarray(as_np(mask_h)),
                   None if mask_k is None else np.asarray(as_np(mask_k)),
                   None if W_p is None else np.asarray(as_np(W_p), dtype=np.float64),
                   None if mask_p is None else np.asarray(as_np(mask_p)))
        self.arch = arch
        self.truncated = bool(truncated)
        kw = {"dtype": dtype, "device": device}
        self.W_h = torch.nn.Parameter(torch.tensor(net.W_h, **kw))
        self.W_k = torch.nn.Parameter(torch.tensor(net.W_k, **kw))
        self.register_buffer("mask_h", torch.tensor(net.mask_h, dtype=torch.bool, device=device))
        self.register_buffer("mask_k", torch.tensor(net.mask_k, dtype=torch.bool, device=device))
        if arch.peepholes:           # only then: a 1997 module has exactly the parameters it always had
            self.W_p = torch.nn.Parameter(torch.tensor(net.W_p, **kw))
            self.register_buffer("mask_p", torch.tensor(net.mask_p, dtype=torch.bool, device=device))

    # ---- construction and conversion ----------------------------------------------------------
    @classmethod
    def from_arch(cls, arch: Architecture, generator=None, **kwargs) -> "LSTM1997":
        """A fresh net of ``arch``, weights drawn as :func:`lstm1997.init` draws them from ``generator``."""
        return cls(arch, generator=generator, **kwargs)

    @classmethod
    def paper(cls, name: str, generator=None, *, truncated: bool = False, dtype: torch.dtype = torch.float64,
              device=None, **params) -> "LSTM1997":
        """A fresh net of the paper's topology for experiment ``name`` (``"1"``/``"reber"``, ``"2a"``,
        ``"2b"``, ``"2c"``, ``"3a"`` ... ``"3c"``, ``"4"``/``"adding"``, ``"5"``/``"multiplication"``,
        ``"6a"``, ``"6b"``), built from the experiment's config with its defaults (the paper's values,
        including initial gate biases, Table 10). ``params`` override the row parameters in the paper's
        symbols, e.g. ``paper("2c", p=50)``, ``paper("1", blocks=3, cells=2)``."""
        # the one place this module looks above the library layer: the experiments own the paper's configs
        from .experiments import lookup

        exp, fixed = lookup(name)
        arch = exp.config_for(None, **{**fixed, **params}).architecture()
        if not isinstance(arch, Architecture):
            raise ValueError(f"experiment {name!r} with {params} is not an LSTM ({type(arch).__name__})")
        return cls(arch, generator=generator, truncated=truncated, dtype=dtype, device=device)

    @classmethod
    def from_lstm1997(cls, net: LSTM, **kwargs) -> "LSTM1997":
        """The module holding ``net``'s architecture, weights and masks (copied; exact in float64)."""
        if not isinstance(net, LSTM):
            raise TypeError(f"expected a lstm1997.LSTM, got {type(net).__name__}")
        if net.arch.peepholes:
            kwargs = {"W_p": net.W_p, "mask_p": net.mask_p, **kwargs}
        return cls(net.arch, net.W_h, net.W_k, net.mask_h, net.mask_k, **kwargs)

    def to_lstm1997(self) -> LSTM:
        """An :class:`lstm1997.LSTM` with the same architecture, weights (float64, absent ones 0) and masks."""
        mh = self.mask_h.detach().cpu().numpy().astype(bool)
        mk = self.mask_k.detach().cpu().numpy().astype(bool)
        W_h = np.where(mh, self.W_h.detach().cpu().to(torch.float64).numpy(), 0.0)
        W_k = np.where(mk, self.W_k.detach().cpu().to(torch.float64).numpy(), 0.0)
        if self.arch.peepholes:
            mp = self.mask_p.detach().cpu().numpy().astype(bool)
            W_p = np.where(mp, self.W_p.detach().cpu().to(torch.float64).numpy(), 0.0)
            return LSTM(self.arch, W_h, W_k, mh, mk, W_p, mp)
        return LSTM(self.arch, W_h, W_k, mh, mk)

    def save(self, path) -> None:
        """Write the net as a project model file (:func:`lstm1997.io.save_model`)."""
        from .io import save_model

        save_model(self.to_lstm1997(), path)

    @classmethod
    def load(cls, path, **kwargs) -> "LSTM1997":
        """Read a project model file (:func:`lstm1997.io.load_model`) into a module."""
        from .io import load_model

        return cls.from_lstm1997(load_model(path), **kwargs)

    def extra_repr(self) -> str:
        return f"{self.arch.describe()}, truncated={self.truncated}"

    # ---- the step and the sequence driver ----------------------------------------------------------
    def _check_weights(self) -> None:
        """The module's edge: its weights (set by an optimizer, ``load_state_dict`` or by hand) are finite."""
        for nm in ("W_h", "W_k") + (("W_p",) if self.arch.peepholes else ()):
            w = getattr(self, nm)
            with torch.no_grad():
                if not bool(torch.isfinite(w).all()):
                    where = tuple(int(i) for i in torch.nonzero(~torch.isfinite(w))[0])
                    raise ValueError(f"{nm} holds {float(w[where])!r} at {where}: the weights must be finite (a "
                                     "diverged optimizer step? lower the learning rate, or load finite weights)")

    def _weights(self):
        self._check_weights()
        W_h = self.W_h * self.mask_h.to(self.W_h.dtype)
        W_k = self.W_k * self.mask_k.to(self.W_k.dtype)
        return W_h, W_k

    def _peepholes(self):
        """The peephole weights (masked), or ``None`` without peepholes."""
        return self.W_p * self.mask_p.to(self.W_p.dtype) if self.arch.peepholes else None

    def _cell(self, net_x: torch.Tensor, W_rec: torch.Tensor, y_prev: torch.Tensor, s_prev: torch.Tensor,
              truncated: bool, W_p: torch.Tensor | None = None):
        """One step of the hidden units: ``net_x`` = the input and bias part of ``net(t)`` ``(B, n_hidden)``.
        Returns ``(y_hidden(t), s_c(t), y_c(t), y_i(t))``."""
        a = self.arch
        S = a.cells
        # truncation (spec §2.6 (1)): recurrent inputs to gates, cells and hidden units are stop-gradients
        rec = y_prev.detach() if truncated else y_prev
        net = net_x + rec @ W_rec.T
        if not a.is_1997:
            return self._variant_cell(net, W_p, s_prev, truncated)
        y_in = torch.sigmoid(net[:, a.rows_in])
        if a.output_gates:
            y_out = torch.sigmoid(net[:, a.rows_out])
            y_out_c = y_out.repeat_interleave(S, dim=1)
        else:
            y_out, y_out_c = net[:, :0], None
        s_c = s_prev + y_in.repeat_interleave(S, dim=1) * _g(a.g, net[:, a.rows_c])   # CEC, never detached
        h_c = _h(a.h, s_c)
        y_c = h_c if y_out_c is None else y_out_c * h_c
        y_i = torch.sigmoid(net[:, a.rows_hidden])
        return torch.cat([y_in, y_out, y_c, y_i], dim=1), s_c, y_c, y_i

    def _variant_cell(self, net: torch.Tensor, W_p: torch.Tensor | None, s_prev: torch.Tensor, truncated: bool):
        """The rest of :meth:`_cell` for forget gates and/or peepholes: ``net`` = ``net(t)`` without the
        peephole terms."""
        a = self.arch
        C, S = a.blocks, a.cells
        B = net.shape[0]
        prow = {g: r for r, g in enumerate(a.peephole_gates)}

        def peep(kind, s):             # sum_v W_p[kind, jv] s_jv, per block: (B, C)
            # the peephole sources are sources of a gate's net input: stop-gradients when truncated
            s = s.detach() if truncated else s
            return (W_p[prow[kind]] * s).reshape(B, C, S).sum(dim=2)

        net_in = net[:, a.rows_in]
        if "in_gate" in prow:
            net_in = net_in + peep("in_gate", s_prev)
        y_in = torch.sigmoid(net_in)
        if a.forget_gate:
            net_phi = net[:, a.rows_phi]
            if "forget_gate" in prow:
                net_phi = net_phi + peep("forget_gate", s_prev)
            y_phi = torch.sigmoid(net_phi)
            carried = y_phi.repeat_interleave(S, dim=1) * s_prev          # the CEC, never detached
        else:
            y_phi, carried = net[:, :0], s_prev
        s_c = carried + y_in.repeat_interleave(S, dim=1) * _g(a.g, net[:, a.rows_c])
        h_c = _h(a.h, s_c)
        if a.output_gates:
            net_out = net[:, a.rows_out]
            if "out_gate" in prow:
                net_out = net_out + peep("out_gate", s_c)                 # the state just computed, s_c(t)
            y_out = torch.sigmoid(net_out)
            y_c = y_out.repeat_interleave(S, dim=1) * h_c
        else:
            y_out, y_c = net[:, :0], h_c
        y_i = torch.sigmoid(net[:, a.rows_hidden])
        return torch.cat([y_in, y_out, y_phi, y_c, y_i], dim=1), s_c, y_c, y_i

    def _prepare(self, x, name: str = "x", shape: str = "(batch, time, {n_in})", ndim: int = 3):
        """The module's edge for inputs: real, finite numbers of the given shape, as the parameters' dtype."""
        W = self.W_h
        x = _as_real_tensor(x, name)
        want = shape.format(n_in=self.arch.n_in)
        if x.ndim != ndim or x.shape[-1] != self.arch.n_in:
            raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
        return x.to(dtype=W.dtype, device=W.device)

    @staticmethod
    def _check_finite_input(x, name: str) -> None:
        if not bool(torch.isfinite(x).all()):
            where = tuple(int(i) for i in torch.nonzero(~torch.isfinite(x))[0])
            raise ValueError(f"{name} holds {float(x[where])!r} at {where}: inputs must be finite (padding past "
                             "lengths may be anything)")

    def forward(self, x, lengths=None, truncated: bool | None = None) -> torch.Tensor:
        """Outputs ``y_k(t)`` of every step, shape ``(B, T, K)``, from the reset state.

        Parameters
        ----------
        x : ``(B, T, n_in)`` inputs (converted to the parameters' dtype and device).
        lengths : optional ``(B,)`` integers in ``0..T``; steps ``t >= lengths[b]`` are padding: their
            inputs are replaced by 0 and their outputs are exactly 0, without effect on anything else.
        truncated : override the module's ``truncated`` flag for this call.
        """
        a = self.arch
        x = self._prepare(x)
        B, T, n_in = x.shape
        truncated = self.truncated if truncated is None else bool(truncated)
        valid = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
            if (lengths.shape != (B,) or lengths.dtype.is_floating_point or lengths.dtype == torch.bool
                    or lengths.is_complex()):
                raise ValueError(f"lengths must be {B} integers (one per sequence), got {lengths}")
            if bool(((lengths < 0) | (lengths > T)).any()):
                raise ValueError(f"lengths must lie in 0..{T}, got {lengths.tolist()}")
            valid = (torch.arange(T, device=x.device)[None, :] < lengths[:, None]).unsqueeze(2)   # (B, T, 1)
            x = torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))
        self._check_finite_input(x, "x")
        W_h, W_k = self._weights()
        nh = a.n_hidden
        # input and bias parts of net(t) for every step at once; only the recurrent part is in the loop
        net_x = x @ W_h[:, :n_in].T + W_h[:, -1]                       # (B, T, n_hidden)
        W_rec = W_h[:, n_in:n_in + nh]
        W_p = self._peepholes()
        y = x.new_zeros((B, nh))                                       # y_hidden(0) = 0
        s = x.new_zeros((B, a.n_cells))                                # s_c(0) = 0
        zo = []
        for t in range(T):
            y, s, y_c, y_i = self._cell(net_x[:, t], W_rec, y, s, truncated, W_p)
            zo.append(torch.cat([y_c, y_i], dim=1))
        zo = torch.stack(zo, dim=1) if T else x.new_zeros((B, 0, a.n_cells + a.hidden))
        # outputs read the current y_c(t), y_i(t) (spec §1.3), so they are computed for all steps at once
        o0 = a.n_in if a.outputs_see_inputs else 0
        net_k = zo @ W_k[:, o0:-1].T + W_k[:, -1]
        if a.outputs_see_inputs:
            net_k = net_k + x @ W_k[:, :o0].T
        y_k = torch.sigmoid(net_k)
        if valid is not None:
            y_k = torch.where(valid, y_k, torch.zeros((), dtype=y_k.dtype, device=y_k.device))
        return y_k

    def _state_part(self, v, name: str, shape: tuple) -> torch.Tensor:
        t = _as_real_tensor(v, f"state's {name}")
        if tuple(t.shape) != shape:
            raise ValueError(f"state's {name} must have shape {shape} (batch, units), got {tuple(t.shape)}; pass the "
                             "state that step returned for a batch of the same size, or None")
        t = t.to(dtype=self.W_h.dtype, device=self.W_h.device)
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"state's {name} holds NaN or inf")
        return t

    def step(self, x_t, state=None, truncated: bool | None = None):
        """One time step for streaming use: ``x_t`` ``(B, n_in)``, ``state`` = ``(y_hidden, s_c)`` of the
        previous step (``None``: the reset state). Returns ``(y_k(t) (B, K), (y_hidden(t), s_c(t)))``."""
        a = self.arch
        x_t = self._prepare(x_t, "x_t", "(batch, {n_in})", 2)
        self._check_finite_input(x_t, "x_t")
        truncated = self.truncated if truncated is None else bool(truncated)
        B = x_t.shape[0]
        if state is None:
            state = (x_t.new_zeros((B, a.n_hidden)), x_t.new_zeros((B, a.n_cells)))
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError("state must be the pair (y_hidden, s_c) that step returned, or None")
        y_prev, s_prev = (self._state_part(v, nm, (B, n))
                          for v, nm, n in zip(state, ("y_hidden", "s_c"), (a.n_hidden, a.n_cells)))
        W_h, W_k = self._weights()
        net_x = x_t @ W_h[:, :a.n_in].T + W_h[:, -1]
        y, s, y_c, y_i = self._cell(net_x, W_h[:, a.n_in:a.n_in + a.n_hidden], y_prev, s_prev, truncated,
                                    self._peepholes())
        zo = [x_t] if a.outputs_see_inputs else []
        zo = torch.cat(zo + [y_c, y_i, x_t.new_ones((B, 1))], dim=1)
        return torch.sigmoid(zo @ W_k.T), (y, s)


def _as_real_tensor(x, name: str) -> torch.Tensor:
    """``x`` as a real tensor (complex, bool-free numbers only), or ``ValueError``/``TypeError`` in the user's terms."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
        if arr.dtype.kind not in "biuf":
            what = "complex" if arr.dtype.kind == "c" else f"not numeric (dtype {arr.dtype})"
            raise ValueError(f"{name} is {what}: give real numbers")
        t = torch.as_tensor(arr)
    if t.is_complex():
        raise ValueError(f"{name} is complex: give real numbers")
    return t


def _check_array(a, name: str) -> None:
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.size and not np.isfinite(arr.astype(np.float64)).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr.astype(np.float64)))[0])
        raise ValueError(f"{name} holds {float(arr[where])!r} at {where}: the weights must be finite")


def _check_size(arch: Architecture) -> None:
    """Refuse, before allocating, a module too big for this machine's memory (weights, masks, a copy)."""
    from ._memory import check_memory

    w = float(arch.n_hidden) * arch.n_src + float(arch.n_out) * arch.n_osrc
    check_memory(8.0 * 6 * w, f"a module of {arch.blocks} block(s) of {arch.cells} cell(s) on {arch.n_in} input(s) "
                 f"({w:,.0f} weights)", "choose smaller sizes (blocks, cells, p, q)")


def pad_batch(batch, dtype: torch.dtype = torch.float64, device=None):
    """A ragged :class:`lstm1997.Batch` as padded tensors ``(x, d, lengths)``: ``x`` ``(B, T, n_in)``
    (0 past each length), ``d`` ``(B, T, K)`` (NaN where no target and past each length), ``lengths``
    ``(B,)`` int64, with ``T`` the longest sequence."""
    from .batch import Batch

    if not isinstance(batch, Batch):
        raise TypeError(f"expected a lstm1997.Batch, got {type(batch).__name__}")
    lengths = batch.lengths
    B, T = len(batch), int(lengths.max()) if len(batch) else 0
    x = np.zeros((B, T, batch.n_in))
    d = np.full((B, T, batch.n_out), np.nan)
    inputs = batch.inputs
    for i in range(B):
        lo, hi = batch.offsets[i], batch.offsets[i + 1]
        x[i, : hi - lo] = inputs[lo:hi]
        d[i, : hi - lo] = batch.targets[lo:hi]
    kw = {"dtype": dtype, "device": device}
    return torch.tensor(x, **kw), torch.tensor(d, **kw), torch.tensor(lengths, dtype=torch.int64, device=device)


def squared_error(y: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """The paper's error ``E = 1/2 sum (d - y)^2`` over the entries with a target (``d`` not NaN), summed
    over sequences and steps (spec §2.2, eq. 16). Its gradient is the one :func:`lstm1997.bptt_gradient`
    returns, summed over sequences."""
    d = torch.as_tensor(d, dtype=y.dtype, device=y.device)
    has = ~torch.isnan(d)
    err = torch.where(has, y - torch.nan_to_num(d), torch.zeros((), dtype=y.dtype, device=y.device))
    return 0.5 * (err * err).sum()
