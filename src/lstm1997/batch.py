"""A batch of variable-length sequences, stored ragged (concatenated along time).

Kernels take many sequences per call to keep Python overhead out of the time-step loop;
this is the one container they all share. A step without a target has ``NaN`` targets
(a single output with ``NaN`` contributes no error at that step).

Inputs are stored either dense (``inputs``, float64 ``(steps, n_in)``) or, for one-hot coded symbol
sequences, as one symbol index per step (``symbols``, int64 ``(steps,)``, input ``symbols[t]`` is 1
and all others 0). The one-hot form costs O(1) per step instead of O(n_in), and the kernel then touches
one input column per step (Exp. 2c has up to 1004 inputs); ``inputs`` is built from it on demand.
"""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["Batch"]

_I64_MIN, _I64_MAX = -(2 ** 63), 2 ** 63 - 1
_NO_SYMBOLS = np.zeros(0, dtype=np.int64)      # the kernels' symbol argument for a dense batch (not read)


def _at(a: np.ndarray, flat: int) -> str:
    """``[i]`` or ``[i, j, ...]``: the index of flat entry ``flat`` of ``a``, for messages."""
    if a.ndim <= 1:
        return f"[{flat}]"
    return "[" + ", ".join(str(int(k)) for k in np.unravel_index(flat, a.shape)) + "]"


def _exact_int64(values, what: str) -> np.ndarray:
    """``values`` as a C-contiguous int64 array holding exactly the same integers, or ``ValueError``.

    Any integer dtype is accepted (uint64 included) and so are Python ints of any size and floats that
    are whole numbers; a value that does not fit int64 is refused with its exact value (never a wrapped
    one), and so are non-integral or non-finite floats, booleans, object arrays and non-numbers. No
    arithmetic here can overflow: values are only compared, never summed or subtracted.
    """
    given = values
    if not isinstance(values, np.ndarray):
        try:
            values = np.asarray(values)
        except (ValueError, TypeError, OverflowError) as e:
            raise ValueError(f"{what} must be an array of integers ({' '.join(str(e).split())})") from None
    kind = values.dtype.kind
    if kind in "fO" and not isinstance(given, np.ndarray):
        # NumPy makes a list holding ints beyond int64 (or both signs beyond it) object or float64, and a
        # float64 would round them: find such an int in the list itself and name it exactly
        try:
            objs = np.asarray(given, dtype=object).ravel()
        except (ValueError, TypeError):
            objs = np.empty(0, dtype=object)
        for k, v in enumerate(objs):
            if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) \
                    and not _I64_MIN <= int(v) <= _I64_MAX:
                raise ValueError(f"{what}{_at(values, k)} = {int(v)} does not fit a 64-bit signed integer")
    if kind == "b":
        raise ValueError(f"{what} must hold integers, got booleans (dtype bool)")
    if kind == "i":
        return np.ascontiguousarray(values, dtype=np.int64)
    if kind == "u":
        if values.dtype.itemsize >= 8 and values.size:
            big = values > np.uint64(_I64_MAX)
            if big.any():
                k = int(np.argmax(big.ravel()))
                raise ValueError(f"{what}{_at(values, k)} = {int(values.ravel()[k])} does not fit a 64-bit "
                                 "signed integer")
        return np.ascontiguousarray(values, dtype=np.int64)
    if kind == "f":
        flat = values.ravel()
        bad = ~np.isfinite(flat)
        if not bad.any():
            bad = flat != np.floor(flat)
        if not bad.any():     # both bounds are exact in float64; 2**63 itself does not fit
            bad = (flat < float(_I64_MIN)) | (flat >= float(2 ** 63))
        if bad.any():
            k = int(np.argmax(bad))
            v = float(flat[k])
            why = ("is not finite" if not np.isfinite(v) else "is not a whole number" if v != np.floor(v)
                   else f"(= {int(v)}) does not fit a 64-bit signed integer")
            raise ValueError(f"{what} must hold integers, but {what}{_at(values, k)} = {v!r} {why}")
        return np.ascontiguousarray(values, dtype=np.int64)
    raise ValueError(f"{what} must hold integers, got dtype {values.dtype}")


