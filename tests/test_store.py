"""The results store: round trip, claim rules, two writing processes, a killed writer, and files that are not stores."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lstm1997.runner.store import APPLICATION_ID, LostClaim, Store, StoreError, _pid_started

SRC = str(Path(__file__).resolve().parents[1] / "src")


def trial(i: int, **kw) -> dict:
    """A trial description with key ``k{i}``."""
    return {"key": f"k{i}", "fn": "exp.run", "args": {"T": 100 + i, "lr": 0.5}, "seed": i, "version": "1",
            "label": f"trial {i}", **kw}


def python(script: str, *args: str, **kw) -> subprocess.Popen:
    """Start ``script`` in a fresh interpreter that can import lstm1997 from this checkout."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def integrity(path: Path) -> str:
    with Store(path) as s:  # opening validates the file first
        return s._query("PRAGMA integrity_check")[0][0]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                         check=True)
    return int(out.stdout)


def set_heartbeat(path: Path, trial_id: int, value: float) -> None:
    c = sqlite3.connect(path)
    try:
        with c:
            c.execute("UPDATE trials SET heartbeat=? WHERE id=?", (value, trial_id))
    finally:
        c.close()


# -- round trip -------------------------------------------------------------------------------------------


def test_round_trip(tmp_path):
    path = tmp_path / "results.sqlite"
    with Store(path) as s:
        ids = s.register([trial(0), trial(1), trial(2)], tag="row A")
        assert ids == [1, 2, 3]
        r = s.get("k1")
        assert r["id"] == 2 and r["status"] == "pending" and r["args"] == {"T": 101, "lr": 0.5}
        assert r["seed"] == 1 and r["label"] == "trial 1" and r["attempts"] == 0 and r["artifact"] is None
        assert s.get("nope") is None and s.get(99) is None

        assert s.claim(ids[1])
        r = s.get(ids[1])
        assert r["status"] == "running" and r["owner"] == s.owner and r["attempts"] == 1
        assert r["started"] is not None and r["heartbeat"] is not None

        assert s.load_checkpoint(ids[1]) is None
        state = bytes(range(256)) * 10
        s.save_checkpoint(ids[1], state, sequences=500, seconds=1.5)
        s.save_checkpoint(ids[1], state[::-1], sequences=700, seconds=2.5)  # replaces
        assert s.load_checkpoint(ids[1]) == (state[::-1], 700, 2.5)
        assert (s.get(ids[1])["sequences"], s.get(ids[1])["seconds"]) == (700, 2.5)

        s.finish(ids[1], {"solved": True, "mse": float("nan"), "curve": [1, 2]}, b"\x00weights\xff", 3.0, 900)
        assert s.load_checkpoint(ids[1]) is None
        r = s.get(ids[1])
        assert r["status"] == "done" and r["owner"] is None and r["finished"] >= r["started"]
        assert r["result"]["solved"] is True and r["result"]["curve"] == [1, 2]
        assert r["result"]["mse"] != r["result"]["mse"]  # NaN round-trips
        assert r["artifact"] == b"\x00weights\xff" and r["has_artifact"]
        assert (r["seconds"], r["sequences"]) == (3.0, 900)

        # re-registering never modifies or duplicates; new keys are added; a second tag orders its own way
        changed = trial(1, fn="other", args={"x": 1}, seed=42, label="changed")
        assert s.register([trial(3), changed], tag="row B") == [4, 2]
        r = s.get(2)
        assert (r["fn"], r["args"], r["seed"], r["label"], r["status"]) == ("exp.run", {"T": 101, "lr": 0.5}, 1,
                                                                              "trial 1", "done")
        assert s.register([trial(2), trial(1), trial(0)], tag="row A") == [3, 2, 1]  # positions kept
        assert s.register([trial(5)]) == [5]
        assert len(s.records()) == 5

        assert s.tags() == ["row A", "row B"]
        assert [r["key"] for r in s.records(tag="row A")] == ["k0", "k1", "k2"]
        assert [r["key"] for r in s.records(tag="row B")] == ["k3", "k1"]
        assert [r["id"] for r in s.records()] == [1, 2, 3, 4, 5]
        assert [r["id"] for r in s.records(ids=[5, 1])] == [1, 5]
        assert [r["key"] for r in s.records(tag="row B", ids=[2, 5])] == ["k1"]
        recs = s.records(tag="row A")
        assert [r["has_artifact"] for r in recs] == [False, True, False] and all("artifact" not in r for r in recs)
        assert recs[1]["result"]["solved"] is True

        s.claim(ids[0])
        s.fail(ids[0], "diverged")
        assert s.get(ids[0])["status"] == "error" and s.get(ids[0])["message"] == "diverged"
        assert s.summary() == [
            {"tag": "row A", "trials": 3, "done": 1, "running": 0, "error": 1, "pending": 1, "seconds": 3.0,
             "sequences": 900},
            {"tag": "row B", "trials": 2, "done": 1, "running": 0, "error": 0, "pending": 1, "seconds": 3.0,
             "sequences": 900},
        ]
    with Store(path) as s:  # everything persisted; the file stays ours
        assert s.get(ids[1])["artifact"] == b"\x00weights\xff"
        assert s._query("PRAGMA application_id")[0][0] == APPLICATION_ID
        assert s._query("PRAGMA journal_mode")[0][0] == "wal"
        assert s._query("PRAGMA synchronous")[0][0] == 2  # FULL
        assert s._query("PRAGMA foreign_keys")[0][0] == 1


