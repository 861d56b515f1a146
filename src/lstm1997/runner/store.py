"""A results store for independent, resumable trials: one SQLite file shared by any number of processes.

The store knows nothing about what a trial computes. A trial is identified by a ``key`` (a string chosen by
the caller) and carries opaque fields ``fn`` (str), ``args`` (a JSON-able dict), ``seed`` (int), ``version``
(str) and ``label`` (str, human readable). Its result is a JSON-able dict plus an optional bytes artifact;
a running trial may save one checkpoint (opaque bytes) at a time.

Life of a trial: ``pending`` --:meth:`Store.claim`--> ``running`` --:meth:`Store.finish`--> ``done``, or
--:meth:`Store.fail`--> ``error`` (claimable again), or --:meth:`Store.release`--> ``pending``. A running
trial whose owner process is dead can be claimed by another process, which then resumes from the
checkpoint: on this host, dead means the owner's pid is gone (or is now another process, started after the
trial's last heartbeat), however old the heartbeat (a stopped or busy process keeps its trials); on another
host, where the pid cannot be checked, silent for ``stale_after`` seconds.

The file: ``PRAGMA application_id`` = 0x4C53544D ("LSTM"), ``PRAGMA user_version`` = schema version (1),
WAL journal, ``synchronous=FULL`` (a crash loses nothing committed), every write inside ``BEGIN IMMEDIATE``
... ``COMMIT`` with a 30 s busy timeout, so writers in different processes serialise instead of failing.
Every problem with the file raises :class:`StoreError`, a ``ValueError`` whose one-line message starts
with the path.

Damaged rows are never a traceback: a record whose ``args`` or ``result`` column is not valid JSON (or not
a JSON object), or a 'done' trial with no result, is returned with ``record["damaged"]`` = the reason
(and that column as ``None``); what a result must hold is the caller's business (``lstm1997.experiments
.read_result`` checks a trial's). :meth:`Store.reset` puts such a trial back to 'pending' to be run again.

The file must stay the one opened: every write first checks that the path still names it (same device
and inode), and :meth:`Store.check_file` does the same on demand; a store file deleted or replaced while a
command runs raises :class:`StoreError` instead of results going to an unlinked file.

``Store(path, readonly=True)`` opens an existing store for reading only (SQLite ``mode=ro``; where even
that cannot open it, on a read-only file system or folder, ``immutable=1``, unless a ``-wal`` file holds
results not yet in the main file, which is then said): ``status`` and ``report`` read a store that way,
and every write to it raises :class:`StoreError`.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Store", "StoreError", "default_owner"]

APPLICATION_ID = 0x4C53544D
SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE trials (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    fn TEXT NOT NULL,
    args TEXT NOT NULL,
    seed INTEGER NOT NULL,
    version TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK(status IN ('pending', 'running', 'done', 'error')),
    owner TEXT,
    heartbeat REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    seconds REAL NOT NULL DEFAULT 0,
    sequences INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    artifact BLOB,
    message TEXT
);
CREATE TABLE checkpoints (
    trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,
    sequences INTEGER NOT NULL,
    seconds REAL NOT NULL,
    saved REAL NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE tags (
    tag TEXT NOT NULL,
    trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (tag, trial_id)
);
CREATE INDEX tags_trial ON tags(trial_id);
CREATE INDEX trials_status_owner ON trials(status, owner);
"""

_COLUMNS = ("id, key, fn, args, seed, version, label, status, owner, heartbeat, attempts, created, started, "
            "finished, seconds, sequences, result, message")
_NAMES = tuple(c.strip() for c in _COLUMNS.split(","))


class StoreError(ValueError):
    """A problem with a results store file, or a write to a trial this process no longer holds."""


class LostClaim(StoreError):
    """A write to a trial this Store no longer holds (another process took it over, or it was released)."""


def _disk_trouble(e: sqlite3.Error) -> bool:
    """Whether SQLite's error says the write failed at the disk (full, quota, file size limit)."""
    return any(w in str(e).lower() for w in ("disk", "full", "i/o"))


