"""A Batch's invariants (issue 19, item 1: crashes, SIGSEGV).

Lengths are non-negative, offsets start at 0, never decrease and end at the number of steps, all computed
without overflow, and a one-hot batch's symbols lie in ``0..n_in-1``: checked in one place
(``batch._check_offsets`` / ``_check_symbols``) that every constructor and loader goes through, and again
(:meth:`Batch.check`) at every kernel call, so that no input a user can write makes a compiled kernel read
outside its arrays. Every bad input is a ``ValueError`` (``io.FormatError`` for a file) with a one-line
message naming the exact value, never a wrapped one.

Whatever could have crashed the interpreter before the fix (a kernel reading outside its arrays) runs in a
subprocess, so that a crash fails a test instead of killing pytest.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lstm1997 import Batch, cli
from lstm1997.io import FormatError, load_data

sys.path.insert(0, os.path.dirname(__file__))
from fuzz_crafted import crafted, crafted_data_files  # noqa: E402

I64_MAX = 2 ** 63 - 1
TESTS = os.path.dirname(os.path.abspath(__file__))


def _one_line_error(fn, *args, exc=ValueError, **kw) -> str:
    with pytest.raises(exc) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert msg and "\n" not in msg, msg
    return msg


def _run(argv: list[str]) -> tuple[int, str, str]:
    """``cli.main(argv)`` in this process: exit status, stdout, stderr (only for what cannot crash)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def _python(script: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``script`` in a Python process of its own (a crash there is a failing test, not a dead pytest)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout, cwd=TESTS)


def _crashed(p: subprocess.CompletedProcess) -> str:
    return f"exit status {p.returncode} (negative: killed by a signal)\nstdout: {p.stdout}\nstderr: {p.stderr}"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    """A model file for 2 inputs and 1 output, fitted by the command (in this process: good data only)."""
    w = tmp_path_factory.mktemp("model")
    data = str(w / "good.npz")
    np.savez(data, inputs=np.zeros((3, 2)), targets=np.full((3, 1), 0.5), lengths=np.array([3]))
    m = str(w / "m.npz")
    rc, _, err = _run(["fit", data, "--blocks", "1", "--cells", "1", "--epochs", "1", "--out", m])
    assert rc == 0, err
    return m


# ---- the issue's literal cases ---------------------------------------------------------------------------

@pytest.mark.parametrize("rows, lengths", [(0, [I64_MAX, I64_MAX, 2]), (1, [I64_MAX, I64_MAX, 3])])
def test_issue_files_are_refused_by_fit_and_predict(tmp_path, model, rows, lengths):
    bad = str(tmp_path / "bad.npz")
    np.savez(bad, inputs=np.zeros((rows, 2)), targets=np.full((rows, 1), 0.5), lengths=np.array(lengths))
    out = str(tmp_path / "o.npz")
    for argv in (["fit", bad, "--blocks", "1", "--cells", "1", "--epochs", "1", "--out", out],
                 ["predict", model, bad, "--out", out]):
        p = subprocess.run([sys.executable, "-m", "lstm1997", *argv], capture_output=True, text=True, timeout=600)
        assert p.returncode == 2, _crashed(p)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
        assert f"{bad}: sequence 0 has length {I64_MAX} but 'inputs' has only {rows} step(s)" in lines[0]
        assert not os.path.exists(out)


def test_issue_batch_with_decreasing_offsets_is_refused():
    msg = _one_line_error(Batch, np.zeros((1, 2)), np.full((1, 1), 0.5), np.array([0, I64_MAX, -2, 1]))
    assert msg == (f"offsets must be non-decreasing, but offsets[2] = -2 is less than offsets[1] = {I64_MAX} "
                   "(sequence 1 would have a negative length)")