def test_release_fail_and_reclaim_keep_checkpoint(tmp_path):
    with Store(tmp_path / "s.db") as s:
        (i,) = s.register([trial(0)])
        assert s.claim(i)
        s.save_checkpoint(i, b"state", 10, 0.5)
        s.release(i)
        r = s.get(i)
        assert r["status"] == "pending" and r["owner"] is None and s.load_checkpoint(i) == (b"state", 10, 0.5)
        assert s.claim(i) and s.get(i)["attempts"] == 2
        s.fail(i, "boom")
        assert s.load_checkpoint(i) == (b"state", 10, 0.5)
        assert s.claim(i) and s.get(i)["attempts"] == 3
        s.release(i)
        s.release(i)  # not held: no-op
        assert s.get(i)["status"] == "pending"
        with pytest.raises(KeyError):
            s.claim(99)


# -- claim rules --------------------------------------------------------------------------------------------


def test_registering_known_trials_again_writes_nothing(tmp_path):
    """Re-running a finished command registers its trials again: that must not write (a read-only store,
    an archived results file, still prints its tables)."""
    with Store(tmp_path / "s.db") as s:
        ids = s.register([trial(i) for i in range(3)], tag="t")
        before = s._conn.total_changes
        writer = sqlite3.connect(tmp_path / "s.db")     # another process writing: no write lock to be had
        writer.execute("BEGIN IMMEDIATE")
        s._conn.execute("PRAGMA busy_timeout=200")
        try:
            assert s.register([trial(i) for i in range(3)], tag="t") == ids
        finally:
            writer.rollback()
            writer.close()
        assert s._conn.total_changes == before
        assert s.register([trial(i) for i in range(4)], tag="t")[:3] == ids     # a new one: written
        assert s.register([trial(0)], tag="u") == ids[:1]                       # a new tag: written
        assert s._conn.total_changes == before + 3                              # trial 3, its tag, tag u


