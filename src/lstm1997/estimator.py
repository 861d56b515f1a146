"""A scikit-learn style estimator around the 1997 LSTM: :class:`LSTMRegressor`.

It follows scikit-learn's conventions (``doc/developers/develop.rst``) without depending on it:
``__init__`` only stores keyword hyperparameters; ``fit``/``partial_fit`` validate them, learn, and
return ``self``; everything learned ends in ``_``; ``get_params``/``set_params`` introspect
``__init__``'s signature, so ``type(est)(**est.get_params())`` (what ``sklearn.base.clone`` does)
gives an unfitted copy with equal parameters. Sequence data need not and do not pass
``check_estimator``: ``X`` is a list of ``(T_i, n_features)`` arrays, not a matrix.

It is a thin layer over the library: the net is :func:`lstm1997.training.default_architecture` (the
net ``lstm1997 fit`` builds) drawn by :func:`lstm1997.init`, trained by
:func:`lstm1997.training.train` with :class:`lstm1997.TruncatedRTRL` (the paper's online rule, one
weight update per step with a target, never batching across sequences), and run by
:func:`lstm1997.predict`. With the same integer seed, data whose targets lie in [0, 1] and
``shuffle=True``, ``LSTMRegressor(random_state=seed).fit(X, y)`` ends with the very weights
``lstm1997 fit --seed seed`` writes for the same sequences (same initial weights, same order).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys

import numpy as np

from .batch import Batch
from .learners import TruncatedRTRL
from .network import init, predict as _predict
from .training import TrainingDiverged, default_architecture, train

__all__ = ["LSTMRegressor", "NotFittedError", "TrainingDiverged"]

#: the memory cells the estimator knows: name -> (forget_gate, peepholes) (docs/decisions.md, D40)
_VARIANTS = {"1997": (False, False), "forget": (True, False), "peepholes": (False, True),
             "forget+peepholes": (True, True)}


class NotFittedError(ValueError, AttributeError):
    """Raised when ``predict`` or ``score`` is called before ``fit`` (as scikit-learn's, a ValueError and
    an AttributeError)."""


class _InOrder:
    """Stands in for the Generator :func:`~lstm1997.training.train` draws each epoch's order from
    (``rng.permutation(n)``): the sequences in the order given, as ``partial_fit`` and ``shuffle=False``
    present them."""

    @staticmethod
    def permutation(n: int) -> np.ndarray:
        return np.arange(n)


class LSTMRegressor:
    """The 1997 LSTM (Hochreiter & Schmidhuber 1997) as a scikit-learn style sequence regressor.

    Parameters
    ----------
    blocks : int, default 2
        Memory cell blocks ``C``.
    cells : int, default 2
        Cells per block ``S``.
    lr : float, default 0.1
        Learning rate of the paper's truncated RTRL rule (:class:`lstm1997.TruncatedRTRL`).
    epochs : int, default 10
        Online passes over the training sequences in :meth:`fit`.
    per_step : bool, default True
        Update the weights at every step that has a target (the paper) or once per sequence end
        (``False``); the same when each sequence has one target, at its end.
    init_range : float, default 0.1
        Initial weights uniform in ``[-init_range, init_range]``; input-gate biases are -2, -4, -6, ...
        per block (:func:`lstm1997.training.default_architecture`, the net ``lstm1997 fit`` trains).
    connectivity : {"F", "B"}, default "F"
        ``"F"``: gates and cells see the inputs and every hidden unit at t-1; ``"B"``: the inputs only.
    shuffle : bool, default True
        Draw a new order of the training sequences for every epoch of :meth:`fit` (from
        ``random_state``). :meth:`partial_fit` always presents the sequences in the order given.
    random_state : None, int or numpy.random.Generator, default None
        Seeds the initial weights and the orders of presentation (never the global RNG). An int
        gives the same numbers every time; ``None`` fresh entropy at each fit.
    verbose : int, default 0
        If > 0, one line per epoch on stderr: epoch, mean squared training error, seconds.
    variant : str, default "1997"
        The memory cell: ``"1997"`` (input and output gates, no forget gate, no peepholes), or a later
        variant: ``"forget"`` (a forget gate per block, Gers et al. 2000, initial biases +0.5, +1.0, ...),
        ``"peepholes"`` (gates see the cell states, Gers et al. 2002) or ``"forget+peepholes"``; each is
        trained with its own truncated-RTRL rule (docs/decisions.md, D40).

    Data
    ----
    ``X`` is a list of ``n`` arrays of shape ``(T_i, n_features)`` (lengths may differ) or one array
    ``(n, T, n_features)``; no NaN or inf. ``y`` is either

    * **per sequence**: shape ``(n,)`` or ``(n, K)``, the target of each sequence's last step; then
      :meth:`predict` returns the outputs at the last steps, ``(n,)`` or ``(n, K)`` as ``y`` was; or
    * **per step**: a list of ``n`` arrays ``(T_i, K)`` (or one array ``(n, T, K)``), NaN where a step has
      no target; then :meth:`predict` returns a list of ``n`` arrays ``(T_i, K)``, every step's output.

    A NaN in per-sequence ``y`` means "no target" too; at least one target must be given.

    Targets outside [0, 1] are rescaled
    ----------------------------------
    The output units are logistic, so their outputs lie in (0, 1). An output whose training targets all
    lie in [0, 1] is trained on them as given (``offset_ = 0``, ``scale_ = 1``: the paper's tasks train
    exactly as in the paper). An output with any target outside [0, 1] is rescaled min-max into [0, 1],
    ``d' = (d - offset_) / scale_`` with ``offset_ = min``, ``scale_ = max - min`` over its training
    targets (a constant target ``c`` becomes 0.5), and :meth:`predict` maps the outputs back,
    ``offset_ + scale_ * y``. Predictions therefore stay inside the range of the training targets. The
    scaling is fixed by :meth:`fit` or by the first :meth:`partial_fit`; a later :meth:`partial_fit` whose
    targets fall outside that range is refused (give the whole range in the first call, or rescale
    yourself).

    Attributes
    ----------
    net_ : lstm1997.LSTM
        The trained network.
    n_features_in_ : int
        Inputs per step.
    n_outputs_ : int
        Output units ``K``.
    per_step_targets_ : bool
        Whether ``y`` was given per step (and :meth:`predict` returns every step's output).
    offset_, scale_ : ndarray ``(K,)``
        The target scaling above (0 and 1 for outputs used as given).
    n_iter_ : int
        Epochs trained so far (``fit`` starts from 0; each ``partial_fit`` adds one).
    loss_curve_ : list of float
        Per epoch, the mean squared error over every target value of the training data, each output
        measured while training, before that step's update (the error the learner sees), in the
        scaled units the net is trained on.

    Errors
    ------
    ``ValueError`` on bad hyperparameters or data (checked by ``fit``/``partial_fit``, not ``__init__``);
    :class:`NotFittedError` from ``predict``/``score`` before a fit;
    :class:`lstm1997.training.TrainingDiverged` (a ``RuntimeError`` naming the epoch and the sequence) when
    a weight becomes NaN or inf; after it, ``fit`` leaves the estimator unfitted and ``partial_fit``
    leaves it as it was before the call.
    """

    def __init__(self, *, blocks=2, cells=2, lr=0.1, epochs=10, per_step=True, init_range=0.1,
                 connectivity="F", shuffle=True, random_state=None, verbose=0, variant="1997"):
        self.blocks = blocks
        self.cells = cells
        self.lr = lr
        self.epochs = epochs
        self.per_step = per_step
        self.init_range = init_range
        self.connectivity = connectivity
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.variant = variant

    # ---- parameters (scikit-learn's BaseEstimator protocol, written out) ---------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters, ``{name: value}`` for every argument of ``__init__`` (``deep`` has no
        effect: no parameter is itself an estimator)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "LSTMRegressor":
        """Set hyperparameters by name (validated at the next fit); unknown names raise ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for name in self._param_names():
            value, default = getattr(self, name), sig.parameters[name].default
            if not _same(value, default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _check_params(self) -> None:
        name = type(self).__name__
        for p in ("blocks", "cells", "epochs"):
            v = getattr(self, p)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {p} must be a positive integer, got {v!r}")
        for p, lo in (("lr", "> 0"), ("init_range", ">= 0")):
            v = getattr(self, p)
            ok = (not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))
                  and np.isfinite(v) and (v > 0 if p == "lr" else v >= 0))
            if not ok:
                raise ValueError(f"{name}: {p} must be a finite number {lo}, got {v!r}")
        if self.init_range > 1e6:
            raise ValueError(f"{name}: init_range must be at most 1e6 (weights are drawn from [-init_range, "
                             f"init_range]; the paper uses 0.1 or 0.2, and far larger weights saturate every unit), "
                             f"got {self.init_range!r}")
        for p in ("per_step", "shuffle"):
            if not isinstance(getattr(self, p), (bool, np.bool_)):
                raise ValueError(f"{name}: {p} must be True or False, got {getattr(self, p)!r}")
        if self.connectivity not in ("F", "B"):
            raise ValueError(f"{name}: connectivity must be 'F' or 'B', got {self.connectivity!r}")
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.Generator)
                or (isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) and rs >= 0)):
            raise ValueError(f"{name}: random_state must be None, a non-negative int or a "
                             f"numpy.random.Generator, got {rs!r}")
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, (int, np.integer)):
            raise ValueError(f"{name}: verbose must be an int, got {self.verbose!r}")
        if not isinstance(self.variant, str) or self.variant not in _VARIANTS:
            raise ValueError(f"{name}: variant must be one of {', '.join(map(repr, _VARIANTS))}, got "
                             f"{self.variant!r}")

    def _rngs(self) -> tuple[np.random.Generator, np.random.Generator]:
        """(initial weights, orders of presentation): for an int seed the two streams ``lstm1997 fit
        --seed`` uses."""
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            return rs, rs
        a, b = np.random.SeedSequence(None if rs is None else int(rs)).spawn(2)
        return np.random.default_rng(a), np.random.default_rng(b)

    def _architecture(self, batch):
        """The network's architecture for data like ``batch``: the hyperparameters, with the cell variant."""
        arch = dataclasses.replace(
            default_architecture(batch.n_in, batch.n_out, int(self.blocks), int(self.cells),
                                 float(self.init_range)),
            connectivity=self.connectivity)
        forget_gate, peepholes = _VARIANTS[self.variant]
        return arch.with_variant(forget_gate=forget_gate, peepholes=peepholes) if (forget_gate or peepholes) else arch

    # ---- learning --------------------------------------------------------------------------------
    def fit(self, X, y) -> "LSTMRegressor":
        """Train a new network for ``epochs`` online passes over the sequences ``X`` with targets ``y``
        (see the class docstring for their shapes); returns ``self``."""
        self._check_params()
        xs, ds, per_step, y_1d = self._validate_xy(X, y, first=True)
        try:
            offset, scale = _scaling(ds)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: {e}") from None
        batch = Batch.from_sequences(xs, [(d - offset) / scale for d in ds])
        arch = self._architecture(batch)
        self._check_size(arch, batch)
        init_rng, order_rng = self._rngs()
        net = init(arch, init_rng)
        self._forget()
        curve: list[float] = []
        # a TrainingDiverged from here leaves the estimator unfitted (its message names the epoch)
        train(net, batch, self._learner(), int(self.epochs), order_rng if self.shuffle else _InOrder(),
              self._progress(curve, 0, int(self.epochs)))
        self.net_, self.n_features_in_, self.n_outputs_ = net, batch.n_in, batch.n_out
        self.per_step_targets_, self._y_1d = per_step, y_1d
        self.offset_, self.scale_ = offset, scale
        self.n_iter_, self.loss_curve_ = int(self.epochs), curve
        self._structure_ = self._structure()
        return self

    def partial_fit(self, X, y) -> "LSTMRegressor":
        """One online pass over the sequences ``X`` in the order given (the paper's regime: every
        sequence presented once, weights updated as it runs). The first call (on an unfitted estimator)
        creates the network and fixes the target scaling; later calls must have the same number of
        features and outputs and the same kind of ``y``. Returns ``self``."""
        self._check_params()
        first = not hasattr(self, "net_")
        xs, ds, per_step, y_1d = self._validate_xy(X, y, first=first)
        if first:
            try:
                offset, scale = _scaling(ds)
            except ValueError as e:
                raise ValueError(f"{type(self).__name__}: {e}") from None
        else:
            self._check_structure()
            offset, scale = self.offset_, self.scale_
        scaled = [(d - offset) / scale for d in ds]
        if not first:
            _check_in_range(scaled, offset, scale, type(self).__name__)
        batch = Batch.from_sequences(xs, scaled)
        if first:
            arch = self._architecture(batch)
            self._check_size(arch, batch)
            net = init(arch, self._rngs()[0])
            n_iter, curve = 0, []
        else:
            net, n_iter, curve = self.net_, self.n_iter_, self.loss_curve_
        before = (net.W_h.copy(), net.W_k.copy())
        try:
            train(net, batch, self._learner(), 1, _InOrder(), self._progress(curve, n_iter, None))
        except TrainingDiverged as e:
            net.W_h[...], net.W_k[...] = before    # leave the estimator as it was before the call
            raise TrainingDiverged(n_iter, e.sequence) from None
        if first:
            self.net_, self.n_features_in_, self.n_outputs_ = net, batch.n_in, batch.n_out
            self.per_step_targets_, self._y_1d = per_step, y_1d
            self.offset_, self.scale_ = offset, scale
            self.loss_curve_ = curve
            self._structure_ = self._structure()
        self.n_iter_ = n_iter + 1
        return self

    #: the hyperparameters that make the network: a partial_fit after changing one would train a net that is
    #: not the one the estimator describes
    _STRUCTURAL = ("blocks", "cells", "init_range", "connectivity", "variant")

    def _structure(self) -> dict:
        return {k: getattr(self, k) for k in self._STRUCTURAL}

    def _check_structure(self) -> None:
        """Refuse a partial_fit whose structural hyperparameters differ from those the network was made with."""
        made = getattr(self, "_structure_", None)
        if made is None:
            return
        now = self._structure()
        changed = [k for k in self._STRUCTURAL if not _same(made[k], now[k])]
        if changed:
            what = ", ".join(f"{k} (was {made[k]!r}, now {now[k]!r})" for k in changed)
            raise ValueError(f"{type(self).__name__}: {what} changed since the network was made; partial_fit "
                             "goes on training that network, which would not be the one these parameters "
                             "describe: call fit to make a new one, or set them back")

    def _check_size(self, arch, batch) -> None:
        """Refuse, before allocating, a network or data too big for this machine's memory."""
        from ._memory import check_memory, net_bytes

        check_memory(net_bytes(arch) + 16.0 * batch.n_steps * (batch.n_in + 2 * batch.n_out + 1),
                     f"{type(self).__name__}: a net of {self.blocks} block(s) of {self.cells} cell(s) on "
                     f"{batch.n_in} input(s)", "choose smaller blocks and cells")

    def _learner(self) -> TruncatedRTRL:
        return TruncatedRTRL(float(self.lr), per_step=bool(self.per_step))

    def _progress(self, curve: list, done: int, total: int | None):
        """The per-epoch callback of :func:`~lstm1997.training.train`: record the loss, report if verbose."""
        def progress(st) -> None:
            curve.append(float(st.mse))
            if self.verbose > 0:
                ep = done + st.epoch
                sys.stderr.write(f"epoch {ep}{'' if total is None else f'/{total}'}: training MSE "
                                 f"{st.mse:.4e}, MAE {st.mae:.4f} ({st.seconds:.2f} s)\n")
                sys.stderr.flush()
        return progress

    def _forget(self) -> None:
        """Drop everything a fit learned (the estimator is unfitted afterwards)."""
        for k in [k for k in vars(self) if k.endswith("_") or k == "_y_1d"]:
            delattr(self, k)

    # ---- using the trained net ---------------------------------------------------------------------
    def predict(self, X):
        """Outputs for the sequences ``X``: at each sequence's last step, ``(n, K)`` (``(n,)`` if fitted
        with 1-D ``y``), if fitted with per-sequence targets; every step's, a list of ``(T_i, K)``
        arrays, if fitted with per-step targets. In the units of the targets (scaling undone)."""
        self._check_fitted("predict")
        xs = _sequences(X, type(self).__name__, self.n_features_in_, need_steps=not self.per_step_targets_)
        K = self.n_outputs_
        batch = Batch.from_sequences(xs, [np.full((x.shape[0], K), np.nan) for x in xs])
        out = self.offset_ + self.scale_ * _predict(self.net_, batch)
        if self.per_step_targets_:
            return [out[a:b] for a, b in zip(batch.offsets[:-1], batch.offsets[1:])]
        last = out[batch.end_indices()]
        return last[:, 0] if self._y_1d else last

    def score(self, X, y) -> float:
        """The coefficient of determination R^2 of :meth:`predict` against ``y`` (the same kind of targets
        as the fit), over the given (non-NaN) targets, per output and then averaged over the outputs
        uniformly, as scikit-learn's regressors score. 1 is perfect; predicting each output's mean
        scores 0."""
        self._check_fitted("score")
        xs, ds, per_step, y_1d = self._validate_xy(X, y, first=False)
        pred = self.predict(xs)
        if per_step:
            d, p = np.concatenate(ds), np.concatenate(pred)
        else:
            d = np.stack([di[-1] for di in ds])
            p = pred.reshape(d.shape)
        return _r2(d, p)

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 f"appropriate arguments before using '{what}'.")

    # ---- data --------------------------------------------------------------------------------------
    def _validate_xy(self, X, y, first: bool):
        """``(xs, ds, per_step, y_1d)``: float64 ``(T_i, n_features)`` inputs and ``(T_i, K)`` targets
        (NaN where none; per-sequence targets at the last step), checked against each other and, unless
        ``first``, against the fitted estimator."""
        name = type(self).__name__
        xs = _sequences(X, name, None if first else self.n_features_in_, need_steps=False)
        n = len(xs)
        per_step, y_1d, ys = _read_targets(y, n, name)
        if per_step:
            for i, (x, d) in enumerate(zip(xs, ys)):
                if d.shape[0] != x.shape[0]:
                    raise ValueError(f"{name}: sequence {i} has {x.shape[0]} steps in X but {d.shape[0]} rows of "
                                     "per-step targets in y")
            ds = ys
        else:
            for i, x in enumerate(xs):
                if x.shape[0] == 0:
                    raise ValueError(f"{name}: sequence {i} of X is empty; a per-sequence target belongs to the "
                                     "last step, so every sequence needs at least one step")
            ds = []
            for x, row in zip(xs, ys):
                d = np.full((x.shape[0], ys.shape[1]), np.nan)
                d[-1] = row
                ds.append(d)
        K = ds[0].shape[1] if ds else 0
        if K < 1:
            raise ValueError(f"{name}: y has no target columns")
        if any(d.shape[1] != K for d in ds):
            raise ValueError(f"{name}: the per-step targets of y must all have the same number of columns")
        for i, d in enumerate(ds):
            if np.isinf(d).any():
                row = int(np.argwhere(np.isinf(d))[0][0])
                raise ValueError(f"{name}: y contains inf (sequence {i}, step {row}); NaN marks a step "
                                 "without a target")
        if not any((~np.isnan(d)).any() for d in ds):
            raise ValueError(f"{name}: every target in y is NaN: nothing to learn (NaN marks a step without "
                             "a target)")
        if not first:
            if K != self.n_outputs_:
                raise ValueError(f"{name}: y has {K} output(s), but {name} was fitted with {self.n_outputs_}")
            if per_step != self.per_step_targets_:
                fitted = "per-step" if self.per_step_targets_ else "per-sequence"
                raise ValueError(f"{name}: y holds {'per-step' if per_step else 'per-sequence'} targets, but "
                                 f"{name} was fitted with {fitted} targets")
        return xs, ds, per_step, y_1d