def test_issue_uint64_length_is_named_with_its_real_value(tmp_path):
    p = tmp_path / "u64.npz"
    np.savez(p, inputs=np.zeros((1, 2)), targets=np.full((1, 1), 0.5), lengths=np.array([2 ** 64 - 1], dtype=np.uint64))
    msg = _one_line_error(load_data, p, exc=FormatError)
    assert msg == f"{p}: sequence 0 has length 18446744073709551615 but 'inputs' has only 1 step(s)"
    assert "length -1" not in msg
    _one_line_error(Batch, np.zeros((1, 2)), np.zeros((1, 1)), np.array([0, 2 ** 64 - 1], dtype=np.uint64))


# ---- crafted data files (tests/fuzz_crafted.py) ------------------------------------------------------------

def test_crafted_files_are_refused_by_load_data(tmp_path):
    names = crafted_data_files(str(tmp_path))
    assert names == list(crafted())
    for name in names:
        path = str(tmp_path / name)
        msg = _one_line_error(load_data, path, exc=FormatError)
        assert msg.startswith(path + ": "), msg
        lengths = crafted()[name].get("lengths")
        if lengths is not None and lengths.dtype.kind in "iu" and lengths.ndim == 1 and lengths.size \
                and "has length" in msg:
            assert f"has length {int(lengths[int(msg.split('sequence ')[1].split()[0])])}" in msg, msg


def test_crafted_files_are_refused_by_the_command(tmp_path, model):
    """``fit FILE`` and ``predict MODEL FILE``: exit status 2 and one line for every crafted file (in a process
    of its own: before the fix some of them crashed it)."""
    p = _python(f"""
        import contextlib, io, json, sys
        from fuzz_crafted import crafted_data_files
        from lstm1997 import cli
        w = {str(tmp_path)!r}
        for name in crafted_data_files(w):
            for argv in (["fit", w + "/" + name, "--blocks", "1", "--cells", "1", "--epochs", "1", "--out", w + "/o.npz"],
                         ["predict", {model!r}, w + "/" + name, "--out", w + "/o.npz"]):
                print("running", argv, file=sys.__stderr__, flush=True)
                err = io.StringIO()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                    rc = cli.main(argv)
                print(json.dumps([name, argv[0], rc, err.getvalue()]), flush=True)
        """)
    assert p.returncode == 0, _crashed(p)
    results = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(results) == 2 * len(crafted())
    for name, cmd, rc, err in results:
        assert rc == 2, (name, cmd, rc, err)
        assert err.count("\n") == 1 and err.startswith("lstm1997: error: ") and name in err, (name, cmd, err)
    assert not (tmp_path / "o.npz").exists()


# ---- generated families: every constructor refuses every one -------------------------------------------------

def _bad_offsets(rng, n_steps: int) -> list:
    """Offsets a batch of ``n_steps`` steps must refuse, of every kind (a seeded family)."""
    out = []
    for _ in range(40):
        k = int(rng.integers(1, 6))
        # int64 lengths near 2**63 (wrapping cumsum), the last chosen so that the sum wraps to n_steps exactly
        big = [I64_MAX - int(rng.integers(0, 1000)) for _ in range(k)]
        last = (n_steps - sum(big)) % 2 ** 64
        last = last - 2 ** 64 if last > I64_MAX else last
        lengths = np.array(big + [last], dtype=np.int64)
        o = np.concatenate([[0], np.cumsum(lengths)])
        assert o[-1] == n_steps
        out.append(o)
        out.append(o.astype(np.uint64))               # the same bits as uint64: values beyond int64
        out.append([0] + [int(v) for v in np.cumsum(np.array(big, dtype=object))] + [n_steps])   # Python ints
        # uint64 lengths near 2**64, wrapping to n_steps
        u = [2 ** 64 - 1 - int(rng.integers(0, 1000)) for _ in range(k)]
        ul = np.array(u + [(n_steps - sum(u)) % 2 ** 64], dtype=np.uint64)
        uo = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(ul)])
        assert int(uo[-1]) == n_steps
        out.append(uo)
        # a negative length, the rest making up the total
        neg = -int(rng.integers(1, 2 ** 62))
        out.append(np.array([0, n_steps - neg, n_steps], dtype=np.int64))
        out.append(np.array([0, int(rng.integers(n_steps + 1, 2 ** 62)), n_steps]))
        # not starting at 0, not ending at n_steps
        out.append(np.array([int(rng.integers(1, 2 ** 62)), n_steps]))
        out.append(np.array([-int(rng.integers(1, 2 ** 62)), n_steps]))
        out.append(np.array([0, n_steps + int(rng.integers(1, 2 ** 62))]))
        out.append(np.array([0, n_steps - int(rng.integers(1, 2 ** 62))]))
        # floats: non-integral, non-finite, beyond int64
        out.append(np.array([0.0, n_steps + 0.5]))
        out.append(np.array([0.0, rng.choice([np.nan, np.inf, -np.inf])]))
        out.append(np.array([0.0, float(2 ** 63) * float(rng.integers(1, 1000))]))
        # a huge Python int, both signs beyond int64 in one list (NumPy makes it float64, rounded)
        out.append([0, 2 ** int(rng.integers(64, 200))])
        out.append([0, -1, 2 ** 64 - int(rng.integers(1, 1000))])
    out += [np.array([], dtype=np.int64), [], np.zeros((2, 2), dtype=np.int64), np.array([[0, n_steps]]),
            np.array([False, True]), np.array([0, n_steps], dtype=object), np.array(["0", str(n_steps)]),
            np.array([0, n_steps], dtype=complex), "0", None, [[0], [0, 1]], np.int64(0)]
    return out


