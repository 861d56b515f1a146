"""A batch of variable-length sequences, stored ragged (concatenated along time).

Kernels take many sequences per call to keep Python overhead out of the time-step loop;
this is the one container they all share. A step without a target has ``NaN`` targets
(a single output with ``NaN`` contributes no error at that step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Batch"]


@dataclass(frozen=True)
class Batch:
    """Sequences ``i = 0..n-1`` occupy rows ``offsets[i]:offsets[i+1]`` of ``inputs`` and ``targets``.

    inputs : float64 ``(total_steps, n_in)``
    targets : float64 ``(total_steps, K)``, ``NaN`` where a step has no target
    offsets : int64 ``(n + 1,)``, starting at 0, non-decreasing
    """

    inputs: np.ndarray
    targets: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        x = np.ascontiguousarray(self.inputs, dtype=np.float64)
        d = np.ascontiguousarray(self.targets, dtype=np.float64)
        o = np.ascontiguousarray(self.offsets, dtype=np.int64)
        if x.ndim != 2:
            raise ValueError(f"inputs must be 2-D (steps, n_in), got shape {x.shape}")
        if d.ndim != 2 or d.shape[0] != x.shape[0]:
            raise ValueError(f"targets must be 2-D with {x.shape[0]} rows like inputs, got shape {d.shape}")
        if o.ndim != 1 or o.size < 1 or o[0] != 0 or o[-1] != x.shape[0] or np.any(np.diff(o) < 0):
            raise ValueError("offsets must start at 0, be non-decreasing and end at the number of steps")
        if not np.isfinite(x).all():
            raise ValueError("inputs contain NaN or inf")
        if np.isinf(d).any():
            raise ValueError("targets contain inf (use NaN for 'no target')")
        object.__setattr__(self, "inputs", x)
        object.__setattr__(self, "targets", d)
        object.__setattr__(self, "offsets", o)

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
    def n_in(self) -> int:
        return self.inputs.shape[1]

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

    def __getitem__(self, i):
        """``batch[i]`` is the pair ``(x_i, d_i)``; ``batch[a:b]`` is a sub-batch."""
        if isinstance(i, slice):
            a, b, st = i.indices(len(self))
            if st != 1:
                raise ValueError("only contiguous slices are supported")
            lo, hi = self.offsets[a], self.offsets[max(a, b)]
            return Batch(self.inputs[lo:hi], self.targets[lo:hi], self.offsets[a:max(a, b) + 1] - lo)
        i = range(len(self))[i]
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.inputs[lo:hi], self.targets[lo:hi]

    def take(self, idx) -> "Batch":
        """A new batch of the sequences ``idx`` (in that order, repeats allowed)."""
        idx = np.asarray(idx, dtype=np.int64)
        return Batch.from_sequences(*zip(*(self[int(i)] for i in idx))) if idx.size else self[0:0]

    def end_indices(self) -> np.ndarray:
        """Row index of the last step of every sequence (-1 for an empty sequence)."""
        return np.where(self.lengths > 0, self.offsets[1:] - 1, -1)