def _same(a, b) -> bool:
    if a is b:
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False


def _real(a, name: str, what: str) -> np.ndarray:
    """``a`` as a float64 array, like scikit-learn's ``check_array``: real numbers only (bool, integer,
    float); complex, string, object, datetime and other data are refused with ``ValueError``, never cast
    (a complex array would lose its imaginary part). The one conversion of X and y."""
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: {what} is not an array of numbers ({' '.join(str(e).split())})") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"{name}: {what} is complex; the estimator takes real numbers only (give the real "
                         "and imaginary parts as separate features)")
    if kind == "O":
        try:
            vals = [v for v in arr.reshape(-1)]
        except (TypeError, ValueError):
            vals = []
        if any(isinstance(v, (complex, np.complexfloating)) for v in vals):
            raise ValueError(f"{name}: {what} holds complex numbers; the estimator takes real numbers only")
        if not all(isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)) for v in vals):
            bad = next((v for v in vals if not isinstance(v, (bool, int, float, np.bool_, np.integer,
                                                               np.floating))), None)
            raise ValueError(f"{name}: {what} is not numeric (it holds {type(bad).__name__} {bad!r:.60})")
    elif kind not in "biuf":
        raise ValueError(f"{name}: {what} is not numeric (dtype {arr.dtype}); give real numbers")
    try:
        with np.errstate(over="raise"):
            return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, FloatingPointError) as e:
        raise ValueError(f"{name}: {what} cannot be read as real numbers ({' '.join(str(e).split())})") from None


