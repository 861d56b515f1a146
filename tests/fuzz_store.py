"""Damaged results stores (issue 19, item 3), for the CLI fuzz list and tests/test_damaged_store.py: a
store with two finished trials of Table 9's first row, copied and damaged in one way each (result empty,
``null``, not JSON, JSON of another type, wrong types, missing keys; args not JSON; an unknown status; a
tag pointing at nothing; a damaged checkpoint; a damaged artifact).

    from fuzz_store import damaged_stores
    paths = damaged_stores(w)     # stores in folder w
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3

_WRONG = ('{"success": "yes", "status": "won", "sequences": -3, "seconds": "x", "steps": 1.5, "stages": [], '
          '"test": {"wrong": "many"}, "quality_at": -1, "message": 7, "curve": {}, "events": [1]}')

DAMAGES = {
    "result-empty": "UPDATE trials SET result='' WHERE id=1",
    "result-null": "UPDATE trials SET result='null' WHERE id=1",
    "result-NULL": "UPDATE trials SET result=NULL WHERE id=1",
    "result-not-json": "UPDATE trials SET result='{not json' WHERE id=1",
    "result-list": "UPDATE trials SET result='[1, 2, 3]' WHERE id=1",
    "result-wrong-types": f"UPDATE trials SET result='{_WRONG}' WHERE id=1",
    "result-missing-keys": "UPDATE trials SET result='{\"success\": true}' WHERE id=1",
    "result-blob": "UPDATE trials SET result=x'00ff00' WHERE id=1",
    "args-not-json": "UPDATE trials SET args='{oops' WHERE id=1",
    "args-list": "UPDATE trials SET args='[1]' WHERE id=1",
    "artifact-garbage": "UPDATE trials SET artifact=x'0102030405' WHERE id=1",
    "tag-dangling": "INSERT INTO tags (tag, trial_id, position) VALUES ('{\"table\": \"9\"}', 999, 0)",
    "pending-with-bad-checkpoint": "UPDATE trials SET status='pending', result=NULL WHERE id=1; "
                                   "INSERT INTO checkpoints (trial_id, sequences, seconds, saved, state) "
                                   "VALUES (1, 10, 1.0, 0, x'deadbeef')",
}


def _base(w: str) -> str:
    from lstm1997 import cli

    p = os.path.join(w, "fuzz-store-base.sqlite")
    if not os.path.exists(p):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = cli.main(["reproduce", "9", "--rows", "1", "--trials", "2", "--max-sequences", "200", "--jobs", "1",
                           "--db", p])
        assert rc == 0, "the base store"
    return p


def damaged_stores(w: str, prefix: str = "damaged-") -> list[str]:
    """Write one damaged copy of a small finished store per kind of damage into folder ``w``
    (``PREFIX + kind + ".sqlite"``); their paths."""
    base = _base(w)
    out = []
    for name, sql in DAMAGES.items():
        p = os.path.join(w, f"{prefix}{name}.sqlite")
        shutil.copy(base, p)
        c = sqlite3.connect(p)
        try:
            c.execute("PRAGMA foreign_keys=OFF")
            c.executescript(sql)
            c.commit()
        finally:
            c.close()
        for sfx in ("-wal", "-shm"):
            if os.path.exists(p + sfx) and os.path.getsize(p + sfx) == 0:
                os.unlink(p + sfx)
        out.append(p)
    return out