def default_owner() -> str:
    """Return ``"host:pid:xxxxxxxx"`` (8 random hex digits): identifies this process, and this Store, in claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): equal values give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _pid_started(pid: int) -> float | None:
    """When the process ``pid`` started (seconds since the epoch), where the system says (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        ticks = int(stat.rsplit(")", 1)[1].split()[19])       # field 22, after the (comm) field
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a process we may not signal counts as alive)."""
    if pid <= 0:
        return True  # cannot tell; never signal a process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Store:
    """An open results store; a context manager. ``path`` is the file, ``owner`` names this Store in claims.

    Opening creates a missing file (its directory must exist) and initialises an empty one. One Store may be
    shared by threads of a process (calls are serialised by a lock); each process should open its own.
    """

    def __init__(self, path: str | os.PathLike[str], *, owner: str | None = None, readonly: bool = False) -> None:
        """Open (creating or initialising if needed) the store at ``path``; raise :class:`StoreError` if it is
        not one (a directory, unreadable, not SQLite, corrupt, another application's, a newer schema).
        ``readonly``: open an existing store for reading only (see the module docstring)."""
        self.path = os.fspath(path)
        self.owner = default_owner() if owner is None else owner
        self.readonly = bool(readonly)
        self._host = socket.gethostname()
        self._lock = threading.RLock()
        self._conn = None
        self._ident = None           # (device, inode) of the file opened: set once it exists
        self._precheck()
        if self.readonly:
            self._open_readonly()
        else:
            try:
                self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            except (sqlite3.Error, OSError) as e:
                raise StoreError(f"{self.path}: cannot open ({e})") from None
            try:
                self._open()
            except StoreError as e:
                self._conn.close()
                self._conn = None
                # an existing store on a read-only file system or folder: read it; a write says why it cannot
                if not (os.path.isfile(self.path) and ("unable to open" in str(e) or "readonly" in str(e)
                                                       or "read-only" in str(e))):
                    raise
                self.readonly, self._why_readonly = True, " ".join(str(e).split(": ", 1)[-1].split())
                self._open_readonly()
            except BaseException:
                self._conn.close()
                raise
        self._ident = self._stat_ident()

    def _stat_ident(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def check_file(self) -> None:
        """Raise :class:`StoreError` unless ``path`` still names the file this Store opened (it was not
        deleted, moved away or replaced by another file since)."""
        now = self._stat_ident()
        if self._ident is None:      # the file SQLite is creating: this is it
            self._ident = now
            return
        if now != self._ident:
            what = "was deleted or moved away" if now is None else "was replaced by another file"
            raise StoreError(f"{self.path}: the results store {what} while this command was using it; what was "
                             "written since went to the old file, which no longer has this name: nothing of this "
                             "run's new results is in a file named here. Put the store back (or choose a new --db) "
                             "and run the same command again")

    def _open_readonly(self) -> None:
        """Open an existing store read-only: ``mode=ro``, else (read-only file system or folder) ``immutable=1``."""
        if not os.path.exists(self.path):
            raise StoreError(f"{self.path}: no results store there")
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path))
        last = None
        for opts in ("?mode=ro", "?mode=ro&immutable=1"):
            if "immutable" in opts:
                wal = self.path + "-wal"
                try:
                    wal_size = os.path.getsize(wal)
                except OSError:
                    wal_size = 0
                if wal_size:
                    raise StoreError(f"{self.path}: cannot be read here: the store's {wal} holds results not yet "
                                     "in the main file, and SQLite can read them only where it may create or "
                                     f"write {self.path}-shm, which it cannot here ({last}); copy the store and "
                                     "its -wal file to a writable folder and read the copy, or open it once "
                                     "where it is writable")
            try:
                conn = sqlite3.connect(uri + opts, uri=True, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as e:
                msg = str(e)
                if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
                    raise StoreError(f"{self.path}: not an SQLite database (corrupt, or another kind of file)") from None
                last = msg
                try:
                    conn.close()
                except Exception:
                    pass
                continue
            self._conn = conn
            try:
                if self._inspect():
                    raise StoreError(f"{self.path}: an empty SQLite database, not a results store")
            except sqlite3.DatabaseError as e:
                self._conn.close()
                raise StoreError(f"{self.path}: cannot read as a results store ({e})") from None
            except BaseException:
                self._conn.close()
                raise
            return
        raise StoreError(f"{self.path}: cannot open the results store for reading ({last})")

    # -- opening ---------------------------------------------------------------------------------------

    def _precheck(self) -> None:
        """Refuse, before SQLite touches it, a path that is a directory, unreadable, or not an SQLite file."""
        p = self.path
        if os.path.isdir(p):
            raise StoreError(f"{p}: is a directory, not a results store")
        if os.path.exists(p) and not os.path.isfile(p):     # a FIFO would block the read below forever
            raise StoreError(f"{p}: not a regular file, not a results store")
        if not os.path.exists(p):
            parent = os.path.dirname(os.path.abspath(p))
            if not os.path.isdir(parent):
                raise StoreError(f"{p}: cannot create the results store: directory {parent} does not exist")
            return
        try:
            with open(p, "rb") as f:
                head = f.read(100)
        except OSError as e:
            raise StoreError(f"{p}: cannot read ({e.strerror or e})") from None
        if head and (len(head) < 100 or not head.startswith(_SQLITE_MAGIC)):
            raise StoreError(f"{p}: not an SQLite database (corrupt, or another kind of file)")

    def _inspect(self) -> bool:
        """Return True for a fresh database (to initialise), False for one of ours; raise StoreError otherwise."""
        # one statement, so one snapshot: read one by one, another process initialising the file may commit
        # between the reads (application_id still 0, tables already there) and the file would look foreign
        app, ver, n = self._conn.execute(
            "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version),"
            " (SELECT count(*) FROM sqlite_master)").fetchone()
        if app == APPLICATION_ID:
            if ver > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: results store schema version {ver} is newer than this code "
                                 f"knows ({SCHEMA_VERSION}); upgrade lstm1997")
            if ver < 1:
                raise StoreError(f"{self.path}: results store with unknown schema version {ver}")
            return False
        if app == 0 and n == 0:
            return True
        raise StoreError(f"{self.path}: not an lstm1997 results store (an SQLite database of another application)")

    def _journal_wal(self) -> str:
        """Switch to WAL. Two processes opening a fresh file at once may both try; SQLite answers the second
        "database is locked" at once (the busy timeout does not cover this switch), so retry for up to 30 s."""
        end = time.monotonic() + 30.0
        while True:
            try:
                return self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > end:
                    raise
                time.sleep(0.01)

    def _open(self) -> None:
        """Validate the file, switch to WAL, initialise a fresh one inside a write transaction."""
        try:
            fresh = self._inspect()  # read-only: a foreign file is refused before anything is written to it
            mode = self._journal_wal()
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            if fresh:
                with self._write() as c:
                    if self._inspect():  # another process may have initialised it meanwhile
                        for stmt in _SCHEMA.split(";"):
                            if stmt.strip():
                                c.execute(stmt)
                        c.execute(f"PRAGMA application_id={APPLICATION_ID}")
                        c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            msg = str(e)
            if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
                raise StoreError(f"{self.path}: not an SQLite database (corrupt, or another kind of file)") from None
            raise StoreError(f"{self.path}: cannot open as a results store ({msg})") from None

    # -- plumbing --------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r}, owner={self.owner!r})"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception), holding the thread lock."""
        with self._lock:
            c = self._conn
            if c is None:
                raise StoreError(f"{self.path}: store is closed")
            if self.readonly:
                why = getattr(self, "_why_readonly", None)
                raise StoreError(f"{self.path}: " + (
                    f"the results store can only be read here ({why}: a read-only file system or folder?), and "
                    "this command needs to write to it; copy it to a writable folder and give that as --db"
                    if why else "this results store was opened read-only; nothing can be written to it"))
            self.check_file()
            try:
                c.execute("BEGIN IMMEDIATE")
                yield c
                c.execute("COMMIT")
            except BaseException as e:
                if c.in_transaction:
                    try:
                        c.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass            # SQLite rolls back itself when the write failed for good
                if isinstance(e, sqlite3.Error) and not isinstance(e, StoreError):
                    raise StoreError(f"{self.path}: cannot write to the results store ({e}"
                                     f"{'; is the disk full?' if _disk_trouble(e) else ''}); what was "
                                     "committed before is kept: once fixed, run the same command again to "
                                     "resume") from None
                raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one read-only statement and return all its rows."""
        with self._lock:
            if self._conn is None:
                raise StoreError(f"{self.path}: store is closed")
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                self.check_file()        # the file gone or replaced explains it best
                raise StoreError(f"{self.path}: cannot read the results store ({e})") from None

    def _alive(self, owner: str | None, heartbeat: float | None, stale_after: float, now: float) -> bool:
        """Whether a running trial's owner still counts as alive (see :meth:`claim`); self counts as alive."""
        if owner is None or heartbeat is None:
            return False
        if owner == self.owner:
            return True
        parts = owner.rsplit(":", 2)
        if len(parts) == 3 and parts[0] == self._host and parts[1].isdigit():
            pid = int(parts[1])
            if not _pid_alive(pid):
                return False
            # alive, however old its heartbeat (stopped with Ctrl-Z, or inside a long segment), unless the
            # pid now names a process that started after the owner's last heartbeat (the pid was reused)
            started = _pid_started(pid)
            return started is None or started <= heartbeat + 2.0
        return now - heartbeat <= stale_after

    @staticmethod
    def _record(row: Sequence[Any], artifact: bool | bytes | None) -> dict[str, Any]:
        """A row of ``_COLUMNS`` as a dict, with args and result decoded from JSON; a column that cannot be
        decoded (or is not a JSON object), and a 'done' trial with no result, mark the record
        ``damaged`` (the reason) instead of raising."""
        r = dict(zip(_NAMES, row, strict=True))
        damaged = []
        for col in ("args", "result"):
            text = r[col]
            if text is None:
                if col == "args" or r["status"] == "done":
                    damaged.append(f"its {col} column is empty (NULL)")
                continue
            try:
                v = json.loads(text)
            except (ValueError, TypeError) as e:
                shown = repr(text[:40]) if isinstance(text, str) else type(text).__name__
                damaged.append(f"its {col} column is not JSON ({shown}: {' '.join(str(e).split())})")
                v = None
            else:
                if not isinstance(v, dict):
                    damaged.append(f"its {col} column is JSON {type(v).__name__}, not an object")
                    v = None
            r[col] = v
        if r["status"] == "done" and r["result"] is None and not any("result" in d for d in damaged):
            damaged.append("it is finished but has no result")
        if r["status"] not in ("pending", "running", "done", "error"):
            damaged.append(f"its status {r['status']!r} is unknown")
        if damaged:
            r["damaged"] = "; ".join(damaged)
        if isinstance(artifact, bool):
            r["has_artifact"] = artifact
        else:
            r["artifact"] = artifact
            r["has_artifact"] = artifact is not None
        return r

    def _require_held(self, c: sqlite3.Connection, trial_id: int) -> None:
        """Raise KeyError for an unknown trial, StoreError unless it is running under this Store's owner."""
        row = c.execute("SELECT status, owner FROM trials WHERE id=?", (trial_id,)).fetchone()
        if row is None:
            raise KeyError(f"{self.path}: no trial with id {trial_id}")
        if row[0] != "running" or row[1] != self.owner:
            raise LostClaim(f"{self.path}: trial {trial_id} is no longer held by this process "
                             f"(status {row[0]}, owner {row[1]})")

    # -- trials ----------------------------------------------------------------------------------------

    def register(self, trials: list[dict[str, Any]], tag: str | None = None) -> list[int]:
        """Insert, as 'pending', each trial (dict with key, fn, args, seed, version, optional label) whose key
        is not yet in the store; existing trials are never modified. With ``tag``, add each trial to the tag
        at position = its index in ``trials`` (existing (tag, trial) pairs keep their position). One
        transaction. Returns the trial ids in the input order."""
        rows = []
        for t in trials:
            if not isinstance(t.get("args"), dict):
                raise TypeError(f"trial {t.get('key')!r}: args must be a dict, got {type(t.get('args')).__name__}")
            rows.append((str(t["key"]), str(t["fn"]), _canonical(t["args"]), int(t["seed"]), str(t["version"]),
                         str(t.get("label", ""))))
        # all there already (re-running a finished command): no write at all, so a read-only store still works
        known = self._known(rows, tag)
        if known is not None:
            return known
        ids: list[int] = []
        now = time.time()
        with self._write() as c:
            for pos, (key, fn, args, seed, version, label) in enumerate(rows):
                c.execute("INSERT INTO trials (key, fn, args, seed, version, label, status, created) "
                          "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT(key) DO NOTHING",
                          (key, fn, args, seed, version, label, now))
                tid = c.execute("SELECT id FROM trials WHERE key=?", (key,)).fetchone()[0]
                ids.append(tid)
                if tag is not None:
                    c.execute("INSERT INTO tags (tag, trial_id, position) VALUES (?, ?, ?) "
                              "ON CONFLICT(tag, trial_id) DO NOTHING", (tag, tid, pos))
        return ids

    def _known(self, rows: list[tuple], tag: str | None) -> list[int] | None:
        """The ids of these trials if every one is in the store (and in ``tag``), else None."""
        ids = []
        for key, *_ in rows:
            got = self._query("SELECT id FROM trials WHERE key=?", (key,))
            if not got or (tag is not None and not self._query(
                    "SELECT 1 FROM tags WHERE tag=? AND trial_id=?", (tag, got[0][0]))):
                return None
            ids.append(got[0][0])
        return ids

    def get(self, id_or_key: int | str) -> dict[str, Any] | None:
        """The whole record of the trial with this id (int) or key (str), or None: the columns of ``trials``
        with ``args`` and ``result`` decoded from JSON, ``artifact`` (bytes or None) and ``has_artifact``."""
        col = "key" if isinstance(id_or_key, str) else "id"
        rows = self._query(f"SELECT {_COLUMNS}, artifact FROM trials WHERE {col}=?", (id_or_key,))
        return self._record(rows[0][:-1], rows[0][-1]) if rows else None

    def records(self, tag: str | None = None, ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Records like :meth:`get` but without ``artifact`` (``has_artifact`` says whether there is one): the
        trials of ``tag`` in tag position order, or all trials by id; ``ids`` restricts to those ids."""
        cols = ", ".join(f"t.{n}" for n in _NAMES) + ", t.artifact IS NOT NULL"
        where, params = [], []
        if ids is not None:
            where.append("t.id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps([int(i) for i in ids]))
        if tag is not None:
            sql = f"SELECT {cols} FROM tags g JOIN trials t ON t.id = g.trial_id WHERE g.tag = ?"
            params.insert(0, tag)
            sql += "".join(f" AND {w}" for w in where) + " ORDER BY g.position, t.id"
        else:
            sql = f"SELECT {cols} FROM trials t" + (f" WHERE {where[0]}" if where else "") + " ORDER BY t.id"
        return [self._record(r[:-1], bool(r[-1])) for r in self._query(sql, params)]

    def tags(self) -> list[str]:
        """All tags, in the order they were first used."""
        return [r[0] for r in self._query("SELECT tag FROM tags GROUP BY tag ORDER BY min(rowid)")]

    def claim(self, trial_id: int, stale_after: float = 600.0) -> bool:
        """Atomically take the trial for this Store's owner: status 'running', owner, heartbeat=now,
        attempts+1, started set if unset. Succeeds (True) if the trial is 'pending' or 'error', or 'running'
        with a dead owner (no owner; an owner on this host whose pid no longer exists or names a process
        started after the last heartbeat; an owner on another host silent for ``stale_after`` seconds) or
        with this Store's own owner. False for 'done' trials and trials running under
        a live other owner. KeyError for an unknown id."""
        now = time.time()
        with self._write() as c:
            row = c.execute("SELECT status, owner, heartbeat FROM trials WHERE id=?", (trial_id,)).fetchone()
            if row is None:
                raise KeyError(f"{self.path}: no trial with id {trial_id}")
            status, owner, hb = row
            if status == "done":
                return False
            if status == "running" and owner != self.owner and self._alive(owner, hb, stale_after, now):
                return False
            cur = c.execute("UPDATE trials SET status='running', owner=?, heartbeat=?, attempts=attempts+1, "
                            "started=coalesce(started, ?) WHERE id=? AND status=? AND owner IS ?",
                            (self.owner, now, now, trial_id, status, owner))
            return cur.rowcount == 1

    def running_elsewhere(self, ids: list[int], stale_after: float = 600.0) -> list[dict[str, Any]]:
        """The records (as :meth:`records`) among ``ids`` that are 'running' under a live owner other than this
        Store's (liveness as in :meth:`claim`): trials another process is working on now."""
        now = time.time()
        return [r for r in self.records(ids=ids)
                if r["status"] == "running" and r["owner"] != self.owner
                and self._alive(r["owner"], r["heartbeat"], stale_after, now)]

    def save_checkpoint(self, trial_id: int, state: bytes, sequences: int, seconds: float) -> None:
        """Replace the trial's checkpoint with ``state`` and record its progress (``sequences``, ``seconds``)
        and a heartbeat on the trial. StoreError unless the trial is running under this Store's owner."""
        now = time.time()
        with self._write() as c:
            self._require_held(c, trial_id)
            c.execute("INSERT INTO checkpoints (trial_id, sequences, seconds, saved, state) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT(trial_id) DO UPDATE SET sequences=excluded.sequences, seconds=excluded.seconds, "
                      "saved=excluded.saved, state=excluded.state",
                      (trial_id, int(sequences), float(seconds), now, bytes(state)))
            c.execute("UPDATE trials SET sequences=?, seconds=?, heartbeat=? WHERE id=?",
                      (int(sequences), float(seconds), now, trial_id))

    def load_checkpoint(self, trial_id: int) -> tuple[bytes, int, float] | None:
        """The trial's checkpoint as (state, sequences, seconds), or None if it has none."""
        rows = self._query("SELECT state, sequences, seconds FROM checkpoints WHERE trial_id=?", (trial_id,))
        return (bytes(rows[0][0]), rows[0][1], rows[0][2]) if rows else None

    def finish(self, trial_id: int, result: dict[str, Any], artifact: bytes | None, seconds: float,
               sequences: int) -> None:
        """Mark the trial 'done' with its result (JSON, keys sorted), artifact, total ``seconds`` and
        ``sequences``, finished=now, no owner, no message; delete its checkpoint. One transaction. StoreError
        unless the trial is running under this Store's owner."""
        text = json.dumps(result, sort_keys=True)
        blob = None if artifact is None else bytes(artifact)
        now = time.time()
        with self._write() as c:
            self._require_held(c, trial_id)
            c.execute("UPDATE trials SET status='done', finished=?, result=?, artifact=?, seconds=?, sequences=?, "
                      "owner=NULL, heartbeat=?, message=NULL WHERE id=?",
                      (now, text, blob, float(seconds), int(sequences), now, trial_id))
            c.execute("DELETE FROM checkpoints WHERE trial_id=?", (trial_id,))

    def reset(self, trial_id: int, message: str = "") -> None:
        """Put a trial that is not running under a live owner back to 'pending', as if never run: no result,
        no artifact, no checkpoint, no owner; ``message`` says why (e.g. its stored result was damaged)."""
        with self._write() as c:
            c.execute("UPDATE trials SET status='pending', owner=NULL, heartbeat=NULL, result=NULL, artifact=NULL, "
                      "finished=NULL, seconds=0, sequences=0, message=? WHERE id=?", (str(message) or None, trial_id))
            c.execute("DELETE FROM checkpoints WHERE trial_id=?", (trial_id,))

    def fail(self, trial_id: int, message: str) -> None:
        """Mark the trial 'error' with ``message`` and no owner; its checkpoint is kept and it can be claimed
        again. StoreError unless the trial is running under this Store's owner."""
        with self._write() as c:
            self._require_held(c, trial_id)
            c.execute("UPDATE trials SET status='error', message=?, owner=NULL WHERE id=?", (str(message), trial_id))

    def release(self, trial_id: int) -> None:
        """If the trial is running under this Store's owner, put it back to 'pending' with no owner (its
        checkpoint is kept), e.g. after Ctrl-C; otherwise do nothing."""
        with self._write() as c:
            c.execute("UPDATE trials SET status='pending', owner=NULL WHERE id=? AND status='running' AND owner=?",
                      (trial_id, self.owner))

    def heartbeat(self) -> None:
        """Set heartbeat=now on every trial running under this Store's owner."""
        with self._write() as c:
            c.execute("UPDATE trials SET heartbeat=? WHERE status='running' AND owner=?", (time.time(), self.owner))

    def summary(self) -> list[dict[str, Any]]:
        """Per tag, in :meth:`tags` order: tag, trials, done, running, error, pending (counts), seconds and
        sequences (sums over its trials)."""
        rows = self._query(
            "SELECT g.tag, count(*), sum(t.status='done'), sum(t.status='running'), sum(t.status='error'), "
            "sum(t.status='pending'), sum(t.seconds), sum(t.sequences) "
            "FROM tags g JOIN trials t ON t.id = g.trial_id GROUP BY g.tag ORDER BY min(g.rowid)")
        names = ("tag", "trials", "done", "running", "error", "pending", "seconds", "sequences")
        return [dict(zip(names, r, strict=True)) for r in rows]