def test_generated_bad_offsets_are_refused_by_every_constructor(rng):
    from lstm1997 import batch as batch_module

    check = getattr(batch_module, "_check_offsets", lambda o, n: Batch(np.zeros((n, 1)), np.zeros((n, 1)), o))
    n = 3
    x, d, sym = np.zeros((n, 2)), np.full((n, 1), 0.5), np.array([0, 1, 0])
    cases = _bad_offsets(rng, n)
    assert len(cases) > 500
    for o in cases:
        keep = copy.deepcopy(o)
        for make in (lambda: Batch(x, d, o), lambda: Batch.one_hot(sym, 2, d, o), lambda: check(o, n)):
            msg = _one_line_error(make)
            assert msg.startswith(("offsets", "offsets must")), msg
        if isinstance(o, np.ndarray):       # never changed, flags included
            np.testing.assert_array_equal(o, keep)
            assert o.flags.writeable


def test_values_beyond_int64_are_named_exactly():
    x, d = np.zeros((1, 2)), np.zeros((1, 1))
    for o, v in (([0, 2 ** 70], 2 ** 70), ([-1, 2 ** 64 - 1], 2 ** 64 - 1), ([0, -(2 ** 63) - 1], -(2 ** 63) - 1),
                 (np.array([0, 2 ** 63], dtype=np.uint64), 2 ** 63)):
        assert f"offsets[1] = {v} does not fit a 64-bit signed integer" in _one_line_error(Batch, x, d, o)
    assert "offsets[1] = 1e+30 (= 1000000000000000019884624838656) does not fit" in \
        _one_line_error(Batch, x, d, np.array([0, 1e30]))


def test_good_offsets_of_any_integer_dtype_are_accepted():
    x, d = np.zeros((3, 2)), np.zeros((3, 1))
    for o in ([0, 1, 3], (0, 3), np.array([0, 3], dtype=np.uint64), np.array([0, 2, 3], dtype=np.int8),
              np.array([0.0, 3.0]), np.array([0, 0, 3, 3], dtype=np.uint16), [0, np.int64(3)]):
        b = Batch(x, d, o)
        assert b.offsets.dtype == np.int64 and b.n_steps == 3


def _bad_symbols(rng, n_in: int) -> list:
    out = []
    for _ in range(30):
        out.append(np.array([0, int(rng.integers(n_in, 2 ** 63 - 1))]))
        out.append(np.array([0, -int(rng.integers(1, 2 ** 62))]))
        out.append(np.array([0, 2 ** 64 - int(rng.integers(1, 2 ** 62))], dtype=np.uint64))   # would wrap negative
        out.append(np.array([0, 2 ** 63 + int(rng.integers(0, 2 ** 62))], dtype=np.uint64))
        out.append(np.array([0.0, rng.uniform(0.01, 0.99)]))
        out.append(np.array([0.0, float(2 ** 64) * rng.uniform(1, 1e6)]))
        out.append([0, 2 ** int(rng.integers(64, 100))])
    out += [np.array([True, False]), np.array([0, 1], dtype=object), np.array([[0, 1]]), np.array([0, np.nan])]
    return out