def test_claim_rules(tmp_path):
    path = tmp_path / "s.db"
    host = socket.gethostname()
    with Store(path) as me, Store(path, owner=f"{host}:{os.getpid()}:0ther000") as live:
        ids = me.register([trial(i) for i in range(6)], tag="t")

        # done: never claimable, not even by its former owner
        assert me.claim(ids[0])
        me.finish(ids[0], {}, None, 0.0, 0)
        assert not me.claim(ids[0]) and not live.claim(ids[0])

        # running under a live other owner (alive pid on this host): not claimable; writes refused
        assert live.claim(ids[1])
        assert not me.claim(ids[1])
        assert [r["id"] for r in me.running_elsewhere(ids)] == [ids[1]]
        assert live.running_elsewhere(ids) == []
        with pytest.raises(StoreError, match="no longer held by this process"):
            me.save_checkpoint(ids[1], b"x", 1, 1.0)
        with pytest.raises(StoreError, match="no longer held by this process"):
            me.finish(ids[1], {}, None, 1.0, 1)
        with pytest.raises(StoreError, match="no longer held"):
            me.fail(ids[1], "x")
        me.release(ids[1])
        assert me.get(ids[1])["owner"] == live.owner and me.get(ids[1])["status"] == "running"
        assert live.claim(ids[1])  # re-claiming one's own running trial is allowed
        assert me.get(ids[1])["attempts"] == 2

        # ... however old its heartbeat, while that process lives (stopped with Ctrl-Z, or in a long segment):
        # pid 1 (started when the machine or container did) stands for it, with a heartbeat after its start
        with Store(path, owner=f"{host}:1:5topped0") as stopped:
            assert stopped.claim(ids[5])
        started = _pid_started(1) or time.time() - 3600
        assert started < time.time() - 10
        set_heartbeat(path, ids[5], max(time.time() - 600, started + 3))
        assert not me.claim(ids[5], stale_after=1)
        assert [r["id"] for r in me.running_elsewhere([ids[5]], stale_after=1)] == [ids[5]]

        # ... but a live pid that started after the owner's last heartbeat is another process (pid reused)
        set_heartbeat(path, ids[1], time.time() - 100_000)
        assert me.running_elsewhere([ids[1]]) == []
        assert me.claim(ids[1])
        assert me.get(ids[1])["owner"] == me.owner
        with pytest.raises(LostClaim, match="no longer held"):  # the former owner lost it
            live.save_checkpoint(ids[1], b"x", 1, 1.0)

        # running under a dead pid on this host: claimable, even with a fresh heartbeat
        with Store(path, owner=f"{host}:{dead_pid()}:deadbeef") as dead:
            assert dead.claim(ids[2])
        assert me.running_elsewhere([ids[2]]) == []
        assert me.claim(ids[2])

        # an owner on another host with a fresh heartbeat cannot be checked: alive; silent for stale_after: dead
        with Store(path, owner="elsewhere.example:1:abcdef01") as remote:
            assert remote.claim(ids[3])
        assert not me.claim(ids[3])
        set_heartbeat(path, ids[3], time.time() - 100)
        assert not me.claim(ids[3], stale_after=200) and me.running_elsewhere([ids[3]], stale_after=50) == []
        set_heartbeat(path, ids[3], time.time())

        # heartbeat() refreshes only one's own running trials
        set_heartbeat(path, ids[2], 0.0)
        set_heartbeat(path, ids[3], 0.0)
        me.heartbeat()
        assert me.get(ids[2])["heartbeat"] > time.time() - 60 and me.get(ids[3])["heartbeat"] == 0.0

        # running with no owner at all: claimable
        c = sqlite3.connect(path)
        try:
            with c:
                c.execute("UPDATE trials SET status='running', owner=NULL, heartbeat=? WHERE id=?",
                          (time.time(), ids[4]))
        finally:
            c.close()
        assert me.claim(ids[4])

        assert [(d["running"], d["done"], d["pending"]) for d in me.summary()] == [(5, 1, 0)]


# -- concurrency ------------------------------------------------------------------------------------------

WORKER = """
import json, os, sys, time
from lstm1997.runner.store import Store
path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
trials = [{"key": f"k{i}", "fn": "f", "args": {"i": i}, "seed": i, "version": "1", "label": ""} for i in range(n)]
with Store(path) as s:
    ids = s.register(trials, tag="all")
    open(path + "." + name, "w").close()
    end = time.monotonic() + 20
    while len([f for f in os.listdir(os.path.dirname(path)) if f.startswith(os.path.basename(path) + ".w")]) < 2:
        if time.monotonic() > end:
            sys.exit("the other process never came")
        time.sleep(0.0005)
    claimed = []
    for i in ids:
        if s.claim(i):
            claimed.append(i)
            s.save_checkpoint(i, name.encode(), 1, 0.0)
            time.sleep(0.002)  # some work, so that the other process gets trials too
            s.finish(i, {"by": name}, name.encode(), 0.1, 2)
print(json.dumps(claimed))
"""


