"""Issue 19 (trust at the edges, second round), the command line's side: no output replaces an input or
another output (one check for every command), every long command stops on SIGINT and SIGTERM with a line
saying what it reached and exit 130, absurd sizes and options that do not apply are refused up front in
the user's terms, and a bug is one line, never a traceback."""

import contextlib
import io
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lstm1997 import Batch, cli
from lstm1997.io import check_overlaps, same_file, save_data

EXE = pathlib.Path(sys.executable).with_name("lstm1997")


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in argv])
        except SystemExit as e:        # argparse
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def _data(path, n=12, T=6, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1, 1, (T, 2)) for _ in range(n)]
    ds = []
    for x in xs:
        d = np.full((T, 1), np.nan)
        d[-1] = float(x[0, 0] > 0)
        ds.append(d)
    save_data(path, Batch.from_sequences(xs, ds))
    return path


@pytest.fixture
def files(tmp_path):
    d = _data(tmp_path / "d.npz")
    m = tmp_path / "m.npz"
    rc, _, err = _cli("fit", d, "--blocks", "1", "--cells", "1", "--epochs", "1", "--out", m)
    assert rc == 0, err
    return tmp_path, d, m


# ---- one check: no output is an input or another output -----------------------------------------------

def test_same_file_by_resolved_path_and_by_inode(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    os.link(a, tmp_path / "hard")
    os.symlink(a, tmp_path / "soft")
    assert same_file(a, tmp_path / "hard") and same_file(a, tmp_path / "soft")
    assert same_file(tmp_path / "new", tmp_path / "sub" / ".." / "new")      # neither exists
    assert not same_file(a, tmp_path / "new")


def test_check_overlaps_refuses_inputs_outputs_and_folders(tmp_path):
    check_overlaps([("--out", tmp_path / "o")], [("DATA", tmp_path / "d")])
    with pytest.raises(ValueError, match="would replace the input"):
        check_overlaps([("--out", tmp_path / "d")], [("DATA", tmp_path / "." / "d")])
    with pytest.raises(ValueError, match="name the same file"):
        check_overlaps([("--json", tmp_path / "x"), ("--db", tmp_path / "x")])
    with pytest.raises(ValueError, match="lies in"):
        check_overlaps([], [("--db", tmp_path / "f" / "s.sqlite")], folders=[("--out", tmp_path / "f")])


@pytest.mark.parametrize("cmd", ["reproduce", "sensitivity"])
def test_a_new_json_path_equal_to_the_new_store_is_refused_before_any_trial(tmp_path, cmd):
    p = tmp_path / "x.json"
    extra = ["--readings", "spec"] if cmd == "sensitivity" else []
    rc, out, err = _cli(cmd, "9", "--rows", "1", "--trials", "1", "--max-sequences", "10", *extra,
                        "--db", p, "--json", p)
    assert rc == 2 and "same file" in err and "Traceback" not in err
    assert not p.exists(), "nothing was run or written"


def test_json_onto_the_stores_wal_file_is_refused(tmp_path):
    db = tmp_path / "s.sqlite"
    rc, _, err = _cli("reproduce", "9", "--rows", "1", "--trials", "1", "--max-sequences", "10", "--db", db,
                      "--json", str(db) + "-wal")
    assert rc == 2 and "wal" in err


def test_json_onto_the_store_through_a_symlink_is_refused(tmp_path):
    db = tmp_path / "s.sqlite"
    os.symlink(db, tmp_path / "link.json")          # dangling: the store does not exist yet
    rc, _, err = _cli("reproduce", "9", "--rows", "1", "--trials", "1", "--max-sequences", "10", "--db", db,
                      "--json", tmp_path / "link.json")
    assert rc == 2 and "same file" in err and not db.exists()


def test_fit_never_overwrites_its_init_model_not_even_through_a_hard_link(files):
    w, d, m = files
    before = m.read_bytes()
    os.link(m, w / "hard.npz")
    for out in (m, w / "hard.npz", w / "." / "m.npz"):
        rc, _, err = _cli("fit", d, "--init", m, "--epochs", "1", "--out", out)
        assert rc == 2 and "would replace the input --init" in err, err
    rc, _, err = _cli("fit", d, "--blocks", "1", "--cells", "1", "--epochs", "1", "--out", w / "x" / ".." / "d.npz")
    assert rc == 2 and "input" in err
    assert m.read_bytes() == before


def test_predict_output_onto_the_model_or_the_data_is_refused(files):
    w, d, m = files
    for out in (m, d):
        before = pathlib.Path(out).read_bytes()
        rc, _, err = _cli("predict", m, d, "--out", out)
        assert rc == 2 and "would replace the input" in err
        assert pathlib.Path(out).read_bytes() == before


def test_report_never_replaces_its_store(tmp_path):
    db = tmp_path / "report.md"
    rc, _, err = _cli("report", "--db", db, "--out", tmp_path)
    assert rc == 2 and "would replace the input --db" in err
    (tmp_path / "figures").mkdir()
    rc, _, err = _cli("report", "--db", tmp_path / "figures" / "s.sqlite", "--out", tmp_path)
    assert rc == 2 and "lies in" in err


# ---- absurd sizes, options that do not apply, values in the user's terms ---------------------------------

@pytest.mark.parametrize("argv, words", [
    (["run", "adding", "--blocks", "3", "--max-sequences", "10"], "blocks=3: the paper's net"),
    (["run", "6a", "--blocks", "7", "--max-sequences", "10"], "--blocks does not apply to experiment 6a"),
    (["run", "2a", "--method", "RTRL", "--blocks", "3"], "--blocks does not apply"),
    (["run", "2c", "--p", "0", "--max-sequences", "10"], "p must be at least 1 for 2c, got 0"),
    (["run", "2a", "--q", "-1", "--max-sequences", "10"], "q must be at least 0, got -1"),
    (["run", "adding", "--seed", "-1", "--max-sequences", "10"], "--seed must be an integer >= 0, got -1"),
    (["reproduce", "7", "--rows", ""], "names no row"),
    (["reproduce", "7", "--rows", " , "], "names no row"),
    (["sensitivity", "9", "--readings", "+"], "is not a reading set"),
    (["sensitivity", "9", "--readings", "spec,a++b"], "is not a reading set"),
    (["sensitivity", "9", "--trials", "1000000000000"], "is more than 10,000"),
    (["reproduce", "9", "--trials", "1000000000000"], "is more than 10,000"),
    (["guess", "3a", "--trials", "1000000000000"], "is more than 10,000"),
    (["reproduce", "9", "--jobs", "100000"], "worker processes"),
    (["reproduce", "9", "--lanes", "100000"], "--lanes 100,000"),
])
def test_refused_up_front_with_a_message_in_the_users_terms(tmp_path, argv, words):
    t0 = time.monotonic()
    rc, out, err = _cli(*argv, *(["--db", tmp_path / "s.sqlite"] if argv[0] in ("reproduce", "sensitivity") else []))
    assert rc == 2, (out, err)
    assert words in err and "in_gate_bias" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.sqlite").exists(), "refused before the store is made"


def test_fit_refuses_absurd_epochs_and_targets_show_their_exact_value(tmp_path):
    d = _data(tmp_path / "d.npz")
    rc, _, err = _cli("fit", d, "--blocks", "1", "--cells", "1", "--epochs", "100000000000", "--out", tmp_path / "m.npz")
    assert rc == 2 and "--epochs" in err
    x = [np.zeros((3, 1))]
    t = [np.array([[np.nan], [0.5], [1.0000000000000002]])]
    save_data(tmp_path / "t.npz", Batch.from_sequences(x, t))
    rc, _, err = _cli("fit", tmp_path / "t.npz", "--blocks", "1", "--cells", "1", "--out", tmp_path / "m.npz")
    assert rc == 2 and "1.0000000000000002" in err and "[0.5, 1.0000000000000002]" in err


def test_a_bug_is_one_line_and_exit_70_never_a_traceback(monkeypatch):
    def boom(args):
        raise TypeError("unexpected")
    monkeypatch.setattr(cli, "cmd_list", boom)
    monkeypatch.delenv("LSTM1997_DEBUG", raising=False)
    parser = cli._parser
    def patched():
        p = parser()
        for a in p._subparsers._group_actions[0].choices.values():
            if a.get_default("func") is not None and a.get_default("func").__name__ == "cmd_list":
                a.set_defaults(func=boom)
        return p
    monkeypatch.setattr(cli, "_parser", patched)
    rc, _, err = _cli("list")
    assert rc == 70 and "internal error (TypeError: unexpected)" in err and "Traceback" not in err


# ---- signals: every long command stops with a line, exit 130, no partial or temporary file ---------------

def _leftovers(folder) -> list:
    return [p.name for p in pathlib.Path(folder).rglob("*")
            if p.name.endswith((".tmp", ".probe")) or p.name.startswith(".lstm1997-report-")]


def _signal_when(argv, cwd, marker: str, sig, ignore_sigint: bool):
    """Start the installed command, wait until ``marker`` shows on stderr, send ``sig``; (rc, stderr)."""
    pre = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    p = subprocess.Popen([str(EXE), *map(str, argv)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=pre)
    seen = []
    try:
        for line in p.stderr:
            seen.append(line)
            if marker in line:
                break
        p.send_signal(sig)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return p.returncode, "".join(seen) + err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_fit_stops_on_a_signal_with_exit_130_and_writes_nothing(tmp_path, sig):
    d = _data(tmp_path / "d.npz", n=200, T=20)
    # SIGINT ignored as a shell starts a background job: a signal sent on purpose still stops it
    rc, err = _signal_when(["fit", d, "--blocks", "1", "--cells", "2", "--epochs", "1000000", "--out",
                            tmp_path / "m.npz"], tmp_path, "epoch 1/", sig, ignore_sigint=True)
    assert rc == 130, err
    assert f"interrupted ({signal.Signals(sig).name}) during fit after epoch" in err and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists() and not _leftovers(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_guess_stops_on_a_signal_with_exit_130_not_as_if_finished(tmp_path, sig):
    rc, err = _signal_when(["guess", "3a", "--trials", "10000", "--json", tmp_path / "g.json"], tmp_path,
                           "trial 1:", sig, ignore_sigint=True)
    assert rc == 130, err
    assert "interrupted" in err and "of 10000 trial(s)" in err and "Traceback" not in err
    assert not (tmp_path / "g.json").exists() and not _leftovers(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_report_stops_on_a_signal_and_leaves_no_temporary_folder(tmp_path, monkeypatch, sig):
    db = tmp_path / "s.sqlite"
    rc, _, err = _cli("reproduce", "9", "--rows", "1", "--trials", "1", "--max-sequences", "200", "--jobs", "1",
                      "--db", db)
    assert rc == 0, err
    import lstm1997.report as report

    real = report.build_report

    def build(db, out, progress=None):
        def prog(msg):
            os.kill(os.getpid(), sig)          # arrives while the report is being built
            if progress:
                progress(msg)
        return real(db, out, progress=prog)

    monkeypatch.setattr(report, "build_report", build)
    rc, out, err = _cli("report", "--db", db, "--out", tmp_path / "rep")
    assert rc == 130, err
    assert f"interrupted ({signal.Signals(sig).name}) while building the report" in err
    assert not (tmp_path / "rep").exists() or not any((tmp_path / "rep").iterdir())
    assert not _leftovers(tmp_path)
    # the handlers are given back afterwards
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None) or callable(signal.getsignal(signal.SIGTERM))


def test_a_signal_while_the_output_is_written_is_held_back_until_it_is_complete(tmp_path, monkeypatch):
    import lstm1997.io as lio

    real = lio.write_text

    def write(path, text):
        os.kill(os.getpid(), signal.SIGTERM)   # arrives in the middle of writing --json
        real(path, text)

    monkeypatch.setattr(lio, "write_text", write)
    rc, out, err = _cli("guess", "3a", "--trials", "1", "--json", tmp_path / "g.json")
    assert rc == 130 and "the output was completed and written" in err, err
    import json

    assert json.loads((tmp_path / "g.json").read_text())["summary"]["trials"] == 1


def test_a_model_file_whose_architecture_is_far_bigger_than_its_arrays_is_refused_before_allocating(files):
    import json

    w, d, m = files
    arrays = dict(np.load(m))
    arch = json.loads(str(arrays["architecture"]))
    for change in ({"blocks": 10 ** 5, "in_gate_bias": None}, {"n_in": 10 ** 12}):
        a = {**arch, **change}
        np.savez(w / "huge.npz", **{**arrays, "architecture": np.array(json.dumps(a))})
        rc, _, err = _cli("predict", w / "huge.npz", d, "--out", w / "o.npz")
        assert rc == 2 and "but the architecture needs" in err and "memory" not in err, err