def test_generated_bad_symbols_are_refused(rng):
    d = np.zeros((2, 1))
    for s in _bad_symbols(rng, 3):
        msg = _one_line_error(Batch.one_hot, s, 3, d, [0, 2])
        assert msg.startswith("symbols"), msg
    assert "got symbols[1] = 3" in _one_line_error(Batch.one_hot, [0, 3], 3, d, [0, 2])
    assert "symbols[1] = 18446744073709551615 does not fit" in \
        _one_line_error(Batch.one_hot, np.array([0, 2 ** 64 - 1], dtype=np.uint64), 3, d, [0, 2])
    for n_in in (0, -1, 2.5, True, 2 ** 64, "3", None):
        assert _one_line_error(Batch.one_hot, [0, 0], n_in, d, [0, 2]).startswith("n_in")
    assert Batch.one_hot(np.array([0, 2], dtype=np.uint64), np.int64(3), d, [0, 2]).symbols.dtype == np.int64


def test_take_refuses_indices_that_are_not_exact_integers():
    b = Batch(np.zeros((3, 1)), np.zeros((3, 1)), [0, 1, 3])
    for idx in (np.array([2 ** 64 - 1], dtype=np.uint64), [0.5], np.array([True]), [2 ** 70]):
        _one_line_error(b.take, idx)
    assert list(b.take(np.array([1, 0], dtype=np.uint64)).lengths) == [2, 1]
    assert len(b.take([])) == 0


def _ragged_file(path, rows, lengths):
    np.savez(path, inputs=np.zeros((rows, 2)), targets=np.full((rows, 1), 0.5), lengths=lengths)


def test_generated_bad_lengths_are_refused_by_load_data(tmp_path, rng):
    p = str(tmp_path / "gen.npz")
    for i in range(150):
        rows = int(rng.integers(0, 5))
        kind = i % 5
        if kind == 0:      # int64 lengths near 2**63, summing (wrapped) to exactly rows
            big = [I64_MAX - int(rng.integers(0, 1000)) for _ in range(int(rng.integers(1, 5)))]
            last = (rows - sum(big)) % 2 ** 64
            lengths = np.array(big + [last - 2 ** 64 if last > I64_MAX else last], dtype=np.int64)
            assert int(np.sum(lengths)) == rows
        elif kind == 1:    # uint64 near 2**64, summing (wrapped) to exactly rows
            u = [2 ** 64 - 1 - int(rng.integers(0, 1000)) for _ in range(int(rng.integers(1, 5)))]
            lengths = np.array(u + [(rows - sum(u)) % 2 ** 64], dtype=np.uint64)
        elif kind == 2:    # a negative length, the rest making up rows
            neg = -int(rng.integers(1, 2 ** 62))
            lengths = np.array([rows - neg, neg], dtype=np.int64)
        elif kind == 3:    # int32 that wrap in int32
            lengths = np.array([2 ** 31 - 1, 2 ** 31 - 1, rows + 2], dtype=np.int32)
        else:              # padded layout: out of 1..T, int64 or uint64
            T = int(rng.integers(1, 4))
            v = int(rng.choice([0, -1, T + 1, I64_MAX, -(2 ** 63)]))
            lengths = np.array([v, T])
            if rng.integers(2):
                lengths = np.array([int(rng.integers(2 ** 63, 2 ** 64, dtype=np.uint64)), T], dtype=np.uint64)
            np.savez(p, inputs=np.zeros((2, T, 2)), targets=np.full((2, T, 1), 0.5), lengths=lengths)
            msg = _one_line_error(load_data, p, exc=FormatError)
            assert msg.startswith(p) and f"sequence 0 has length {int(lengths[0])} (must be 1..{T})" in msg, msg
            continue
        _ragged_file(p, rows, lengths)
        msg = _one_line_error(load_data, p, exc=FormatError)
        assert msg.startswith(p + ": "), msg
        first = int(np.argmax((lengths < 1) | (lengths > rows)))
        assert f"sequence {first} has length {int(lengths[first])}" in msg, msg