def _check_offsets(offsets, n_steps: int) -> np.ndarray:
    """The one check of a batch's sequence boundaries, which every constructor, loader and kernel call
    goes through: ``offsets`` as a 1-D int64 array that starts at 0, never decreases and ends at
    ``n_steps`` (so every sequence's rows lie inside the data), or ``ValueError`` naming the first
    offending entry and its exact value. Neighbours are compared directly, never subtracted (a
    difference can wrap in int64); O(number of sequences)."""
    o = _exact_int64(offsets, "offsets")
    if o.ndim != 1 or o.size < 1:
        raise ValueError(f"offsets must be 1-D with at least one entry (0, then the end of each sequence), "
                         f"got shape {o.shape}")
    if o[0] != 0:
        raise ValueError(f"offsets must start at 0, got offsets[0] = {int(o[0])}")
    down = o[1:] < o[:-1]
    if down.any():
        i = int(np.argmax(down))
        raise ValueError(f"offsets must be non-decreasing, but offsets[{i + 1}] = {int(o[i + 1])} is less than "
                         f"offsets[{i}] = {int(o[i])} (sequence {i} would have a negative length)")
    if o[-1] != n_steps:
        raise ValueError(f"offsets must end at the number of steps ({n_steps}), got offsets[-1] = {int(o[-1])}")
    return o


def _check_n_in(n_in) -> int:
    if isinstance(n_in, (bool, np.bool_)):
        raise ValueError(f"n_in must be a positive integer, got {n_in!r}")
    try:
        n = operator.index(n_in)
    except TypeError:
        raise ValueError(f"n_in must be a positive integer, got {n_in!r}") from None
    if not 1 <= n <= _I64_MAX:
        raise ValueError(f"n_in must be a positive integer that fits 64 bits, got {n}")
    return int(n)


def _check_symbols(symbols, n_in: int) -> np.ndarray:
    """``symbols`` as a 1-D int64 array of indices ``0..n_in-1``, or ``ValueError`` naming the first one
    outside (exactly, never wrapped). O(steps), vectorised."""
    sym = _exact_int64(symbols, "symbols")
    if sym.ndim != 1:
        raise ValueError(f"symbols must be 1-D (steps,), got shape {sym.shape}")
    if sym.size and (sym.min() < 0 or sym.max() >= n_in):
        k = int(np.argmax((sym < 0) | (sym >= n_in)))
        raise ValueError(f"symbols must lie in 0..{n_in - 1} (one per input), got symbols[{k}] = {int(sym[k])}")
    return sym


def _writable(x: np.ndarray) -> np.ndarray:
    """``x``, or a copy of it if it is read-only: the kernels always get writable arrays (a read-only array
    is another type to Numba, compiled once more), though they never write to a batch. An array the
    caller passed that needs no conversion is used as it is (never copied, its flags never touched)."""
    return x if x.flags.writeable else x.copy()


def _read_only(a):
    """A read-only view of ``a`` (``a`` itself, which may be the caller's array, keeps its flags)."""
    if a is None:
        return None
    v = a.view()
    v.flags.writeable = False
    return v


