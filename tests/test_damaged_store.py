"""Issue 19, items 2 and 3: results read from the store are validated in one place
(``experiments.read_result``); a finished trial whose result is damaged is named (table, row, seed) and
counted as damaged by `status` and `report`, and run again by `reproduce` and `sensitivity`; `status` and
`report` read a store on a read-only file system; a store file deleted or replaced while `reproduce` runs
is noticed before any success is reported."""

import contextlib
import io
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys

import pytest

from lstm1997 import cli
from lstm1997.experiments import DamagedResult, damage_of, read_result
from lstm1997.runner import Store, StoreError

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import fuzz_store  # noqa: E402

RUN = ["reproduce", "9", "--rows", "1", "--trials", "2", "--max-sequences", "200", "--jobs", "1"]


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    db = tmp_path_factory.mktemp("store") / "s.sqlite"
    rc, _, err = _cli(*RUN, "--db", db)
    assert rc == 0, err
    return db


def _damage(src, dst, value):
    shutil.copy(src, dst)
    with sqlite3.connect(dst) as c:
        c.execute("UPDATE trials SET result=? WHERE id=(SELECT min(id) FROM trials)", (value,))
    return dst


DAMAGES = {"empty": "", "null": "null", "not-json": "{oops", "list": "[1, 2]", "NULL": None,
           "wrong-types": '{"success": "yes", "status": "solved", "sequences": -3, "seconds": "x", "steps": 1, '
                          '"stages": {}, "test": {}, "quality_at": null, "message": "", "curve": [], "events": []}',
           "missing-keys": '{"success": true}'}


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_every_view_names_a_damaged_result_and_reproduce_runs_it_again(finished, tmp_path, kind):
    db = _damage(finished, tmp_path / "d.sqlite", DAMAGES[kind])
    with Store(db) as s:
        rec = s.records()[0]
    assert damage_of(rec)
    with pytest.raises(DamagedResult):
        read_result(rec)

    rc, out, err = _cli("status", "--db", db)
    assert rc == 0 and "Traceback" not in err, err
    assert "1/2" in out and "(1 damaged)" in out and "table 9, row 6a, seed 0" in out, out

    rc, out, err = _cli("report", "--db", db, "--out", tmp_path / "rep")
    assert rc == 0, err
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Damaged trials" in md and "damaged" in err

    rc, out, err = _cli(*RUN, "--db", db)
    assert rc == 0 and "internal error" not in err, err
    assert "its stored result is damaged" in err and "run again" in err
    assert "1 trial(s) run now, 1 taken" in out
    with Store(db) as s:
        assert all(damage_of(r) is None and r["status"] == "done" for r in s.records())
    rc, out, err = _cli("status", "--db", db)
    assert "2/2" in out and "damaged" not in out


def test_sensitivity_runs_a_damaged_trial_again(finished, tmp_path):
    db = tmp_path / "sens.sqlite"
    rc, _, err = _cli("sensitivity", "9", "--rows", "1", "--trials", "1", "--max-sequences", "200", "--jobs", "1",
                      "--readings", "spec", "--db", db)
    assert rc == 0, err
    with sqlite3.connect(db) as c:
        c.execute("UPDATE trials SET result='{bad'")
    rc, out, err = _cli("sensitivity", "9", "--rows", "1", "--trials", "1", "--max-sequences", "200", "--jobs", "1",
                        "--readings", "spec", "--db", db)
    assert rc == 0 and "its stored result is damaged" in err and "internal error" not in err, err


def test_damaged_args_are_named_not_a_traceback(finished, tmp_path):
    db = tmp_path / "a.sqlite"
    shutil.copy(finished, db)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE trials SET args='not json' WHERE id=(SELECT min(id) FROM trials)")
    rc, out, err = _cli("status", "--db", db)
    assert rc == 0 and "args column is not JSON" in out, (out, err)
    rc, out, err = _cli("report", "--db", db, "--out", tmp_path / "rep")
    assert rc in (0, 2) and "internal error" not in err and "Traceback" not in err, err