def test_two_processes_share_one_file(tmp_path):
    path = tmp_path / "shared.sqlite"
    n = 50
    procs = [python(WORKER, str(path), name, str(n)) for name in ("w1", "w2")]
    try:
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            with p:  # closes the pipes and reaps the process
                if p.poll() is None:
                    p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    claimed = {name: set(json.loads(out)) for name, (out, _) in zip(("w1", "w2"), outs, strict=True)}
    assert len(claimed["w1"]) + len(claimed["w2"]) == n  # no trial claimed twice
    assert claimed["w1"].isdisjoint(claimed["w2"])
    with Store(path) as s:
        recs = s.records(tag="all")
        assert len(recs) == n and len(s.records()) == n
        assert all(r["status"] == "done" and r["attempts"] == 1 for r in recs)
        for r in recs:
            assert r["id"] in claimed[r["result"]["by"]]
            assert s.get(r["id"])["artifact"] == r["result"]["by"].encode()
            assert s.load_checkpoint(r["id"]) is None
        assert s.summary()[0]["done"] == n
    assert integrity(path) == "ok"


OPENER = """
import sys, time
from lstm1997.runner.store import Store, StoreError
folder, start, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
bad = []
for i in range(n):
    while time.time() < start + 0.05 * i:   # every process opens file i at the same moment
        time.sleep(0.0002)
    try:
        with Store(f"{folder}/{i}.sqlite") as s:
            s.register([{"key": "k", "fn": "f", "args": {}, "seed": 0, "version": "1"}])
    except StoreError as e:
        bad.append(str(e))
print(bad)
"""


def test_processes_opening_a_fresh_file_at_once_all_see_a_store(tmp_path):
    # one process initialising a fresh file while another inspects it: the inspection must be one snapshot,
    # or the half-initialised file looks like another application's database (found: 1 in ~20 runs before)
    n, start = 30, time.time() + 1.5
    procs = [python(OPENER, str(tmp_path), str(start), str(n)) for _ in range(4)]
    try:
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            with p:
                if p.poll() is None:
                    p.kill()
    assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, outs)] == [(0, "[]")] * 4, outs
    for i in range(n):
        with Store(tmp_path / f"{i}.sqlite") as s:
            assert len(s.records()) == 1


FULL_DISK = """
import resource, sys
from lstm1997.runner.store import Store, StoreError
s = Store(sys.argv[1])
ids = s.register([{"key": f"k{i}", "fn": "f", "args": {}, "seed": i, "version": "1"} for i in range(2)])
s.claim(ids[0])
s.finish(ids[0], {"n": 0}, b"a" * 1000, 1.0, 10)
s.claim(ids[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))   # the disk is full from now on
try:
    s.save_checkpoint(ids[1], b"x" * 1_000_000, 5, 1.0)
except StoreError as e:
    print(e)
"""


def test_a_full_disk_is_a_store_error_and_loses_nothing_committed(tmp_path):
    path = tmp_path / "full.sqlite"
    with python(FULL_DISK, str(path)) as p:
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "cannot write to the results store" in out and "is the disk full?" in out and "run the same " \
        "command again to resume" in out, out
    assert integrity(path) == "ok"
    with Store(path) as s:
        recs = s.records()
        assert [r["status"] for r in recs] == ["done", "running"]
        assert s.get(recs[0]["id"])["artifact"] == b"a" * 1000
        assert s.load_checkpoint(recs[1]["id"]) is None


# -- crash ----------------------------------------------------------------------------------------------------

CRASHER = """
import sys, time
from lstm1997.runner.store import Store
s = Store(sys.argv[1])
ids = s.register([{"key": f"k{i}", "fn": "f", "args": {}, "seed": i, "version": "1"} for i in range(5)])
for i in ids[:3]:
    s.claim(i)
    s.finish(i, {"n": i}, bytes([i]) * 1000, 1.0, 10)
s.claim(ids[3])
c = s._conn
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE trials SET status='done', result='{}', artifact=? WHERE id=?", (b"x" * 8_000_000, ids[3]))
c.execute("INSERT INTO trials (key, fn, args, seed, version, status, created) "
          "VALUES ('ghost', 'f', '{}', 0, '1', 'pending', 0)")
print("ready", flush=True)
time.sleep(60)
"""