class Batch:
    """Sequences ``i = 0..n-1`` occupy rows ``offsets[i]:offsets[i+1]`` of the inputs and ``targets``.

    inputs : float64 ``(total_steps, n_in)`` (or see :meth:`one_hot`)
    targets : float64 ``(total_steps, K)``, ``NaN`` where a step has no target
    offsets : int64 ``(n + 1,)``, starting at 0, non-decreasing, ending at ``total_steps``

    A batch is immutable: its attributes cannot be set, and the arrays it shows (``inputs``, ``targets``,
    ``offsets``, ``symbols``) are read-only views. The offsets are always the batch's own copy; inputs,
    targets and symbols you pass that need no conversion are used without a copy (they keep their own
    flags: writing to them yourself still changes the batch, and :meth:`check`, which every kernel call
    runs first, refuses a batch whose symbols that broke). Every constructor validates through the same
    functions (``_check_offsets``, ``_check_symbols``), and so does :meth:`check`.
    """

    __slots__ = ("_inputs", "_symbols", "_n_in", "_targets", "_offsets")

    def __init__(self, inputs, targets, offsets):
        x = _writable(np.ascontiguousarray(inputs, dtype=np.float64))
        if x.ndim != 2:
            raise ValueError(f"inputs must be 2-D (steps, n_in), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("inputs contain NaN or inf")
        self._init(x, None, x.shape[1], targets, offsets)

    @classmethod
    def one_hot(cls, symbols, n_in: int, targets, offsets) -> "Batch":
        """A batch whose input at step t is the one-hot vector of ``symbols[t]`` in ``n_in`` dimensions."""
        n_in = _check_n_in(n_in)
        sym = _writable(_check_symbols(symbols, n_in))
        b = cls.__new__(cls)
        b._init(None, sym, n_in, targets, offsets)
        return b

    def _init(self, x, sym, n_in: int, targets, offsets) -> None:
        n_steps = x.shape[0] if sym is None else sym.size
        d = _writable(np.ascontiguousarray(targets, dtype=np.float64))
        if d.ndim != 2 or d.shape[0] != n_steps:
            raise ValueError(f"targets must be 2-D with {n_steps} rows like the inputs, got shape {d.shape}")
        o = _check_offsets(offsets, n_steps)
        if isinstance(offsets, np.ndarray) and np.may_share_memory(o, offsets):
            o = o.copy()               # small (one entry per sequence): a batch's offsets are its own
        if np.isinf(d).any():
            raise ValueError("targets contain inf (use NaN for 'no target')")
        for k, v in (("_inputs", x), ("_symbols", sym), ("_n_in", int(n_in)), ("_targets", d), ("_offsets", o)):
            object.__setattr__(self, k, v)

    def __setattr__(self, key, value):
        raise AttributeError(f"a Batch is immutable (cannot set {key!r}): build a new one, e.g. with Batch(...), "
                             "Batch.one_hot(...), batch.take(...) or Batch.concat(...)")

    def __delattr__(self, key):
        raise AttributeError(f"a Batch is immutable (cannot delete {key!r})")

    def __reduce__(self):            # pickle and copy rebuild through the constructors (validated again)
        if self._symbols is not None:
            return (Batch.one_hot, (self._symbols, self._n_in, self._targets, self._offsets))
        return (Batch, (self._inputs, self._targets, self._offsets))

    def check(self) -> None:
        """Check again every invariant the compiled kernels rely on, in the arrays they are given
        (:meth:`_kernel_arrays`): ``ValueError`` if one fails. Every kernel call runs it first, so that no
        batch, however it was made (``Batch.__new__``, attributes forced with ``object.__setattr__``, an
        aliased array written to afterwards), can make a kernel read outside its arrays. O(sequences),
        plus O(steps) vectorised for a one-hot batch's symbols; nothing per weight."""
        try:
            x, sym, n_in, d, o = self._inputs, self._symbols, self._n_in, self._targets, self._offsets
        except AttributeError:
            raise ValueError("not a complete Batch (build one with Batch(...), Batch.one_hot(...) or "
                             "Batch.from_sequences(...))") from None

        def ok(a, dtype, ndim) -> bool:
            return type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim and a.flags.c_contiguous

        if type(n_in) is not int or not 0 <= n_in <= _I64_MAX:
            raise ValueError(f"a Batch's n_in must be an int >= 0, got {n_in!r}")
        if sym is None:
            if not ok(x, np.float64, 2) or x.shape[1] != n_in:
                raise ValueError(f"a Batch's inputs must be a C-contiguous float64 array (steps, {n_in})")
            n_steps = x.shape[0]
        else:
            if x is not None or not ok(sym, np.int64, 1):
                raise ValueError("a one-hot Batch's symbols must be a C-contiguous 1-D int64 array")
            _check_symbols(sym, n_in)
            n_steps = sym.shape[0]
        if not ok(d, np.float64, 2) or d.shape[0] != n_steps:
            raise ValueError(f"a Batch's targets must be a C-contiguous float64 array with {n_steps} rows")
        if not ok(o, np.int64, 1):
            raise ValueError("a Batch's offsets must be a C-contiguous 1-D int64 array")
        _check_offsets(o, n_steps)

    def _kernel_arrays(self) -> tuple:
        """``(X, sym, use_sym, D, offsets)``: the arrays a kernel reads (dense inputs or symbol indices,
        targets, offsets), the batch's own (not the read-only views). Call :meth:`check` first."""
        if self._symbols is not None:
            return np.zeros((0, self._n_in)), self._symbols, True, self._targets, self._offsets
        return self._inputs, _NO_SYMBOLS, False, self._targets, self._offsets

    @property
    def inputs(self) -> np.ndarray:
        """Dense inputs ``(steps, n_in)`` (built from ``symbols`` for a one-hot batch; read-only otherwise)."""
        if self._inputs is None:
            x = np.zeros((self._symbols.size, self._n_in))
            x[np.arange(self._symbols.size), self._symbols] = 1.0
            return x
        return _read_only(self._inputs)

    @property
    def symbols(self) -> np.ndarray | None:
        """One symbol index per step (int64 ``(steps,)``, read-only) of a one-hot batch, else ``None``."""
        return _read_only(self._symbols)

    @property
    def n_in(self) -> int:
        return self._n_in

    @property
    def targets(self) -> np.ndarray:
        """float64 ``(steps, K)``, ``NaN`` where a step has no target (read-only)."""
        return _read_only(self._targets)

    @property
    def offsets(self) -> np.ndarray:
        """int64 ``(n + 1,)`` (read-only): sequence ``i`` is rows ``offsets[i]:offsets[i+1]``."""
        return _read_only(self._offsets)

    @classmethod
    def from_sequences(cls, xs, ds) -> "Batch":
        """Build from lists of per-sequence arrays ``x_i (T_i, n_in)`` and ``d_i (T_i, K)``."""
        xs = [np.asarray(x, dtype=np.float64) for x in xs]
        ds = [np.asarray(d, dtype=np.float64) for d in ds]
        if len(xs) != len(ds):
            raise ValueError(f"{len(xs)} input sequences but {len(ds)} target sequences")
        if not xs:
            raise ValueError("no sequences")
        for i, (x, d) in enumerate(zip(xs, ds)):
            if x.ndim != 2 or d.ndim != 2 or x.shape[0] != d.shape[0]:
                raise ValueError(f"sequence {i}: inputs {x.shape} and targets {d.shape} must be 2-D "
                                 "with the same number of steps")
        offsets = np.concatenate([[0], np.cumsum([x.shape[0] for x in xs])])
        return cls(np.concatenate(xs), np.concatenate(ds), offsets)

    @property
    def n_out(self) -> int:
        return self.targets.shape[1]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self._offsets)    # cannot wrap: the offsets lie in 0..n_steps, non-decreasing

    @property
    def n_steps(self) -> int:
        return int(self._offsets[-1])

    def __len__(self) -> int:
        return self._offsets.size - 1

    def _rows(self, lo: int, hi: int, offsets) -> "Batch":
        if self._symbols is not None:
            return Batch.one_hot(self._symbols[lo:hi], self._n_in, self._targets[lo:hi], offsets)
        return Batch(self._inputs[lo:hi], self._targets[lo:hi], offsets)

    def __getitem__(self, i):
        """``batch[i]`` is the pair ``(x_i, d_i)`` (dense inputs); ``batch[a:b]`` is a sub-batch."""
        if isinstance(i, slice):
            a, b, st = i.indices(len(self))
            if st != 1:
                raise ValueError("only contiguous slices are supported")
            b = max(a, b)
            lo, hi = self._offsets[a], self._offsets[b]
            return self._rows(lo, hi, self._offsets[a:b + 1] - lo)
        i = range(len(self))[operator.index(i)]
        lo, hi = int(self._offsets[i]), int(self._offsets[i + 1])      # Python ints: hi - lo cannot wrap
        sub = self._rows(lo, hi, [0, hi - lo])
        return sub.inputs, sub.targets

    def take(self, idx) -> "Batch":
        """A new batch of the sequences ``idx`` (in that order, repeats allowed)."""
        idx = _exact_int64(idx, "idx")
        lengths = self.lengths[idx]       # NumPy checks the indices (IndexError outside -n..n-1)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        _check_offsets(offsets, int(offsets[-1]))     # a sum that wrapped would decrease: refused here
        rows = (np.repeat(self._offsets[idx] - offsets[:-1], lengths) + np.arange(offsets[-1])).astype(np.int64)
        if self._symbols is not None:
            return Batch.one_hot(self._symbols[rows], self._n_in, self._targets[rows], offsets)
        return Batch(self._inputs[rows], self._targets[rows], offsets)

    @staticmethod
    def concat(batches) -> "Batch":
        """One batch of all sequences of ``batches`` in order (all one-hot or all dense)."""
        batches = list(batches)
        if not batches or not all(isinstance(b, Batch) for b in batches):
            raise ValueError("Batch.concat needs one or more lstm1997.Batch")
        offsets = np.concatenate([[0], np.cumsum(np.concatenate([b.lengths for b in batches]))]).astype(np.int64)
        d = np.concatenate([b._targets for b in batches])
        if all(b._symbols is not None for b in batches):
            return Batch.one_hot(np.concatenate([b._symbols for b in batches]), batches[0]._n_in, d, offsets)
        return Batch(np.concatenate([b._inputs if b._symbols is None else b.inputs for b in batches]), d, offsets)

    def end_indices(self) -> np.ndarray:
        """Row index of the last step of every sequence (-1 for an empty sequence)."""
        return np.where(self.lengths > 0, self._offsets[1:] - 1, -1)

    def __repr__(self) -> str:
        kind = "one-hot" if self._symbols is not None else "dense"
        return f"Batch({len(self)} sequences, {self.n_steps} steps, {self.n_in} inputs ({kind}), {self.n_out} outputs)"
