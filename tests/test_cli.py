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
    (("run", "adding", "--q", 5), "no parameter"),
    (("run", "2c", "--p", 0), "invalid p"),
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
    """`--budget quick` runs a reduced version of every row of every table (about a minute)."""
    p = cli("reproduce", "all", "--budget", "quick")
    for title in ("Embedded Reber grammar", "Long time lags", "Noise and signal", "Adding problem",
                  "Multiplication problem", "Temporal order"):
        assert title in p.stdout
    assert sum(line.startswith("row  ") for line in p.stdout.splitlines()) == 10, "ten tables printed"
    assert "outside plausible range" not in p.stdout, "quick runs are not judged against the paper"
    s = cli("status")
    assert s.stdout.count("/1") >= 2 * 29 and "2c q=1000 p=50" in s.stdout, s.stdout   # every row, 1/1 done
    again = cli("reproduce", "all", "--budget", "quick")
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
