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

import numpy as np

__all__ = ["Batch"]


class Batch:
    """Sequences ``i = 0..n-1`` occupy rows ``offsets[i]:offsets[i+1]`` of the inputs and ``targets``.

    inputs : float64 ``(total_steps, n_in)`` (or see :meth:`one_hot`)
    targets : float64 ``(total_steps, K)``, ``NaN`` where a step has no target
    offsets : int64 ``(n + 1,)``, starting at 0, non-decreasing
    """

    __slots__ = ("_inputs", "symbols", "n_in", "targets", "offsets")

    def __init__(self, inputs, targets, offsets):
        x = np.ascontiguousarray(inputs, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"inputs must be 2-D (steps, n_in), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("inputs contain NaN or inf")
        self._inputs, self.symbols, self.n_in = x, None, x.shape[1]
        self._set_targets(targets, offsets, x.shape[0])

    @classmethod
    def one_hot(cls, symbols, n_in: int, targets, offsets) -> "Batch":
        """A batch whose input at step t is the one-hot vector of ``symbols[t]`` in ``n_in`` dimensions."""
        sym = np.ascontiguousarray(symbols, dtype=np.int64)
        if sym.ndim != 1:
            raise ValueError(f"symbols must be 1-D (steps,), got shape {sym.shape}")
        if n_in < 1 or (sym.size and (sym.min() < 0 or sym.max() >= n_in)):
            raise ValueError(f"symbols must lie in 0..{n_in - 1}")
        b = cls.__new__(cls)
        b._inputs, b.symbols, b.n_in = None, sym, int(n_in)
        b._set_targets(targets, offsets, sym.size)
        return b

    def _set_targets(self, targets, offsets, n_steps: int) -> None:
        d = np.ascontiguousarray(targets, dtype=np.float64)
        o = np.ascontiguousarray(offsets, dtype=np.int64)
        if d.ndim != 2 or d.shape[0] != n_steps:
            raise ValueError(f"targets must be 2-D with {n_steps} rows like the inputs, got shape {d.shape}")
        if o.ndim != 1 or o.size < 1 or o[0] != 0 or o[-1] != n_steps or np.any(np.diff(o) < 0):
            raise ValueError("offsets must start at 0, be non-decreasing and end at the number of steps")
        if np.isinf(d).any():
            raise ValueError("targets contain inf (use NaN for 'no target')")
        self.targets, self.offsets = d, o

    @property
    def inputs(self) -> np.ndarray:
        """Dense inputs ``(steps, n_in)`` (built from ``symbols`` for a one-hot batch)."""
        if self._inputs is None:
            x = np.zeros((self.symbols.size, self.n_in))
            x[np.arange(self.symbols.size), self.symbols] = 1.0
            return x
        return self._inputs

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
        return np.diff(self.offsets)

    @property
    def n_steps(self) -> int:
        return int(self.offsets[-1])

    def __len__(self) -> int:
        return self.offsets.size - 1

    def _rows(self, lo: int, hi: int, offsets) -> "Batch":
        if self.symbols is not None:
            return Batch.one_hot(self.symbols[lo:hi], self.n_in, self.targets[lo:hi], offsets)
        return Batch(self._inputs[lo:hi], self.targets[lo:hi], offsets)

    def __getitem__(self, i):
        """``batch[i]`` is the pair ``(x_i, d_i)`` (dense inputs); ``batch[a:b]`` is a sub-batch."""
        if isinstance(i, slice):
            a, b, st = i.indices(len(self))
            if st != 1:
                raise ValueError("only contiguous slices are supported")
            b = max(a, b)
            lo, hi = self.offsets[a], self.offsets[b]
            return self._rows(lo, hi, self.offsets[a:b + 1] - lo)
        i = range(len(self))[i]
        lo, hi = self.offsets[i], self.offsets[i + 1]
        sub = self._rows(lo, hi, np.array([0, hi - lo]))
        return sub.inputs, sub.targets

    def take(self, idx) -> "Batch":
        """A new batch of the sequences ``idx`` (in that order, repeats allowed)."""
        idx = np.asarray(idx, dtype=np.int64)
        lengths = self.lengths[idx]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rows = (np.repeat(self.offsets[idx] - offsets[:-1], lengths) + np.arange(offsets[-1])).astype(np.int64)
        if self.symbols is not None:
            return Batch.one_hot(self.symbols[rows], self.n_in, self.targets[rows], offsets)
        return Batch(self._inputs[rows], self.targets[rows], offsets)

    @staticmethod
    def concat(batches) -> "Batch":
        """One batch of all sequences of ``batches`` in order (all one-hot or all dense)."""
        batches = list(batches)
        offsets = np.concatenate([[0], np.cumsum(np.concatenate([b.lengths for b in batches]))])
        d = np.concatenate([b.targets for b in batches])
        if all(b.symbols is not None for b in batches):
            return Batch.one_hot(np.concatenate([b.symbols for b in batches]), batches[0].n_in, d, offsets)
        return Batch(np.concatenate([b.inputs for b in batches]), d, offsets)

    def end_indices(self) -> np.ndarray:
        """Row index of the last step of every sequence (-1 for an empty sequence)."""
        return np.where(self.lengths > 0, self.offsets[1:] - 1, -1)

    def __repr__(self) -> str:
        kind = "one-hot" if self.symbols is not None else "dense"
        return f"Batch({len(self)} sequences, {self.n_steps} steps, {self.n_in} inputs ({kind}), {self.n_out} outputs)"
