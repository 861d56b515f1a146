"""Crafted bad data files (issue 19, item 1): sequence lengths that overflow int64 when summed, uint64 lengths
beyond int64, negative or zero lengths, lengths out of their range, lengths of the wrong type or shape, and
shapes with no memory behind them, in both data layouts (docs/model-format.md): (a) ragged, 2-D ``inputs``
with ``lengths``; (b) padded, 3-D ``inputs`` with ``lengths``.

Every file has 2 inputs and 1 target per step, like ``data.npz`` of ``tests/fuzz_cli.py``, so that the model
fitted there can be given each of them: ``lstm1997 fit FILE ...`` and ``lstm1997 predict MODEL FILE ...``
must refuse every one with exit status 2 and a one-line message (before the fix, several of them made the
compiled kernels read outside their arrays: SIGSEGV).

    from fuzz_crafted import crafted_data_files
    names = crafted_data_files(w)      # file names in folder w
"""

from __future__ import annotations

import os

import numpy as np

I64_MAX = 2 ** 63 - 1


def _ragged(rows: int, lengths) -> dict:
    return {"inputs": np.zeros((rows, 2)), "targets": np.full((rows, 1), 0.5), "lengths": lengths}


def _padded(n_seq: int, T: int, lengths) -> dict:
    return {"inputs": np.zeros((n_seq, T, 2)), "targets": np.full((n_seq, T, 1), 0.5), "lengths": lengths}


def _i64(*v) -> np.ndarray:
    return np.array(v, dtype=np.int64)


def _u64(*v) -> np.ndarray:
    return np.array(v, dtype=np.uint64)


def crafted() -> dict[str, dict]:
    """The crafted files, by name: ``{file name: {key: array}}``."""
    return {
        # (a) ragged: lengths whose int64 sum wraps to exactly the number of rows (the cases)
        "crafted-wrap-0rows.npz": _ragged(0, _i64(I64_MAX, I64_MAX, 2)),
        "crafted-wrap-1row.npz": _ragged(1, _i64(I64_MAX, I64_MAX, 3)),
        "crafted-wrap-2rows.npz": _ragged(2, _i64(2 ** 62, 2 ** 62, 2 ** 62, 2 ** 62, 2)),
        "crafted-wrap-neg.npz": _ragged(1, _i64(-2 ** 63, I64_MAX, 2)),
        "crafted-u64-max.npz": _ragged(1, _u64(2 ** 64 - 1)),
        "crafted-u64-wrap.npz": _ragged(2, _u64(2 ** 64 - 1, 3)),
        "crafted-u64-2p63.npz": _ragged(1, _u64(2 ** 63)),
        "crafted-i32-wrap.npz": _ragged(2, np.array([2 ** 31 - 1, 2 ** 31 - 1, 4], dtype=np.int32)),
        "crafted-negative.npz": _ragged(3, _i64(5, -2)),
        "crafted-zero.npz": _ragged(2, _i64(0, 2)),
        "crafted-too-long.npz": _ragged(3, _i64(4)),
        "crafted-sum-short.npz": _ragged(3, _i64(1, 1)),
        "crafted-float.npz": _ragged(2, np.array([1.0, 1.0])),
        "crafted-bool.npz": _ragged(2, np.array([True, True])),
        "crafted-2d.npz": _ragged(2, _i64(2).reshape(1, 1)),
        "crafted-empty.npz": _ragged(2, np.zeros(0, dtype=np.int64)),
        "crafted-string.npz": _ragged(2, np.array(["2"])),
        # a shape with no memory behind it (0 values per step): 2**59 rows, and 33 lengths of 2**59 each (none
        # longer than the data) whose int64 sum wraps to exactly 2**59
        "crafted-zero-width.npz": {"inputs": np.zeros((2 ** 59, 0)), "targets": np.zeros((2 ** 59, 0)),
                                   "lengths": np.full(33, 2 ** 59, dtype=np.int64)},
        # (b) padded
        "crafted-pad-wrap.npz": _padded(3, 2, _i64(I64_MAX, I64_MAX, 2)),
        "crafted-pad-u64-max.npz": _padded(1, 2, _u64(2 ** 64 - 1)),
        "crafted-pad-u64-2p63.npz": _padded(2, 2, _u64(2 ** 63, 1)),
        "crafted-pad-i64-min.npz": _padded(2, 2, _i64(-2 ** 63, 2)),
        "crafted-pad-negative.npz": _padded(2, 2, _i64(-1, 2)),
        "crafted-pad-zero.npz": _padded(2, 2, _i64(2, 0)),
        "crafted-pad-too-long.npz": _padded(2, 2, _i64(3, 1)),
        "crafted-pad-count.npz": _padded(2, 2, _i64(2)),
        "crafted-pad-float.npz": _padded(2, 2, np.array([2.0, 2.0])),
        "crafted-pad-2d.npz": _padded(2, 2, _i64(2, 2).reshape(2, 1)),
        "crafted-pad-zero-width.npz": {"inputs": np.zeros((2 ** 28, 2 ** 28, 0)),
                                       "targets": np.zeros((2 ** 28, 2 ** 28, 0))},
    }


def crafted_data_files(w: str) -> list[str]:
    """Write the crafted bad data files into folder ``w``; returns their file names (in ``w``)."""
    names = []
    for name, arrays in crafted().items():
        with open(os.path.join(w, name), "wb") as f:
            np.savez(f, **arrays)
        names.append(name)
    return names
