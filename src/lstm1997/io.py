"""Model and data files: NumPy ``.npz`` archives, always read with ``allow_pickle=False``.

Reading a file can never run code: no member is ever unpickled, and a file holding
pickled Python objects (object arrays) is refused. Every problem with a file (missing,
not an ``.npz``, foreign, corrupt, inconsistent) raises :class:`FormatError`, a
``ValueError`` with a one-line message that starts with the file name.
The full description, key by key, is in ``docs/model-format.md``.

Model file (:func:`save_model` / :func:`load_model`)
    ===================  ===================================================================
    ``format``           0-d unicode array ``"lstm1997-model"``
    ``format_version``   0-d integer array, ``1``
    ``architecture``     0-d unicode array, the JSON of :meth:`Architecture.to_json`
    ``w_in``             input-gate weights, ``(C, n_src)``
    ``w_out``            output-gate weights, ``(C, n_src)``, or ``(0, n_src)`` without output gates
    ``w_c``              cell-input weights, ``(C*S, n_src)``, block-major
    ``w_hidden``         conventional hidden-unit weights, ``(H, n_src)``
    ``w_k``              output-unit weights, ``(K, n_osrc)``
    ``mask_in`` ...      boolean masks of the same shapes (``mask_in``, ``mask_out``,
                         ``mask_c``, ``mask_hidden``, ``mask_k``): which weights are
                         present; they must be the architecture's masks or a subset of
                         them (connections not yet added, e.g. during sequential network
                         construction), and every weight where the mask is ``False`` must
                         be exactly 0
    ``sources_h``        1-D unicode ``(n_src,)``: the name of each column of the ``w_in``,
                         ``w_out``, ``w_c``, ``w_hidden`` rows (``x0``, ``in_gate0(t-1)``,
                         ``out_gate0(t-1)``, ``cell0.1(t-1)``, ``hidden0(t-1)``, ``bias``)
    ``sources_k``        1-D unicode ``(n_osrc,)``: the name of each column of ``w_k``
                         (``x0`` if outputs see inputs, ``cell0.0``, ``hidden0``, ``bias``)
    ===================  ===================================================================

    Stacking ``w_in, w_out, w_c, w_hidden`` row-wise gives :attr:`LSTM.W_h`; ``w_k`` is
    :attr:`LSTM.W_k`. Weights are float64 and round-trip bit for bit.

    A net with a later cell variant (the architecture JSON has ``"forget_gate": true`` and/or
    ``"peepholes": true``) has, in addition: ``w_phi``/``mask_phi`` (forget-gate weights ``(C, n_src)``,
    stacked between ``w_out`` and ``w_c`` in ``W_h``; the ``sources_h`` then name ``forget_gate0(t-1)``
    ...), and ``w_p``/``mask_p`` (peephole weights :attr:`LSTM.W_p`, one row per gate kind present in the
    order in, out, forget, one column per cell). A 1997 net's file has exactly the keys it always had, and
    files without these keys load as 1997 nets.

Data file (:func:`save_data` / :func:`load_data`), two layouts
    (a) ragged (what :func:`save_data` writes): ``inputs`` ``(total_steps, n_in)``,
        ``targets`` ``(total_steps, K)`` with ``NaN`` where a step has no target, and
        ``lengths`` ``(n_seq,)``, positive integers summing to ``total_steps``; sequence
        ``i`` is rows ``sum(lengths[:i]) : sum(lengths[:i+1])``.
    (b) padded: ``inputs`` ``(n_seq, T, n_in)`` and ``targets`` ``(n_seq, T, K)``; without
        ``lengths`` every sequence has length ``T``; with ``lengths`` (each ``1..T``)
        sequence ``i`` is the first ``lengths[i]`` steps and the rest is padding (ignored,
        may hold anything, NaN included).

    ``targets`` may be left out of files used only for prediction (see ``load_data``'s
    ``require_targets``). :func:`save_data` also writes ``format = "lstm1997-data"`` and
    ``format_version = 1``; both are optional when reading.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from typing import Any, Callable, Iterable

import numpy as np

from .batch import Batch, _check_offsets
from .network import LSTM, Architecture

__all__ = ["FormatError", "save_model", "load_model", "save_data", "load_data", "source_names",
           "check_destination", "write_text", "MODEL_FORMAT", "DATA_FORMAT", "FORMAT_VERSION"]

MODEL_FORMAT = "lstm1997-model"
RNN_FORMAT = "lstm1997-rnn-model"     # a baseline net (lstm1997.rnn.RNN): architecture JSON, W, mask
DATA_FORMAT = "lstm1997-data"
FORMAT_VERSION = 1

#: weight key, mask key, ``Architecture`` row-range attribute (``None``: ``W_k``)
_GROUPS = (("w_in", "mask_in", "rows_in"), ("w_out", "mask_out", "rows_out"),
           ("w_c", "mask_c", "rows_c"), ("w_hidden", "mask_hidden", "rows_hidden"),
           ("w_k", "mask_k", None))
#: the groups of the cell variants (only in the files of nets that have them); ``"W_p"``: the peepholes
_PHI_GROUP = ("w_phi", "mask_phi", "rows_phi")
_P_GROUP = ("w_p", "mask_p", "W_p")
_W_H_KEYS = ("w_in", "w_out", "w_phi", "w_c", "w_hidden")     # row order of W_h


def _groups(arch: Architecture) -> tuple:
    """The weight groups of a model file of ``arch``, in file order."""
    out = _GROUPS
    if arch.forget_gate:
        out = out[:2] + (_PHI_GROUP,) + out[2:]
    if arch.peepholes:
        out = out + (_P_GROUP,)
    return out

_INT_FIELDS = ("n_in", "n_out", "blocks", "cells", "hidden")
_BOOL_FIELDS = ("output_gates", "outputs_see_inputs", "forget_gate", "peepholes")


class FormatError(ValueError):
    """A model or data file cannot be used: unreadable, not ours, corrupt or inconsistent.

    The message is one line and starts with the file name.
    """


# ---- helpers ----------------------------------------------------------------------------------

def _one_line(x: Any) -> str:
    return " ".join(str(x).split())


def _fail(name: str, what: str) -> FormatError:
    return FormatError(f"{name}: {_one_line(what)}")


def _read_npz(path, name: str) -> dict[str, np.ndarray]:
    """Every member of the archive at ``path`` (or in a binary file object) as an ndarray, never
    unpickling anything."""
    if not hasattr(path, "read"):
        try:
            kind = _not_regular(os.stat(path))
        except OSError:
            kind = None                  # open() below says what is wrong
        if kind is not None and kind != "a folder":      # a FIFO would block forever, a device never end
            raise _fail(name, f"is {kind}, not a regular file")
    try:
        fh = path if hasattr(path, "read") else open(path, "rb")  # our own handle: np.load leaks its own if the zip is corrupt
    except FileNotFoundError:
        raise _fail(name, "no such file") from None
    except IsADirectoryError:
        raise _fail(name, "is a directory, not a file") from None
    except PermissionError:
        raise _fail(name, "permission denied") from None
    except OSError as e:
        raise _fail(name, f"cannot be read ({e.strerror or e})") from None
    with fh:
        try:
            f = np.load(fh, allow_pickle=False)
        except OSError as e:
            raise _fail(name, f"cannot be read ({e.strerror or e})") from None
        except Exception as e:  # unknown magic (numpy then refuses to unpickle), EOFError, BadZipFile, ...
            detail = "" if "pickle" in str(e) else f" ({type(e).__name__}: {e})"
            raise _fail(name, f"not a NumPy .npz archive{detail}") from None
        if isinstance(f, np.ndarray):
            raise _fail(name, "is a single NumPy .npy array, not a .npz archive")
        out: dict[str, np.ndarray] = {}
        with f:
            for key in f.files:
                try:
                    arr = f[key]
                except ValueError as e:
                    if "pickle" in str(e):
                        raise _fail(name, f"member {key!r} holds pickled Python objects, which are "
                                          "never loaded (allow_pickle=False)") from None
                    raise _fail(name, f"member {key!r} is corrupt ({e})") from None
                except Exception as e:
                    raise _fail(name, f"member {key!r} is corrupt ({type(e).__name__}: {e})") from None
                if not isinstance(arr, np.ndarray):
                    raise _fail(name, f"member {key!r} is not a NumPy array (not a .npz archive?)")
                if arr.dtype.hasobject:  # cannot happen with allow_pickle=False; belt and braces
                    raise _fail(name, f"member {key!r} holds Python objects")
                out[key] = arr
    return out


def _str0(d: dict, key: str, name: str) -> str:
    a = d[key]
    if a.ndim != 0 or a.dtype.kind != "U":
        raise _fail(name, f"{key!r} must be a 0-d unicode string array, got dtype {a.dtype} "
                          f"and shape {a.shape}")
    return str(a[()])


def _check_version(d: dict, name: str) -> None:
    a = d["format_version"]
    if a.ndim != 0 or a.dtype.kind not in "iu":
        raise _fail(name, f"'format_version' must be a 0-d integer array, got dtype {a.dtype} "
                          f"and shape {a.shape}")
    v = int(a[()])
    if v != FORMAT_VERSION:
        raise _fail(name, f"format version {v} is not supported (this lstm1997 reads version "
                          f"{FORMAT_VERSION})")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: what to do about an error writing a file, by errno
_WRITE_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or write somewhere else",
    errno.EFBIG: "the file is too large (a file-size limit, ulimit -f, or the file system's): write somewhere "
                 "else or raise the limit",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EACCES: "permission denied: write somewhere you may write",
    errno.EPERM: "permission denied: write somewhere you may write",
    errno.EDQUOT: "the disk quota is exhausted: free some space or write somewhere else",
    errno.ENAMETOOLONG: "the file name is too long",
}


def write_error_hint(e: OSError) -> str:
    """A short, one-line explanation of an error writing a file and what to do about it."""
    return _WRITE_HINTS.get(e.errno) or _one_line(e.strerror or e)


def _not_regular(st: os.stat_result) -> str | None:
    """What kind of non-regular file ``st`` is (``None`` for a regular file)."""
    m = st.st_mode
    if stat.S_ISREG(m):
        return None
    if stat.S_ISDIR(m):
        return "a folder"
    if stat.S_ISCHR(m) or stat.S_ISBLK(m):
        return "a device"
    if stat.S_ISFIFO(m):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(m):
        return "a socket"
    return "not a regular file"


def _refuse_non_regular(path: str) -> None:
    """Raise ``ValueError`` if ``path`` exists and is not a regular file (a folder, device, FIFO or socket):
    such a destination is never replaced."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError:
        return                   # whatever it is, writing there will say so
    kind = _not_regular(st)
    if kind is not None:
        raise ValueError(f"{path}: is {kind}, not a regular file, and is never replaced; give a file name "
                         "to write")