def test_the_fuzz_helper_makes_damaged_stores_that_every_view_survives(tmp_path):
    paths = fuzz_store.damaged_stores(str(tmp_path))
    assert len(paths) >= 8
    for p in paths:
        for argv in (["status", "--db", p], ["report", "--db", p, "--out", tmp_path / "rep"]):
            rc, out, err = _cli(*argv)
            assert rc in (0, 2) and "internal error" not in err and "Traceback" not in err, (p, argv, err)


def test_a_store_deleted_while_reproduce_runs_is_an_error_never_a_success(tmp_path, monkeypatch):
    db = tmp_path / "v.sqlite"
    real = Store.finish

    def finish(self, *a, **k):
        real(self, *a, **k)
        if os.path.exists(db):
            os.unlink(db)                 # the user deletes the store while the command runs

    monkeypatch.setattr(Store, "finish", finish)
    rc, out, err = _cli(*RUN, "--db", db)
    assert rc == 2 and "was deleted or moved away" in err, (out, err)
    assert "run now" not in out


def test_a_store_replaced_by_another_file_is_noticed(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as s:
        os.replace(db, tmp_path / "moved.sqlite")
        with Store(db):                  # another store now has the name
            pass
        with pytest.raises(StoreError, match="replaced by another file"):
            s.check_file()
        with pytest.raises(StoreError, match="replaced by another file"):
            s.register([{"key": "k", "fn": "m:f", "args": {}, "seed": 0, "version": "v"}])


def test_a_read_only_store_refuses_writes_and_an_empty_file_is_not_a_store(finished, tmp_path):
    with Store(finished, readonly=True) as s:
        assert len(s.records()) == 2
        with pytest.raises(StoreError, match="read-only"):
            s.reset(s.records()[0]["id"])
    (tmp_path / "e.sqlite").write_bytes(b"")
    with pytest.raises(StoreError):
        Store(tmp_path / "e.sqlite", readonly=True)
    with pytest.raises(StoreError, match="no results store"):
        Store(tmp_path / "none.sqlite", readonly=True)


@pytest.fixture
def ro_mount(tmp_path):
    """A read-only file system (tmpfs, remounted read-only); skipped where mounting is not permitted."""
    m = tmp_path / "ro"
    m.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "none", str(m)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or not permitted)")
    try:
        yield m
    finally:
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def test_status_and_report_read_a_store_on_a_read_only_file_system(finished, tmp_path, ro_mount):
    shutil.copy(finished, ro_mount / "s.sqlite")
    assert subprocess.run(["mount", "-o", "remount,ro", str(ro_mount)], capture_output=True).returncode == 0
    rc, out, err = _cli("status", "--db", ro_mount / "s.sqlite")
    assert rc == 0 and "2/2" in out, err
    rc, out, err = _cli("report", "--db", ro_mount / "s.sqlite", "--out", tmp_path / "rep")
    assert rc == 0 and (tmp_path / "rep" / "report.html").exists(), err
    rc, out, err = _cli(*RUN, "--db", ro_mount / "s.sqlite")     # all finished: nothing to write
    assert rc == 0 and "0 trial(s) run now, 2 taken" in out, err


def test_a_wal_file_on_a_read_only_file_system_is_explained(finished, tmp_path, ro_mount):
    work = tmp_path / "w.sqlite"
    shutil.copy(finished, work)
    c = sqlite3.connect(work)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("UPDATE trials SET label=label || ' '")
    c.commit()
    for sfx in ("", "-wal"):
        shutil.copy(str(work) + sfx, str(ro_mount / "s.sqlite") + sfx)
    c.close()
    assert subprocess.run(["mount", "-o", "remount,ro", str(ro_mount)], capture_output=True).returncode == 0
    rc, out, err = _cli("status", "--db", ro_mount / "s.sqlite")
    assert rc in (0, 2) and "Traceback" not in err and "internal error" not in err, err
    if rc == 2:
        assert "-wal" in err and "copy the store" in err