# ---- a batch cannot be changed behind its validation ----------------------------------------------------

def test_a_batch_is_immutable_and_leaves_the_callers_arrays_alone():
    x, d, o = np.zeros((3, 2)), np.full((3, 1), 0.5), np.array([0, 1, 3])
    b = Batch(x, d, o)
    for key, v in (("offsets", np.array([0, 5, 3])), ("targets", d), ("inputs", x), ("symbols", None),
                   ("n_in", 7), ("_offsets", np.array([0, I64_MAX, -2, 3])), ("anything", 1)):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(b, key, v)
    with pytest.raises(AttributeError, match="immutable"):
        del b._offsets
    for a in (b.inputs, b.targets, b.offsets):
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 7
    assert x.flags.writeable and d.flags.writeable and o.flags.writeable       # the caller's flags untouched
    assert np.shares_memory(b.inputs, x) and np.shares_memory(b.targets, d)    # no copy of the data
    assert not np.shares_memory(b.offsets, o)                                  # the offsets are the batch's own
    o[1] = 99
    assert list(b.offsets) == [0, 1, 3]
    s = np.array([0, 1, 2])
    h = Batch.one_hot(s, 3, d, [0, 3])
    assert s.flags.writeable and np.shares_memory(h.symbols, s) and not h.symbols.flags.writeable
    ro = np.zeros((3, 2))
    ro.flags.writeable = False
    r = Batch(ro, d, [0, 3])                 # a read-only array is copied (the kernels take writable ones)
    assert not ro.flags.writeable and r.n_steps == 3 and not np.shares_memory(r.inputs, ro)


def test_pickle_and_copy_rebuild_through_the_constructors():
    for b in (Batch(np.arange(6.0).reshape(3, 2), np.full((3, 1), 0.5), [0, 1, 3]),
              Batch.one_hot([0, 2, 1], 3, np.full((3, 1), 0.5), [0, 2, 3])):
        for c in (pickle.loads(pickle.dumps(b)), copy.copy(b), copy.deepcopy(b)):
            assert type(c) is Batch and len(c) == len(b)
            np.testing.assert_array_equal(c.inputs, b.inputs)
            np.testing.assert_array_equal(c.offsets, b.offsets)
            assert (c.symbols is None) == (b.symbols is None)
            assert not c.offsets.flags.writeable


def test_check_refuses_forged_batches():
    good = Batch(np.zeros((1, 2)), np.full((1, 1), 0.5), [0, 1])
    good.check()
    forged = []
    for key, v in (("_offsets", np.array([0, I64_MAX, -2, 1])), ("_offsets", np.array([0, 5])),
                   ("_offsets", np.array([0, 1], dtype=np.int32)), ("_offsets", [0, 1]),
                   ("_targets", np.zeros((0, 1))), ("_inputs", np.zeros((1, 3))), ("_n_in", 2.0)):
        b = copy.copy(good)
        object.__setattr__(b, key, v)
        forged.append(b)
    forged.append(Batch.__new__(Batch))
    h = Batch.one_hot(np.array([0, 1]), 2, np.zeros((2, 1)), [0, 2])
    object.__setattr__(h, "_symbols", np.array([0, 2 ** 40]))
    forged.append(h)
    for b in forged:
        _one_line_error(b.check)
        # deriving a batch from a forged one validates the result the same way
        for derive in (lambda: b[0:len(b)], lambda: b.take(range(len(b))), lambda: Batch.concat([b])):
            try:
                derive()
            except (ValueError, IndexError, TypeError, AttributeError):
                pass


