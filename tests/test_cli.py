"""Smoke tests through the real installed command."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from lstm1997 import Batch
from lstm1997.io import load_model, save_data

EXE = pathlib.Path(sys.executable).with_name("lstm1997")


def cli(*args, check=True):
    p = subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_run_adding_small(tmp_path):
    out = tmp_path / "r.json"
    p = cli("run", "adding", "--T", 20, "--seed", 2, "--max-sequences", 3000, "--json", out)
    assert "NOT solved (cap reached)" in p.stdout and "wrong out of 2560" in p.stdout
    r = json.loads(out.read_text())
    for k in ("experiment", "params", "seed", "success", "sequences", "test_wrong", "test_total", "test_mae",
              "seconds"):
        assert k in r
    assert r["experiment"] == "4" and r["seed"] == 2 and r["sequences"] == 3000 and r["success"] is False
    assert r["params"]["T"] == 20 and r["weights"] == 93 and r["test_total"] == 2560
    assert "sequences" in p.stderr  # progress


@pytest.mark.parametrize("args, weights", [
    (("1", "--blocks", 3, "--cells", 2, "--lr", 0.2), 276), (("reber",), 264), (("2a", "--p", 10), 154),
    (("2b", "--p", 10), 154), (("2c", "--q", 20, "--p", 10), 124), (("3a", "--T", 30, "--N", 1), 102),
    (("3b",), 102), (("3c", "--T", 50), 102), (("4", "--T", 30), 93), (("multiplication",), 93), (("6a",), 156),
    (("6b",), 308)])
def test_every_experiment_runs_through_the_command(args, weights, tmp_path):
    out = tmp_path / "r.json"
    p = cli("run", *args, "--seed", 1, "--max-sequences", 200, "--json", out)
    r = json.loads(out.read_text())
    assert r["weights"] == weights and r["sequences"] <= 200 and "training sequences" in p.stdout


def test_list_shows_every_row_with_the_papers_weights():
    p = cli("list", "--json")
    rows = json.loads(p.stdout)
    assert len(rows) == 42                               # 37 rows run + 5 the paper cites (Table 1: 4, CH)
    assert sum("cited" in r for r in rows) == 5
    assert all(r["weights"] == r["paper_weights"] for r in rows if "cited" not in r)
    assert {r["table"] for r in rows} == {"1", "2", "2b", "3", "4", "5", "6", "7", "8", "9"}
    assert "est. / trial" in cli("list").stdout


def test_reproduce_quick_one_table(tmp_path):
    out = tmp_path / "t9.json"
    p = cli("reproduce", "9", "--budget", "quick", "--json", out)
    assert "Temporal order" in p.stdout and "31,390" in p.stdout
    r = json.loads(out.read_text())
    assert [row["row"] for row in r["rows"]] == ["6a", "6b"]
    for row in r["rows"]:
        for k in ("trials", "success_rate", "sequences_mean", "sequences_std", "sequences_median"):
            assert k in row["ours"]
        assert row["params"]["variant"] == row["row"] and row["paper"]["weights"] in (156, 308)


@pytest.mark.parametrize("args, msg", [
    (("run", "nosuch"), "unknown experiment"),
    (("run", "adding", "--T", 15), "multiple of 10"),
    (("run", "adding", "--lr", -1), "--lr"),
    (("run", "adding", "--max-sequences", 0), "max-sequences"),
    (("run", "adding", "--q", 5), "does not apply"),
    (("run", "2c", "--p", 0), "p must be at least 1"),
    (("reproduce", "12"), "unknown table"),
    (("reproduce", "7", "--rows", "T=7"), "no row"),
    (("reproduce", "7", "--trials", 0), "--trials"),
    (("reproduce", "7", "--jobs", 0), "--jobs"),
    (("reproduce", "7", "--checkpoint-every", 0), "--checkpoint-every"),
    (("reproduce", "7", "--checkpoint-sequences", 0), "--checkpoint-sequences"),
    (("reproduce", "7", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", -1), "--scheduler-timeout"),
    (("reproduce", "7", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1e12"), "--scheduler-timeout"),
    (("reproduce", "7", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "inf"), "--scheduler-timeout"),
    (("reproduce", "7", "--db", ""), "--db needs a file name"),
    (("status", "--db", ""), "--db needs a file name"),
    (("reproduce", "7", "--db", "/nonexistent-dir/x.sqlite"), "x.sqlite"),
    (("status", "--db", "/nonexistent.sqlite"), "no results store"),
])
def test_run_bad_input(args, msg):
    p = cli(*args, check=False)
    assert p.returncode == 2 and msg in p.stderr and "Traceback" not in p.stderr, p.stderr


def _data(tmp_path, rng, n=40, n_in=3, K=2):
    xs = [rng.uniform(-1, 1, (int(rng.integers(5, 15)), n_in)) for _ in range(n)]
    ds = []
    for x in xs:
        d = np.full((len(x), K), np.nan)
        d[-1] = (x[0, :K] > 0).astype(float)      # remember the sign of the first inputs
        ds.append(d)
    path = tmp_path / "data.npz"
    save_data(path, Batch.from_sequences(xs, ds))
    return path


def test_fit_predict_roundtrip(tmp_path, rng):
    data = _data(tmp_path, rng)
    model = tmp_path / "m.npz"
    p = cli("fit", data, "--blocks", 2, "--cells", 1, "--lr", 0.5, "--epochs", 3, "--out", model)
    assert "epoch 3/3" in p.stderr and model.exists()
    net = load_model(model)
    assert net.arch.n_in == 3 and net.arch.n_out == 2 and net.arch.blocks == 2
    out = tmp_path / "out.npz"
    cli("predict", model, data, "--out", out)
    with np.load(out, allow_pickle=False) as f:
        assert f["outputs"].shape[1] == 2 and np.all((f["outputs"] > 0) & (f["outputs"] < 1))
        from lstm1997 import predict
        from lstm1997.io import load_data
        batch = load_data(data)
        np.testing.assert_array_equal(f["outputs"], predict(net, batch))
        np.testing.assert_array_equal(f["lengths"], batch.lengths)
    cli("predict", model, data, "--out", tmp_path / "no_suffix")
    assert (tmp_path / "no_suffix").exists() and not (tmp_path / "no_suffix.npz").exists()
    # continue training from the saved model
    cli("fit", data, "--init", model, "--epochs", 1, "--out", tmp_path / "m2.npz")


def test_fit_bad_inputs(tmp_path, rng):
    data = _data(tmp_path, rng)
    (tmp_path / "junk.npz").write_text("not a zip")
    model = tmp_path / "m.npz"
    cli("fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out", model)
    other = _data(tmp_path / "o" if (tmp_path / "o").mkdir() is None else None, rng, n_in=5)
    cases = [
        (("fit", tmp_path / "junk.npz", "--blocks", 1, "--cells", 1, "--out", tmp_path / "x.npz"), "junk.npz"),
        (("fit", tmp_path / "missing.npz", "--blocks", 1, "--cells", 1, "--out", tmp_path / "x.npz"), "missing"),
        (("fit", data, "--blocks", 1, "--cells", 1, "--lr", 0, "--out", tmp_path / "x.npz"), "--lr"),
        (("fit", data, "--out", tmp_path / "x.npz"), "--blocks"),
        (("fit", other, "--init", model, "--out", tmp_path / "x.npz"), "inputs"),
        (("predict", model, other, "--out", tmp_path / "y.npz"), "inputs"),
        (("predict", data, data, "--out", tmp_path / "y.npz"), "data.npz"),
    ]
    for args, msg in cases:
        p = cli(*args, check=False)
        assert p.returncode == 2, (args, p.stderr)
        assert msg in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)


def test_fit_divergence_names_the_data_sequence(tmp_path):
    """Only data sequence 3 can overflow a weight (huge input on a column with zero weights that reaches
    the traces); fit must stop with a message naming that sequence of the data file."""
    from lstm1997 import Architecture, init
    from lstm1997.io import save_model

    net = init(Architecture(2, 1, 1, 1, init_range=0.5), np.random.default_rng(0))
    net.W_h[:, 0] = 0.0
    save_model(net, tmp_path / "start.npz")
    xs = [np.zeros((4, 2)) for _ in range(6)]
    xs[3][:, 0] = 1e307
    ds = [np.full((4, 1), np.nan) for _ in range(6)]
    ds[3][-1] = 0.9
    save_data(tmp_path / "d.npz", Batch.from_sequences(xs, ds))
    p = cli("fit", tmp_path / "d.npz", "--init", tmp_path / "start.npz", "--lr", 1e6, "--out",
            tmp_path / "m.npz", check=False)
    assert p.returncode == 2 and "diverged" in p.stderr and "sequence 3 of the data" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "m.npz").exists()


def test_reproduce_quick_runs_the_whole_paper():
    """`--budget quick` runs a reduced version of every row of every table (here at an even smaller cap)."""
    p = cli("reproduce", "all", "--budget", "quick", "--max-sequences", "200")
    for title in ("Embedded Reber grammar", "Long time lags", "Noise and signal", "Adding problem",
                  "Multiplication problem", "Temporal order"):
        assert title in p.stdout
    assert sum(line.startswith("row  ") for line in p.stdout.splitlines()) == 10, "ten tables printed"
    assert "outside plausible range" not in p.stdout, "quick runs are not judged against the paper"
    s = cli("status")
    assert s.stdout.count("/1") >= 2 * 29 and "2c q=1000 p=50" in s.stdout, s.stdout   # every row, 1/1 done
    assert "undecided at this budget" in p.stdout
    again = cli("reproduce", "all", "--budget", "quick", "--max-sequences", "200")
    assert "0 trial(s) run now" in again.stdout, "the store holds them all: nothing is run again"


@pytest.mark.parametrize("kind", ["text", "random", "foreign"])
def test_reproduce_and_status_refuse_a_corrupt_or_foreign_store(tmp_path, kind):
    import sqlite3

    db = tmp_path / "bad.sqlite"
    if kind == "text":
        db.write_text("these are my notes\n")
    elif kind == "random":
        db.write_bytes(np.random.default_rng(0).bytes(5000))
    else:
        with sqlite3.connect(db) as c:
            c.execute("CREATE TABLE photos (name TEXT)")
        c.close()
    before = db.read_bytes()
    for args in (("reproduce", "9", "--budget", "quick", "--db", db), ("status", "--db", db)):
        p = cli(*args, check=False)
        assert p.returncode == 2 and str(db) in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert ("another application" if kind == "foreign" else "not an SQLite database") in p.stderr
    assert db.read_bytes() == before, "a file that is not ours is never written to"


def test_status_of_a_store_from_the_python_api(tmp_path):
    """Trials without a tag, results that are not the paper's, a dead command's 'running' trial: status
    shows them (a row '(no tag)', no success figure, the dead one as left, not running)."""
    import socket
    import subprocess
    import sys

    from lstm1997.runner import Store

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    db = tmp_path / "api.sqlite"
    with Store(db) as s:
        ids = s.register([{"key": f"k{i}", "fn": "mine:run", "args": {}, "seed": i, "version": "1"} for i in range(3)])
        s.claim(ids[0])
        s.finish(ids[0], {"loss": 0.5}, None, 2.0, 10)
    with Store(db, owner=f"{socket.gethostname()}:{dead}:deadbeef") as gone:
        assert gone.claim(ids[1])
    p = cli("status", "--db", db)
    line = next(row for row in p.stdout.splitlines() if "(no tag)" in row)
    assert line.split()[-8:-2] == ["1/3", "-", "0", "2", "0", "2"], line


def test_reproduce_unreachable_scheduler_fails_within_seconds(tmp_path):
    import time

    t0 = time.monotonic()
    p = cli("reproduce", "9", "--budget", "quick", "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", 2,
            check=False)
    assert p.returncode == 2 and "cannot reach the Dask scheduler" in p.stderr and "Traceback" not in p.stderr
    assert time.monotonic() - t0 < 30


# ---- issue 11: every user mistake a clear error, nothing silently wrong ------------------------------
# In-process through cli.main (fast); subprocesses only where a process-wide setting is needed.

import errno
import os
import signal

from lstm1997 import cli as C


def run_main(capsys, *argv):
    """cli.main(argv) in this process: (exit status, stdout, stderr)."""
    try:
        rc = C.main([str(a) for a in argv])
    except SystemExit as e:          # argparse
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def _fail(capsys, *argv, msg):
    rc, out, err = run_main(capsys, *argv)
    assert rc == 2 and "Traceback" not in err, (argv, rc, err)
    assert msg in err, (argv, err)
    assert len(err.strip().splitlines()) == 1 or err.strip().splitlines()[-1].startswith("lstm1997: error:"), err
    return out, err


def _listing(path):
    return sorted(os.listdir(path))


@pytest.mark.parametrize("argv", [
    ("run", "1", "--cells", 1_000_000),
    ("run", "adding", "--T", 100_000_000, "--max-sequences", 10),
    ("run", "2a", "--method", "RTRL", "--p", 100_000, "--max-sequences", 10),
    ("guess", "3a", "--T", 100_000_000, "--trials", 1),
])
def test_absurd_sizes_are_refused_before_allocating(capsys, argv):
    out, err = _fail(capsys, *argv, msg="of memory")
    assert "available" in err and "smaller" in err


def test_fit_absurd_size_is_refused(capsys, tmp_path, rng):
    data = _data(tmp_path, rng)
    _fail(capsys, "fit", data, "--blocks", 1, "--cells", 1_000_000, "--out", tmp_path / "m.npz", msg="of memory")
    assert _listing(tmp_path) == ["data.npz"]


def test_memory_error_anywhere_is_one_line(capsys, monkeypatch):
    def boom(args):
        raise MemoryError
    monkeypatch.setattr(C, "cmd_list", boom)
    _fail(capsys, "list", msg="out of memory")


def test_report_out_must_be_a_folder(capsys, tmp_path):
    from lstm1997.runner import Store

    with Store(tmp_path / "s.sqlite"):
        pass
    (tmp_path / "afile").write_text("mine\n")
    os.mkfifo(tmp_path / "fifo")
    _fail(capsys, "report", "--db", tmp_path / "s.sqlite", "--out", tmp_path / "afile", msg="not a folder")
    _fail(capsys, "report", "--db", tmp_path / "s.sqlite", "--out", tmp_path / "fifo", msg="not a folder")
    assert (tmp_path / "afile").read_text() == "mine\n"
    assert _listing(tmp_path) == ["afile", "fifo", "s.sqlite"]


@pytest.mark.parametrize("kind", ["fifo", "dir"])
def test_writers_never_replace_a_fifo_or_folder(capsys, tmp_path, rng, kind):
    data = _data(tmp_path, rng)
    model = tmp_path / "m.npz"
    assert run_main(capsys, "fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out", model)[0] == 0
    dest = tmp_path / "dest"
    os.mkfifo(dest) if kind == "fifo" else dest.mkdir()
    what = "FIFO" if kind == "fifo" else "folder"
    for argv in (("fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out", dest),
                 ("predict", model, data, "--out", dest),
                 ("run", "adding", "--T", 20, "--max-sequences", 10, "--json", dest),
                 ("guess", "3a", "--T", 10, "--trials", 1, "--max-guesses", 2, "--json", dest),
                 ("reproduce", "9", "--budget", "quick", "--json", dest)):
        _fail(capsys, *argv, msg=what)
    import stat
    mode = os.lstat(dest).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISDIR(mode)
    assert _listing(tmp_path) == ["data.npz", "dest", "m.npz"]


def test_fit_read_only_file_system(capsys, tmp_path, rng, monkeypatch):
    """EROFS (not only PermissionError), at the check before the work and at the write itself."""
    data = _data(tmp_path, rng)
    real_open, real_replace = os.open, os.replace

    def ro_open(path, *a, **kw):
        if str(path).startswith(str(tmp_path / "ro")):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *a, **kw)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(os, "open", ro_open)
    out, err = _fail(capsys, "fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out",
                     tmp_path / "ro" / "m.npz", msg="read-only")
    assert "training on" not in out                      # refused before the work
    monkeypatch.setattr(os, "open", real_open)

    def ro_replace(src, dst, *a, **kw):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(os, "replace", ro_replace)
    for argv in (("fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out", tmp_path / "m.npz"),
                 ("run", "adding", "--T", 20, "--max-sequences", 10, "--json", tmp_path / "r.json")):
        _fail(capsys, *argv, msg="read-only")
    monkeypatch.setattr(os, "replace", real_replace)
    assert _listing(tmp_path) == ["data.npz", "ro"] and _listing(tmp_path / "ro") == []


_FSIZE = r"""
import resource, signal, sys
from lstm1997 import cli
cli._warm_kernels(cli._Progress())
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
sys.exit(cli.main(sys.argv[2:]))
"""


def test_full_disk_is_one_line_and_leaves_no_file(tmp_path, rng):
    """A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) stands for a full disk: each writer fails with a
    one-line error, exit status 2, and no partial or temporary file."""
    from lstm1997.runner import Store

    data = _data(tmp_path, rng)
    model = tmp_path / "m.npz"
    cli("fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out", model)
    with Store(tmp_path / "s.sqlite"):
        pass
    out = tmp_path / "out"
    out.mkdir()
    before = {p: p.stat().st_size for p in tmp_path.iterdir()}
    for limit, argv in ((300, ("fit", data, "--blocks", 2, "--cells", 2, "--epochs", 1, "--out", out / "m.npz")),
                        (300, ("predict", model, data, "--out", out / "o.npz")),
                        (300, ("run", "adding", "--T", 20, "--max-sequences", 10, "--json", out / "r.json")),
                        # the store's shared-memory index (32 KiB) must fit; report.html does not
                        (40_000, ("report", "--db", tmp_path / "s.sqlite", "--out", out / "rep"))):
        p = subprocess.run([sys.executable, "-c", _FSIZE, str(limit), *map(str, argv)], capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 2 and "Traceback" not in p.stderr, (argv, p.stderr)
        assert "too large" in p.stderr.strip().splitlines()[-1], p.stderr
        assert _listing(out) == [], (argv, _listing(out))
    assert {p: p.stat().st_size for p in tmp_path.iterdir() if "sqlite-" not in p.name} == {
        p: n for p, n in before.items() if "sqlite-" not in p.name}


def test_fit_refuses_targets_outside_0_1_and_all_nan(capsys, tmp_path):
    xs = [np.zeros((3, 1)) for _ in range(4)]
    ds = [np.array([[np.nan], [np.nan], [v]]) for v in (0.0, 1.0, 2.5, 0.5)]
    save_data(tmp_path / "big.npz", Batch.from_sequences(xs, ds))
    out, err = _fail(capsys, "fit", tmp_path / "big.npz", "--blocks", 1, "--cells", 1, "--out", tmp_path / "m.npz",
                     msg="[0, 1]")
    assert "logistic" in err and "rescale" in err and "sequence 2" in err
    save_data(tmp_path / "nan.npz", Batch.from_sequences(xs, [np.full((3, 1), np.nan)] * 4))
    _fail(capsys, "fit", tmp_path / "nan.npz", "--blocks", 1, "--cells", 1, "--out", tmp_path / "m.npz",
          msg="every target is NaN")
    assert not (tmp_path / "m.npz").exists()


def test_fit_init_refuses_other_sizes(capsys, tmp_path, rng):
    data = _data(tmp_path, rng)
    model = tmp_path / "m.npz"
    assert run_main(capsys, "fit", data, "--blocks", 2, "--cells", 1, "--epochs", 1, "--out", model)[0] == 0
    _fail(capsys, "fit", data, "--init", model, "--blocks", 3, "--out", tmp_path / "m2.npz", msg="--blocks 3")
    _fail(capsys, "fit", data, "--init", model, "--cells", 2, "--out", tmp_path / "m2.npz", msg="--cells 2")
    assert run_main(capsys, "fit", data, "--init", model, "--blocks", 2, "--cells", 1, "--epochs", 1,
                    "--out", tmp_path / "m2.npz")[0] == 0                      # the same sizes are fine


def test_outputs_never_overwrite_inputs(capsys, tmp_path, rng):
    data = _data(tmp_path, rng)
    model = tmp_path / "m.npz"
    assert run_main(capsys, "fit", data, "--blocks", 1, "--cells", 1, "--epochs", 1, "--out", model)[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _fail(capsys, "predict", model, data, "--out", model, msg="input")
    _fail(capsys, "predict", model, data, "--out", data, msg="input")
    _fail(capsys, "predict", model, data, "--out", tmp_path / "." / "data.npz", msg="input")   # same file
    _fail(capsys, "fit", data, "--blocks", 1, "--cells", 1, "--out", data, msg="input")
    os.link(data, tmp_path / "hard.npz")
    _fail(capsys, "fit", data, "--blocks", 1, "--cells", 1, "--out", tmp_path / "hard.npz", msg="input")
    os.unlink(tmp_path / "hard.npz")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_guess_refuses_options_it_would_ignore(capsys):
    _fail(capsys, "guess", "3a", "--noise", 0.1, msg="--noise applies to the parity problem only")
    _fail(capsys, "guess", "3b", "--noise", 0.1, msg="--noise applies to the parity problem only")
    _fail(capsys, "guess", "parity", "--T", 50, msg="--T applies to 3a/3b only")
    _fail(capsys, "guess", "parity", "--N", 2, msg="--N applies to 3a/3b only")


@pytest.mark.parametrize("content", [b"", b"my notes\n"])
def test_status_and_reproduce_leave_a_non_sqlite_file_alone(capsys, tmp_path, content):
    db = tmp_path / "notes.txt"
    db.write_bytes(content)
    _fail(capsys, "status", "--db", db, msg="not a results store")
    _fail(capsys, "reproduce", "9", "--budget", "quick", "--db", db, msg="not a results store")
    assert db.read_bytes() == content and _listing(tmp_path) == ["notes.txt"]


def test_outputs_are_checked_before_the_work(capsys, tmp_path, rng):
    data = _data(tmp_path, rng)
    missing = tmp_path / "no" / "such"
    out, _ = _fail(capsys, "run", "adding", "--T", 20, "--max-sequences", 10, "--json", missing / "r.json",
                   msg="does not exist")
    assert "training sequences" not in out and "network:" not in out
    out, _ = _fail(capsys, "fit", data, "--blocks", 1, "--cells", 1, "--out", missing / "m.npz", msg="does not exist")
    assert "training on" not in out
    _fail(capsys, "predict", data, data, "--out", missing / "o.npz", msg="does not exist")
    _fail(capsys, "reproduce", "9", "--budget", "quick", "--json", missing / "t.json", msg="does not exist")
    _fail(capsys, "guess", "3a", "--T", 10, "--trials", 1, "--json", missing / "g.json", msg="does not exist")
    assert _listing(tmp_path) == ["data.npz"]                   # nothing made, no store either


def test_run_stops_cleanly_on_sigint_and_sigterm(tmp_path):
    """A signal after the first progress line: the trial stops at its next chunk, says where it was and
    how to go on, writes the partial result marked "interrupted", exit status 130."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        out = tmp_path / f"r{sig}.json"
        argv = ["run", "adding", "--T", 100, "--max-sequences", 5_000_000, "--json", out]
        p = subprocess.Popen([str(EXE), *map(str, argv)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in p.stderr:
            if line.startswith("sequences"):
                break
        p.send_signal(sig)
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 130, stderr
        assert "Traceback" not in stderr and "INTERRUPTED" in stdout and "run the same command again" in stderr
        r = json.loads(out.read_text())
        assert r["status"] == "interrupted" and r["success"] is False and 0 < r["sequences"] < 5_000_000
        assert r["stage"] and f"after {r['sequences']:,} training sequences" in stderr
        assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []


def test_help_texts_cite_what_users_can_look_up(capsys):
    cmds = ["run", "list", "reproduce", "status", "report", "guess", "fit", "predict"]
    texts = []
    for argv in [["--help"]] + [[c, "--help"] for c in cmds]:
        rc, out, err = run_main(capsys, *argv)
        assert rc == 0
        texts.append(out)
    text = "\n".join(texts)
    for bad in ("spec §", "§", "[S]", "[P]", "[U]", "issue 4", "paper-spec", "shared/"):
        assert bad not in text, bad
    assert "docs/decisions.md, D34" in text
    import inspect
    src = inspect.getsource(C)
    for bad in ("spec §", "paper-spec", "issue 4"):
        assert bad not in src, bad


def test_kernel_message_says_compiled_or_loaded():
    assert C._kernel_message(0.5, 1, 0) is None
    assert C._kernel_message(8.0, 2, 0).startswith("compiled kernels in 8.0 s")
    assert C._kernel_message(1.5, 0, 2).startswith("loaded compiled kernels")
    assert "compiled kernels in" not in C._kernel_message(1.5, 0, 2)
    assert C._kernel_message(1.5, 0, 0) == "kernels ready in 1.5 s"


def test_list_never_estimates_0_s(capsys):
    assert C._est(0.2) == "<1 s" and C._est(0.0) == "-" and C._est(100.0) != "<1 s"
    rc, out, _ = run_main(capsys, "list")
    assert rc == 0 and " 0 s" not in out and "<1 s" in out


def test_guess_output_cites_what_users_can_look_up(capsys):
    for argv in (("guess", "3a", "--T", 10, "--trials", 1, "--max-guesses", 2),
                 ("guess", "parity", "--trials", 1, "--max-guesses", 2)):
        rc, out, err = run_main(capsys, *argv)
        assert rc == 0 and "paper:" in out
        for bad in ("[S", "[P]", "[U]", "spec §", "paper-spec"):
            assert bad not in out + err, (bad, out)


def test_terminal_tables_show_each_tables_own_note_and_the_stage_means(capsys):
    """reproduce's tables: the Exp. 2 RTRL/BPTT note only under Table 2, and Tables 4/5's 'stop ST1' column
    filled from the per-row mean (the summary keeps it as ``stage_ST1_mean``)."""
    from lstm1997.cli import _print_table
    from lstm1997.experiments import TABLES

    for table, has_note in (("2", True), ("2b", False), ("3", False)):
        _print_table(TABLES[table][0], [], False, table)
        out = capsys.readouterr().out
        assert ("RTRL/BPTT" in out) == has_note, (table, out)
    exp4 = TABLES["4"][0]
    col = next(c for c in exp4.columns if c.key == "stage_ST1")
    ours = {"trials": 2, "successes": 2, "success_rate": 1.0, "sequences_mean": 1000.0, "sequences_std": 0.0,
            "sequences_median": 1000.0, "stage_ST1_mean": 12345.0}
    row = {"row": "3a T=100 N=3", "ours": ours, "paper": {}, "plausible": True, "trials_planned": 2}
    _print_table(exp4, [row], False, "4")
    assert col.fmt.format(12345.0) in capsys.readouterr().out


def test_the_first_progress_line_names_the_window_it_averages_over():
    from lstm1997.cli import _trial_progress

    shown = []

    class P:
        def show(self, text):
            shown.append(text)

    _trial_progress(P())({"sequences": 1000, "rate": 10.0, "stage": "ST1", "window_mae": 0.1, "window_wrong": 3,
                          "window_window": 1000, "seconds": 1.0})
    assert "last 1,000:" in shown[0] and "last 2000" not in shown[0]


def test_the_quick_budget_solves_the_easy_rows_and_marks_the_undecided(tmp_path):
    """`--budget quick` must tell a user whether anything works: 6a (Table 9 row 1) solves within it; a row
    whose cap cannot reach the paper's figure is marked undecided."""
    p = cli("reproduce", "9", "--budget", "quick", "--rows", "1", "--db", tmp_path / "q.sqlite", "--jobs", "1")
    row = next(line for line in p.stdout.splitlines() if line.startswith("6a"))
    assert "100%" in row and "undecided" not in row, p.stdout
    from lstm1997.experiments import TABLES
    from lstm1997.experiments._base import quick_cap, quick_decides

    exp, rows = TABLES["3"]
    big = rows[-1]                                  # 2c q=1000 p=50: thousands of weights, 1000 steps
    cfg = exp.config_for(big)
    cap = quick_cap(cfg.architecture(), cfg.mean_length, big.paper.get("sequences"))
    assert not quick_decides(cap, big.paper.get("sequences"))


def test_a_quick_row_that_solved_is_not_undecided():
    from lstm1997.cli import _row_report
    from lstm1997.experiments import TABLES, TrialResult, trial_args

    exp, rows = TABLES["6"]
    row = rows[0]
    cfg = exp.config_for(row, max_sequences=100)           # far below 1.5x the paper's 269,650
    res = TrialResult(True, "solved", 90, 1.0, 9000, test={"wrong": 0, "total": 10, "mae": 0.01, "mse": 0.0})
    rec = {"status": "done", "result": res.to_dict(), "args": trial_args(exp, cfg)}
    assert _row_report(exp, row, [rec], True)["undecided"] is False
    unsolved = dict(rec, result=TrialResult(False, "cap", 100, 1.0, 9000, test=res.test).to_dict())
    assert _row_report(exp, row, [unsolved], True)["undecided"] is True