def test_killed_writer_loses_nothing_committed(tmp_path):
    path = tmp_path / "crash.sqlite"
    with python(CRASHER, str(path)) as p:
        try:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        finally:
            os.kill(p.pid, signal.SIGKILL)
            p.communicate()
        assert p.returncode == -signal.SIGKILL
    with Store(path) as s:  # the killed writer's lock is gone: writes proceed
        recs = s.records()
        assert [r["key"] for r in recs] == ["k0", "k1", "k2", "k3", "k4"]
        assert [r["status"] for r in recs] == ["done", "done", "done", "running", "pending"]
        assert [r["result"] for r in recs[:3]] == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert s.get(recs[1]["id"])["artifact"] == bytes([2]) * 1000
        assert s.get("ghost") is None and not recs[3]["has_artifact"]
        assert s.claim(recs[3]["id"])  # its owner is dead
    assert integrity(path) == "ok"


# -- files that are not stores ------------------------------------------------------------------------------


def _foreign_sqlite(path: Path) -> None:
    c = sqlite3.connect(path)
    try:
        c.execute("CREATE TABLE foo (x)")
        c.commit()
    finally:
        c.close()


def _future_store(path: Path) -> None:
    c = sqlite3.connect(path)
    try:
        c.execute(f"PRAGMA application_id={APPLICATION_ID}")
        c.execute("PRAGMA user_version=99")
        c.commit()
    finally:
        c.close()


def _corrupt_sqlite(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\xff\x13" + os.urandom(4096 - 18))


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("hello, I am text\n" * 20), "not an SQLite database"),
    (lambda p: p.write_bytes(os.urandom(5000)), "not an SQLite database"),
    (lambda p: p.write_bytes(b"SQLite"), "not an SQLite database"),
    (_corrupt_sqlite, "not an SQLite database"),
    (lambda p: p.mkdir(), "is a directory"),
    (_foreign_sqlite, "not an lstm1997 results store"),
    (_future_store, "schema version 99 is newer"),
    (lambda p: os.mkfifo(p), "not a regular file"),       # reading it would block forever
], ids=["text", "random", "truncated", "corrupt", "directory", "foreign", "future", "fifo"])
def test_bad_files_raise_store_error(tmp_path, make, message):
    path = tmp_path / "bad.sqlite"
    make(path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError, match=message) as e:
        Store(path)
    assert str(e.value).startswith(str(path) + ": ") and "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)
    if before is not None:
        assert path.read_bytes() == before  # a refused file is left untouched


def test_missing_parent_directory(tmp_path):
    path = tmp_path / "no" / "such" / "s.db"
    with pytest.raises(StoreError, match="does not exist") as e:
        Store(path)
    assert str(e.value).startswith(str(path))
    assert not (tmp_path / "no").exists()


def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.sqlite"
    Store(path).close()
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file")
        with pytest.raises(StoreError, match="cannot read") as e:
            Store(path)
        assert str(e.value).startswith(str(path))
    finally:
        path.chmod(0o600)


def test_empty_and_missing_files_become_stores(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    missing = tmp_path / "missing.sqlite"
    for path in (empty, missing):
        with Store(path, owner="me") as s:
            assert s.owner == "me" and s.path == str(path)
            assert s.register([trial(0)], tag="x") == [1]
        with Store(path) as s:
            assert s.get("k0")["status"] == "pending" and s.tags() == ["x"]
        assert integrity(path) == "ok"


def test_default_owner_names_host_and_pid(tmp_path):
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "a.db") as b:
        host, pid, rand = a.owner.rsplit(":", 2)
        assert host == socket.gethostname() and int(pid) == os.getpid() and len(rand) == 8
        assert a.owner != b.owner
