"""Killing `lstm1997 reproduce` (SIGKILL, SIGINT) at random moments and running the same command again
ends with the results of an uninterrupted run: no trial lost, none duplicated, every number the same."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from lstm1997.runner import Store

EXE = pathlib.Path(sys.executable).with_name("lstm1997")
ARGS = ["reproduce", "7", "--rows", "1", "--trials", "4", "--max-sequences", "40000", "--checkpoint-every", "0.2"]


def _results(db):
    with Store(db) as store:
        recs = store.records()
        assert len(recs) == 4 and len({r["key"] for r in recs}) == 4, "no trial lost or duplicated"
        assert all(r["status"] == "done" for r in recs)
        full = [store.get(r["id"]) for r in recs]
    return {r["key"]: ({k: v for k, v in r["result"].items() if k != "seconds"}, r["artifact"]) for r in full}


def _start(db, jobs):
    return subprocess.Popen([str(EXE), *ARGS, "--db", str(db), "--jobs", str(jobs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    db = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    ref = subprocess.run([str(EXE), *ARGS, "--db", str(db), "--jobs", "1"], capture_output=True, text=True,
                         timeout=300)
    assert ref.returncode == 0, ref.stderr
    return _results(db)


def test_killed_and_interrupted_runs_resume_to_the_uninterrupted_result(tmp_path, rng, reference):
    db = tmp_path / "killed.sqlite"
    kills = []
    for sig in (signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGINT):
        p = _start(db, 2)
        try:
            # early SIGKILLs hit workers still starting; SIGINT only once the command runs (a Ctrl-C while
            # Python itself is still importing NumPy is Python's own business)
            time.sleep(float(rng.uniform(0.5, 3.5) if sig == signal.SIGKILL else rng.uniform(1.5, 3.5)))
            p.send_signal(sig)
            out, err = p.communicate(timeout=120)   # also waits for workers (they hold the pipes)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        kills.append((sig, p.returncode))
        if sig == signal.SIGKILL:
            assert p.returncode in (-signal.SIGKILL, 0), err
        else:
            assert p.returncode in (130, 0), err
            if p.returncode == 130:    # (a signal before any trial ran gets the short form)
                assert "To resume, run: lstm1997 reproduce 7" in err and "Traceback" not in err
    assert any(rc not in (0,) for _, rc in kills), "at least one run was really interrupted"
    done = subprocess.run([str(EXE), *ARGS, "--db", str(db), "--jobs", "2"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert _results(db) == reference
    with Store(db) as store:
        assert any(r["attempts"] > 1 for r in store.records()), "some trial was resumed"


def test_sigterm_to_the_process_group_stops_cleanly_with_checkpoints(tmp_path, reference):
    """`timeout`, Slurm, systemd and a terminal signal the whole process group: the worker processes get
    the SIGTERM too. They must leave stopping to the command (not die and break the pool), so that it ends
    as after Ctrl-C: checkpoints saved, exit 130, the command to resume; and resuming gives the results."""
    db = tmp_path / "term.sqlite"
    p = subprocess.Popen([str(EXE), *ARGS, "--db", str(db), "--jobs", "2"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end and p.poll() is None:   # until a trial runs (the store says so)
            if db.exists():
                with Store(db, owner="test") as store:
                    if any(r["status"] == "running" for r in store.records()):
                        break
            time.sleep(0.05)
        time.sleep(0.3)
        assert p.poll() is None, "still running when signalled"
        os.killpg(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert p.returncode == 130, err
    assert "died" not in err and "Traceback" not in err, err
    assert "running trial(s) kept a checkpoint. To resume, run: lstm1997 reproduce 7" in err
    with Store(db) as store:
        assert all(r["status"] in ("pending", "done") for r in store.records()), "nothing left claimed"
    done = subprocess.run([str(EXE), *ARGS, "--db", str(db), "--jobs", "2"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert _results(db) == reference