def check_destination(path, inputs: Iterable = (), what: str = "the output") -> None:
    """Raise ``ValueError`` (one line, naming ``path`` and what to do) unless a file can be written at
    ``path`` without harm, before any work is done: it is not a folder, device, FIFO or socket, not one of
    the ``inputs`` (same file, by inode), its folder exists and a file can be created there (tested by
    creating and removing an empty temporary file; nothing is left behind)."""
    p = os.fspath(path)
    if not p.strip():
        raise ValueError(f"{what} needs a file name")
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise ValueError(f"{p}: cannot be written ({write_error_hint(e)})") from None
    if st is not None:
        kind = _not_regular(st)
        if kind is not None:
            hint = (f"; give a file name in it (e.g. {os.path.join(p, 'out')})" if kind == "a folder"
                    else "; give a file name to write")
            raise ValueError(f"{p}: is {kind}, not a regular file, and is never replaced{hint}")
        for inp in inputs:
            if inp is None:
                continue
            try:
                si = os.stat(os.fspath(inp))
            except OSError:
                continue
            if (si.st_dev, si.st_ino) == (st.st_dev, st.st_ino):
                raise ValueError(f"{p}: is the input file {os.fspath(inp)}; refusing to overwrite an input, "
                                 "give another file name for " + what)
    directory, base = os.path.split(p)       # not abspath: "missing/../x" is no path to write to
    directory = directory or os.curdir
    if not base:
        raise ValueError(f"{what} needs a file name, got {p!r}")
    if not os.path.isdir(directory):
        raise ValueError(f"{p}: folder {directory} does not exist (or is not a folder); create it first")
    probe = os.path.join(directory, f".{base[:100]}.{os.getpid()}.{secrets.token_hex(4)}.probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise ValueError(f"{p}: cannot be written ({write_error_hint(e)})") from None
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name the same file, whether or not it exists yet: the same path once
    resolved (symbolic links, ``..``, ``.``, relative against absolute), or, for files that exist, the
    same inode on the same device (a hard link, a bind mount)."""
    pa, pb = os.fspath(a), os.fspath(b)
    if os.path.realpath(pa) == os.path.realpath(pb):
        return True
    try:
        return os.path.samestat(os.stat(pa), os.stat(pb))
    except (OSError, ValueError):
        return False


def _inside(path, folder) -> bool:
    """Whether ``path`` lies (once resolved) inside ``folder`` (once resolved)."""
    p, f = os.path.realpath(os.fspath(path)), os.path.realpath(os.fspath(folder))
    return p.startswith(f.rstrip(os.sep) + os.sep)


def check_overlaps(outputs: Iterable, inputs: Iterable = (), folders: Iterable = ()) -> None:
    """Raise ``ValueError`` (one line, before any work) if an output of a command would replace one of its
    inputs or another of its outputs: the one check every command of the CLI goes through.

    outputs : ``(what, path)`` pairs of the files the command writes (or replaces), existing or not;
    inputs : ``(what, path)`` pairs of the files it reads (a results store and its ``-wal``/``-shm``
        files are inputs and outputs at once: list them as outputs);
    folders : ``(what, path)`` pairs of folders whose files the command replaces (no input may lie there).
    Paths that are ``None`` are skipped. Files are compared by resolved path and, where they exist, by
    inode (:func:`same_file`), so a symbolic link, a hard link or another spelling of a path is caught, and
    so are two outputs that will both be created at the same new path.
    """
    outs = [(w, os.fspath(p)) for w, p in outputs if p is not None]
    ins = [(w, os.fspath(p)) for w, p in inputs if p is not None]
    for i, (w, p) in enumerate(outs):
        for w2, p2 in ins:
            if same_file(p, p2):
                raise ValueError(f"{p}: {w} would replace the input {w2} ({p2}); refusing to overwrite an "
                                 f"input: give {w} another file name")
        for w2, p2 in outs[:i]:
            if same_file(p, p2):
                raise ValueError(f"{p}: {w} and {w2} ({p2}) name the same file, and one would replace the "
                                 f"other; give them different file names")
    for w, f in folders:
        if f is None:
            continue
        for w2, p2 in ins + outs:
            if _inside(p2, f):
                raise ValueError(f"{p2}: {w2} lies in {f}, whose files {w} replaces; move it or choose "
                                 f"another {w}")


def _write_atomic_with(path, write: Callable) -> None:
    """Write a file at exactly ``path`` atomically: ``write(fh)`` fills a temporary file in the same folder,
    which then replaces ``path``. A destination that exists and is not a regular file (a folder, device,
    FIFO, socket) is refused with ``ValueError`` and never replaced; on any failure (full disk, read-only
    file system, interruption) the temporary file is removed and ``path`` is untouched."""
    path = os.fspath(path)
    _refuse_non_regular(path)
    directory, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{base[:100]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never clobber anything; mode 0o666 lets the umask decide, like open(..., "w")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _refuse_non_regular(path)      # it may have become one meanwhile
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_atomic(path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` to exactly ``path``, atomically."""
    _write_atomic_with(path, lambda fh: np.savez(fh, **arrays))   # a file object: no ".npz" is appended


def write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to exactly ``path``, atomically, like the model files (see
    :func:`save_model`): never a partial file, never replacing a folder, device, FIFO or socket."""
    data = text.encode("utf-8")
    _write_atomic_with(path, lambda fh: fh.write(data))


# ---- model files ------------------------------------------------------------------------------

def source_names(arch: Architecture) -> tuple[list[str], list[str]]:
    """Names of the columns of ``W_h`` and of ``W_k`` (the ``sources_h``/``sources_k`` of a
    model file), e.g. ``x0, in_gate0(t-1), out_gate0(t-1), cell0.0(t-1), hidden0(t-1), bias``
    and ``cell0.0, hidden0, bias``."""
    xs = [f"x{i}" for i in range(arch.n_in)]
    cells = [f"cell{j}.{v}" for j in range(arch.blocks) for v in range(arch.cells)]
    hid = [f"hidden{i}" for i in range(arch.hidden)]
    units = ([f"in_gate{j}" for j in range(arch.blocks)]
             + [f"out_gate{j}" for j in range(arch.n_out_gates)]
             + [f"forget_gate{j}" for j in range(arch.n_forget_gates)] + cells + hid)
    sources_h = xs + [f"{u}(t-1)" for u in units] + ["bias"]
    sources_k = (xs if arch.outputs_see_inputs else []) + cells + hid + ["bias"]
    assert len(sources_h) == arch.n_src and len(sources_k) == arch.n_osrc
    return sources_h, sources_k


def save_model(net: LSTM, path) -> None:
    """Write ``net`` to exactly ``path`` (no suffix is added) as a model ``.npz``; ``path`` may also be a
    binary file object (e.g. ``io.BytesIO``), written to as is.

    The write is atomic (temporary file in the same directory, then ``os.replace``), so an
    interrupted save never leaves a partial file. Raises ``ValueError`` for a network with
    NaN or inf weights (such a file could not be loaded back).
    """
    from .rnn import RNN

    if not isinstance(net, (LSTM, RNN)):
        raise TypeError(f"expected a lstm1997.LSTM (or a baseline lstm1997.rnn.RNN), got {type(net).__name__}")
    if not net.is_finite():
        raise ValueError("refusing to save a network with NaN or inf weights")
    if isinstance(net, RNN):
        arrays = {"format": np.array(RNN_FORMAT), "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
                  "architecture": np.array(net.arch.to_json()), "W": net.W.copy(), "mask": net.mask.copy()}
        if hasattr(path, "write"):
            np.savez(path, **arrays)
        else:
            _write_atomic(path, arrays)
        return
    a = net.arch
    mh, mk = net.mask_h, net.mask_k
    sources_h, sources_k = source_names(a)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(MODEL_FORMAT),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "architecture": np.array(a.to_json()),
    }
    for wkey, mkey, rows in _groups(a):
        if rows is None:
            w, m = net.W_k, mk
        elif rows == "W_p":
            w, m = net.W_p, net.mask_p
        else:
            w, m = net.W_h[getattr(a, rows)], mh[getattr(a, rows)]
        arrays[wkey] = np.ascontiguousarray(w, dtype=np.float64)
        arrays[mkey] = np.ascontiguousarray(m, dtype=bool)
    arrays["sources_h"] = np.array(sources_h, dtype=str)
    arrays["sources_k"] = np.array(sources_k, dtype=str)
    if hasattr(path, "write"):
        np.savez(path, **arrays)
    else:
        _write_atomic(path, arrays)


def _parse_architecture(text: str, name: str) -> Architecture:
    try:
        d = json.loads(text)
    except ValueError as e:
        raise _fail(name, f"invalid architecture JSON ({e})") from None
    if not isinstance(d, dict):
        raise _fail(name, f"invalid architecture: expected a JSON object, got {type(d).__name__}")
    for k in _INT_FIELDS:
        if k in d and not _is_int(d[k]):
            raise _fail(name, f"invalid architecture: {k} must be an integer, got {d[k]!r}")
    for k in _BOOL_FIELDS:
        if k in d and not isinstance(d[k], bool):
            raise _fail(name, f"invalid architecture: {k} must be true or false, got {d[k]!r}")
    try:
        return Architecture.from_dict(d)
    except (ValueError, TypeError) as e:
        raise _fail(name, f"invalid architecture: {e}") from None


def load_model(path):
    """Read a model file written by :func:`save_model` (never unpickles anything); ``path`` may also be
    a binary file object. Returns an :class:`LSTM`, or an :class:`~lstm1997.rnn.RNN` for a baseline
    net's file (format ``lstm1997-rnn-model``).

    Raises :class:`FormatError` (one line, naming the file) for anything wrong with it.
    """
    name = str(getattr(path, "name", "<model bytes>")) if hasattr(path, "read") else os.fspath(path)
    d = _read_npz(path, name)
    if "format" not in d:
        hint = "; it looks like a data file, see load_data" if "inputs" in d else ""
        raise _fail(name, f"not a lstm1997 model file (missing key 'format'{hint})")
    fmt = _str0(d, "format", name)
    if fmt == RNN_FORMAT:
        return _load_rnn(d, name)
    if fmt != MODEL_FORMAT:
        what = "a lstm1997 data file" if fmt == DATA_FORMAT else f"format {fmt!r}"
        raise _fail(name, f"not a lstm1997 model file (it is {what}, expected {MODEL_FORMAT!r})")
    required = ["format_version", "architecture"] + [k for g in _GROUPS for k in g[:2]]
    missing = [k for k in required if k not in d]
    if missing:
        raise _fail(name, f"incomplete model file (missing key(s) {', '.join(map(repr, missing))})")
    _check_version(d, name)
    arch = _parse_architecture(_str0(d, "architecture", name), name)
    groups = _groups(arch)
    missing = [k for g in groups for k in g[:2] if k not in d]
    if missing:
        raise _fail(name, f"incomplete model file: the architecture has "
                          f"{'forget gates' if 'w_phi' in missing or 'mask_phi' in missing else 'peepholes'} "
                          f"but the file lacks key(s) {', '.join(map(repr, missing))}")
    extra = [k for g in (_PHI_GROUP, _P_GROUP) if g not in groups for k in g[:2] if k in d]
    if extra:
        raise _fail(name, f"key(s) {', '.join(map(repr, extra))} belong to a cell variant the architecture "
                          "does not have (forget_gate/peepholes)")

    # the shapes the architecture needs, from its sizes alone, before any mask of that size is made: a
    # crafted architecture (10**9 blocks) beside small arrays is refused here, never allocated
    for wkey, mkey, rows in groups:
        if rows == "W_p":
            continue
        if rows is None:
            want = (arch.n_out, arch.n_osrc)
        else:
            sl = getattr(arch, rows)
            want = (sl.stop - sl.start, arch.n_src)
        if tuple(d[wkey].shape) != want:
            raise _fail(name, f"{wkey!r} has shape {tuple(d[wkey].shape)} but the architecture needs {want}")
    mh, mk, mp = arch.mask_h(), arch.mask_k(), arch.mask_p()
    parts: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for wkey, mkey, rows in groups:
        want_m = mk if rows is None else mp if rows == "W_p" else mh[getattr(arch, rows)]
        w, m = d[wkey], d[mkey]
        if w.dtype.kind not in "fiu":
            raise _fail(name, f"{wkey!r} must hold real numbers, got dtype {w.dtype}")
        if w.shape != want_m.shape:
            raise _fail(name, f"{wkey!r} has shape {w.shape} but the architecture needs {want_m.shape}")
        if m.dtype != np.bool_:
            raise _fail(name, f"{mkey!r} must be a boolean array, got dtype {m.dtype}")
        if m.shape != want_m.shape:
            raise _fail(name, f"{mkey!r} has shape {m.shape} but the architecture needs {want_m.shape}")
        if np.any(m & ~want_m):   # a subset is fine: connections not (yet) present, e.g. Exp. 2a/2b
            bad = np.argwhere(m & ~want_m)[0]
            raise _fail(name, f"{mkey!r} disagrees with the architecture ({int(np.sum(m & ~want_m))} "
                              f"connection(s) it does not have, first at row {bad[0]}, column {bad[1]})")
        masks[wkey] = m
        w = np.ascontiguousarray(w, dtype=np.float64)
        if not np.isfinite(w).all():
            bad = np.argwhere(~np.isfinite(w))[0]
            raise _fail(name, f"{wkey!r} holds NaN or inf (first at row {bad[0]}, column {bad[1]})")
        if np.any(w[~m] != 0.0):
            bad = np.argwhere((w != 0.0) & ~m)[0]
            raise _fail(name, f"{wkey!r} has a non-zero weight on an absent connection (row {bad[0]}, "
                              f"column {bad[1]}, where {mkey!r} is False)")
        parts[wkey] = w
    want_h, want_k = source_names(arch)
    for key, want in (("sources_h", want_h), ("sources_k", want_k)):
        if key in d:
            s = d[key]
            if s.dtype.kind != "U" or s.ndim != 1 or s.tolist() != want:
                raise _fail(name, f"{key!r} does not match the architecture's column layout")
    keys_h = [k for k in _W_H_KEYS if k in parts]
    W_h = np.concatenate([parts[k] for k in keys_h], axis=0)
    try:
        M_h = np.concatenate([masks[k] for k in keys_h], axis=0)
        if arch.peepholes:
            return LSTM(arch, W_h, parts["w_k"], M_h, masks["w_k"], parts["w_p"], masks["w_p"])
        return LSTM(arch, W_h, parts["w_k"], M_h, masks["w_k"])
    except ValueError as e:  # not expected after the checks above
        raise _fail(name, str(e)) from None


def _load_rnn(d: dict, name: str):
    from .rnn import RNN, RNNArchitecture

    missing = [k for k in ("format_version", "architecture", "W", "mask") if k not in d]
    if missing:
        raise _fail(name, f"incomplete model file (missing key(s) {', '.join(map(repr, missing))})")
    _check_version(d, name)
    try:
        arch = RNNArchitecture.from_dict(json.loads(_str0(d, "architecture", name)))
    except (ValueError, TypeError) as e:
        raise _fail(name, f"invalid architecture: {e}") from None
    W, m = d["W"], d["mask"]
    if W.dtype.kind not in "fiu" or m.dtype != np.bool_:
        raise _fail(name, "'W' must hold real numbers and 'mask' booleans")
    if not np.isfinite(W).all():
        raise _fail(name, "'W' holds NaN or inf")
    try:
        return RNN(arch, np.ascontiguousarray(W, dtype=np.float64), m)
    except ValueError as e:
        raise _fail(name, str(e)) from None


# ---- data files -------------------------------------------------------------------------------

def save_data(path, batch: Batch) -> None:
    """Write ``batch`` to exactly ``path`` in the ragged layout (a) (atomic, like :func:`save_model`).

    Raises ``ValueError`` for a batch :func:`load_data` would refuse (no sequences, or a
    sequence of length 0).
    """
    if not isinstance(batch, Batch):
        raise TypeError(f"expected a lstm1997.Batch, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("refusing to save a batch with no sequences")
    lengths = batch.lengths
    if np.any(lengths == 0):
        raise ValueError(f"refusing to save a batch with an empty sequence (sequence "
                         f"{int(np.argmax(lengths == 0))} has length 0)")
    _write_atomic(path, {
        "format": np.array(DATA_FORMAT),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "inputs": np.ascontiguousarray(batch.inputs, dtype=np.float64),
        "targets": np.ascontiguousarray(batch.targets, dtype=np.float64),
        "lengths": np.ascontiguousarray(lengths, dtype=np.int64),
    })


def _numeric(a: np.ndarray, key: str, name: str) -> np.ndarray:
    if a.dtype.kind not in "fiu":
        raise _fail(name, f"{key!r} must hold real numbers, got non-numeric dtype {a.dtype}")
    return np.asarray(a, dtype=np.float64)


def _locate(row: int, offsets: np.ndarray) -> tuple[int, int]:
    """(sequence, step within it) of ragged row ``row``."""
    i = int(np.searchsorted(offsets, row, side="right")) - 1
    return i, row - int(offsets[i])


def _checked_lengths(ln: np.ndarray, lo: int, hi: int, name: str, below: str, above: str) -> np.ndarray:
    """``ln`` (1-D, any integer dtype, as stored) as int64 once every value is known to lie in ``lo..hi``
    (compared in its own dtype, so a uint64 beyond int64 is named with its real value, never wrapped);
    else a :class:`FormatError` naming the first sequence outside, ending in ``below`` or ``above``."""
    bad = (ln < lo) | (ln > hi)
    if np.any(bad):
        i = int(np.argmax(bad))
        v = int(ln[i])
        raise _fail(name, f"sequence {i} has length {v}{below if v < lo else above}")
    if ln.size == 0:
        raise _fail(name, "contains no sequences ('lengths' is empty)")
    return ln.astype(np.int64)


def load_data(path, require_targets: bool = True, n_out: int | None = None) -> Batch:
    """Read a data file, layout (a) ragged or (b) padded (see the module docstring).

    require_targets : if false, a file without ``targets`` is accepted and gets all-NaN
        targets of width ``n_out`` (needed then; e.g. for prediction only).
    n_out : expected number of targets per step; checked against ``targets`` when present.

    Raises :class:`FormatError` (one line, naming the file) for anything wrong with it.
    """
    if n_out is not None and (not _is_int(n_out) or n_out < 1):
        raise ValueError(f"n_out must be a positive integer or None, got {n_out!r}")
    name = os.fspath(path)
    d = _read_npz(path, name)
    if "format" in d:
        fmt = _str0(d, "format", name)
        if fmt != DATA_FORMAT:
            what = "a lstm1997 model file" if fmt == MODEL_FORMAT else f"format {fmt!r}"
            raise _fail(name, f"not a lstm1997 data file (it is {what}, expected {DATA_FORMAT!r})")
    if "format_version" in d:
        _check_version(d, name)
    if "inputs" not in d:
        raise _fail(name, "not a data file (missing key 'inputs')")
    x = _numeric(d["inputs"], "inputs", name)
    have_d = "targets" in d
    if not have_d and require_targets:
        raise _fail(name, "missing key 'targets' (targets are needed here)")
    if not have_d and n_out is None:
        raise _fail(name, "has no 'targets' and no number of outputs (n_out) was given")
    ln = None                # 'lengths' as stored (any integer dtype): compared, never converted unchecked
    if "lengths" in d:
        ln = d["lengths"]
        if ln.dtype.kind not in "iu":
            raise _fail(name, f"'lengths' must hold integers, got dtype {ln.dtype}")
        if ln.ndim != 1:
            raise _fail(name, f"'lengths' must be 1-D, got shape {ln.shape}")
    if x.ndim in (2, 3) and x.shape[-1] == 0:      # before anything sized by the shape (no memory behind it)
        raise _fail(name, "'inputs' has 0 values per step")

    if x.ndim == 2:  # (a) ragged
        if ln is None:
            raise _fail(name, f"2-D 'inputs' {x.shape} need 'lengths' (use lengths=[{x.shape[0]}] "
                              "for a single sequence)")
        lengths = _checked_lengths(ln, 1, x.shape[0], name, " (lengths must be >= 1)",
                                   f" but 'inputs' has only {x.shape[0]} step(s)")
        total = np.cumsum(lengths)
        # every length is 1..steps, so a sum that wrapped past 2**63 shows as a partial sum that does not grow
        if total[-1] != x.shape[0] or np.any(total[1:] <= total[:-1]):
            exact = sum(int(v) for v in lengths)        # Python ints: the true sum, never wrapped
            raise _fail(name, f"'lengths' sum to {exact} but 'inputs' has {x.shape[0]} steps")
        if have_d:
            t = _numeric(d["targets"], "targets", name)
            if t.ndim != 2:
                raise _fail(name, f"'targets' must be 2-D (steps, K) like 'inputs', got shape {t.shape}")
            if t.shape[0] != x.shape[0]:
                raise _fail(name, f"'targets' has {t.shape[0]} steps but 'inputs' has {x.shape[0]}")
    elif x.ndim == 3:  # (b) padded
        n_seq, T = x.shape[:2]
        if n_seq == 0:
            raise _fail(name, "contains no sequences ('inputs' has shape "
                              f"{x.shape})")
        if ln is None:
            if T == 0:
                raise _fail(name, f"sequences have length 0 ('inputs' has shape {x.shape})")
            lengths = np.full(n_seq, T, dtype=np.int64)
        else:
            if ln.size != n_seq:
                raise _fail(name, f"'lengths' has {ln.size} entries but 'inputs' holds {n_seq} sequences")
            lengths = _checked_lengths(ln, 1, T, name, f" (must be 1..{T})", f" (must be 1..{T})")
        keep = np.arange(T)[None, :] < lengths[:, None]  # (n_seq, T)
        if have_d:
            t = _numeric(d["targets"], "targets", name)
            if t.ndim != 3:
                raise _fail(name, f"'targets' must be 3-D (n_seq, T, K) like 'inputs', got shape {t.shape}")
            if t.shape[:2] != x.shape[:2]:
                raise _fail(name, f"'targets' has {t.shape[0]} sequences of {t.shape[1]} steps but "
                                  f"'inputs' has {n_seq} of {T}")
            t = t[keep]
        x = x[keep]
    else:
        raise _fail(name, f"'inputs' must be 2-D (steps, n_in) or 3-D (n_seq, T, n_in), got shape {x.shape}")

    try:      # the one check of every Batch (batch.py), before the offsets are used for anything
        offsets = _check_offsets(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), x.shape[0])
    except ValueError as e:  # not expected after the checks above
        raise _fail(name, str(e)) from None
    if not np.isfinite(x).all():
        row, col = np.argwhere(~np.isfinite(x))[0]
        i, s = _locate(int(row), offsets)
        what = "NaN" if np.isnan(x[row, col]) else "inf"
        raise _fail(name, f"'inputs' contain {what} at sequence {i}, step {s} (input {col})")
    if have_d:
        if t.shape[1] == 0:
            raise _fail(name, "'targets' has 0 values per step")
        if n_out is not None and t.shape[1] != n_out:
            raise _fail(name, f"'targets' has {t.shape[1]} values per step but {n_out} output(s) "
                              "were expected")
        if np.isinf(t).any():
            row, col = np.argwhere(np.isinf(t))[0]
            i, s = _locate(int(row), offsets)
            raise _fail(name, f"'targets' contain inf at sequence {i}, step {s} (target {col}); "
                              "use NaN for 'no target'")
    else:
        t = np.full((x.shape[0], n_out), np.nan)
    try:
        return Batch(x, t, offsets)
    except ValueError as e:  # not expected after the checks above
        raise _fail(name, str(e)) from None


def save_outputs(path, outputs: np.ndarray, lengths: np.ndarray) -> None:
    """Write a model's outputs (``outputs`` ``(steps, K)``, ragged like the data, and the sequence
    ``lengths``) to exactly ``path``, atomically (see :func:`save_model`)."""
    _write_atomic(path, {"outputs": np.asarray(outputs, dtype=np.float64),
                         "lengths": np.asarray(lengths, dtype=np.int64)})