def _sequences(X, name: str, n_features: int | None, need_steps: bool) -> list[np.ndarray]:
    """X as a list of float64 ``(T_i, n_features)`` arrays; refuse NaN/inf, ragged feature counts, and a
    feature count other than ``n_features`` (if given)."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 3:
            raise ValueError(f"{name}: X must be a list of (T_i, n_features) arrays or one array "
                             f"(n_sequences, T, n_features), got an array of shape {X.shape}")
        seqs = list(X)
    elif isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.ndim == 1):
        seqs = list(X)
    else:
        raise ValueError(f"{name}: X must be a list of (T_i, n_features) arrays or one array "
                         f"(n_sequences, T, n_features), got {type(X).__name__}")
    if not seqs:
        raise ValueError(f"{name}: X holds no sequences")
    xs = []
    for i, s in enumerate(seqs):
        x = _real(s, name, f"sequence {i} of X")
        if x.ndim != 2:
            raise ValueError(f"{name}: sequence {i} of X has shape {x.shape}; each must be 2-D (T_i, n_features) "
                             "(one feature: x[:, None])")
        if need_steps and x.shape[0] == 0:
            raise ValueError(f"{name}: sequence {i} of X is empty; the output at its last step is asked for")
        bad = ~np.isfinite(x)
        if bad.any():
            t, j = np.argwhere(bad)[0]
            raise ValueError(f"{name}: X contains {x[t, j]} (sequence {i}, step {t}, feature {j}); inputs must "
                             "be finite")
        xs.append(x)
    nf = {x.shape[1] for x in xs}
    if len(nf) > 1:
        raise ValueError(f"{name}: the sequences of X have different numbers of features: {sorted(nf)}")
    got = nf.pop()
    if got < 1:
        raise ValueError(f"{name}: X has 0 features per step")
    if n_features is not None and got != n_features:
        raise ValueError(f"{name}: X has {got} features per step, but {name} was fitted with {n_features}")
    return xs


def _read_targets(y, n: int, name: str):
    """``(per_step, y_1d, targets)``: per step a list of ``(T_i, K)`` arrays, per sequence one ``(n, K)``."""
    if isinstance(y, np.ndarray) and y.dtype != object:
        if y.ndim == 3:
            items, per_step = list(y), True
        elif y.ndim in (1, 2):
            items, per_step = None, False
        else:
            raise ValueError(f"{name}: y must have shape (n,), (n, K), (n, T, K) or be a list of (T_i, K) arrays, "
                             f"got shape {y.shape}")
    elif isinstance(y, (list, tuple)) or isinstance(y, np.ndarray):
        items = list(y)
        per_step = bool(items) and all(np.ndim(d) == 2 for d in items)
    else:
        raise ValueError(f"{name}: y must be an array or a list of arrays, got {type(y).__name__}")
    if per_step:
        ds = []
        for i, d in enumerate(items):
            ds.append(_real(d, name, f"the targets of sequence {i} (y)"))
        if len(ds) != n:
            raise ValueError(f"{name}: X holds {n} sequences but y holds per-step targets for {len(ds)}")
        return True, False, ds
    try:
        np.asarray(y)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: y must be per-sequence targets (n,) or (n, K), or per-step targets, a list "
                         "of (T_i, K) arrays (one output: d[:, None])") from None
    Y = _real(y, name, "y")
    if Y.ndim not in (1, 2):
        raise ValueError(f"{name}: per-sequence targets y must have shape (n,) or (n, K), got {Y.shape}")
    if Y.shape[0] != n:
        raise ValueError(f"{name}: X holds {n} sequences but y holds {Y.shape[0]} targets")
    return False, Y.ndim == 1, Y.reshape(n, -1)


def _scaling(ds) -> tuple[np.ndarray, np.ndarray]:
    """Per output, ``(offset, scale)``: identity if all its given targets lie in [0, 1], else min-max."""
    d = np.concatenate(ds)
    K = d.shape[1]
    offset, scale = np.zeros(K), np.ones(K)
    for k in range(K):
        v = d[:, k][~np.isnan(d[:, k])]
        if v.size == 0 or (v.min() >= 0.0 and v.max() <= 1.0):
            continue
        lo, hi = float(v.min()), float(v.max())
        if hi > lo:
            if not np.isfinite(hi - lo):
                raise ValueError(f"targets of output {k} span [{lo!r}, {hi!r}], too wide a range to map onto the "
                                 "logistic outputs' [0, 1] (its width overflows float64); rescale them first")
            offset[k], scale[k] = lo, hi - lo
        else:
            offset[k] = lo - 0.5
    return offset, scale


def _check_in_range(scaled, offset, scale, name: str) -> None:
    d = np.concatenate(scaled)
    for k in range(d.shape[1]):
        v = d[:, k][~np.isnan(d[:, k])]
        if v.size and (v.min() < -1e-12 or v.max() > 1 + 1e-12):
            lo, hi = offset[k], offset[k] + scale[k]
            raise ValueError(f"{name}: targets of output {k} lie outside [{lo:.6g}, {hi:.6g}], the range the first "
                             "fit mapped onto the logistic outputs' [0, 1]; give the whole range of the targets "
                             "in the first partial_fit, or rescale them yourself")


def _r2(d: np.ndarray, p: np.ndarray) -> float:
    """R^2 per output over the non-NaN targets, averaged uniformly (scikit-learn's r2_score with
    ``force_finite``: a constant target scores 1 if predicted exactly, else 0)."""
    scores = []
    for k in range(d.shape[1]):
        m = ~np.isnan(d[:, k])
        if not m.any():
            continue
        dk, pk = d[m, k], p[m, k]
        ss_res = float(((dk - pk) ** 2).sum())
        ss_tot = float(((dk - dk.mean()) ** 2).sum())
        scores.append((1.0 - ss_res / ss_tot) if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0))
    return float(np.mean(scores))