# ---- defence in depth: every kernel call checks the batch it is given ---------------------------------------

def test_every_kernel_entry_point_refuses_a_broken_batch():
    """Forged batches (``Batch.__new__``, internals set with ``object.__setattr__``, an aliased symbols array
    written to after construction) given to every Python wrapper that calls a compiled kernel: each refuses
    with a ValueError, none reads outside its arrays (in a process of its own: a crash is a failure)."""
    p = _python("""
        import copy, numpy as np
        from lstm1997 import Architecture, Batch, TruncatedRTRL, init, predict
        from lstm1997.learners.lanes import predict_lanes, update_lanes
        from lstm1997.learners.bptt_rnn import BPTTRNN
        from lstm1997.learners.elman import Elman
        from lstm1997.learners.rtrl import RTRL
        from lstm1997.rnn import RNNArchitecture, init_rnn, predict_rnn

        rng = np.random.default_rng(0)
        n = 2
        nets = {"lstm": init(Architecture(n_in=n, n_out=1, blocks=1, cells=1), rng),
                "variant": init(Architecture(n_in=n, n_out=1, blocks=1, cells=1).with_variant(True, True), rng)}
        rnn = init_rnn(RNNArchitecture(n_in=n, n_out=1, hidden=2, kind="full"), rng)

        def forged(steps=1, seqs=1):
            dense = Batch(np.zeros((steps, n)), np.full((steps, 1), 0.5), np.linspace(0, steps, seqs + 1).astype(int))
            out = []
            for key, v in (("_offsets", np.array([0, 2 ** 63 - 1, -2, steps])),
                           ("_offsets", np.array([0, steps + 10 ** 9])),
                           ("_offsets", np.array([0, 2 ** 62] + [steps] * (seqs - 1) + [steps])),
                           ("_targets", np.zeros((0, 1))), ("_inputs", np.zeros((0, n)))):
                b = copy.copy(dense)
                object.__setattr__(b, key, v)
                out.append(b)
            out.append(Batch.__new__(Batch))
            s = np.zeros(steps, dtype=np.int64)
            h = Batch.one_hot(s, n, np.full((steps, 1), 0.5), np.linspace(0, steps, seqs + 1).astype(int))
            s[-1] = 10 ** 12                   # the caller's array, aliased: written to after construction
            out.append(h)
            return out

        calls = {
            "predict": lambda b: predict(nets["lstm"], b),
            "predict_variant": lambda b: predict(nets["variant"], b),
            "predict_lanes": lambda b: predict_lanes(nets["lstm"], b),
            "update": lambda b: TruncatedRTRL(0.1).update(nets["lstm"], TruncatedRTRL(0.1).init(nets["lstm"]), b),
            "update_variant": lambda b: TruncatedRTRL(0.1).update(nets["variant"],
                                                                  TruncatedRTRL(0.1).init(nets["variant"]), b),
            "update_lanes": lambda b: update_lanes([TruncatedRTRL(0.1)], [nets["lstm"]],
                                                   [TruncatedRTRL(0.1).init(nets["lstm"])], [b]),
            "predict_rnn": lambda b: predict_rnn(rnn, b),
            "rtrl": lambda b: RTRL(0.1).update(rnn, RTRL(0.1).init(rnn), b),
            "bptt_rnn": lambda b: BPTTRNN(0.1).update(rnn, BPTTRNN(0.1).init(rnn), b),
            "elman": lambda b: Elman(0.1).update(rnn, Elman(0.1).init(rnn), b),
        }
        for size in ((1, 1), (2400, 8)):          # 2400 steps in 8 sequences: predict() takes the lane kernel
            for name, call in calls.items():
                for i, b in enumerate(forged(*size)):
                    try:
                        call(b)
                    except ValueError as e:
                        assert "\\n" not in str(e)
                        continue
                    raise SystemExit(f"{name} accepted forged batch {i} of size {size}")
                print("ok", name, size, flush=True)
        """)
    assert p.returncode == 0, _crashed(p)
    assert p.stdout.count("ok ") == 20, p.stdout
