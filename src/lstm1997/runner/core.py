"""Run many independent trials from a results store: in parallel, resumable, on local processes or Dask.

A trial is a record of the store (:mod:`.store`): a function name, JSON-able arguments and a seed. The
runner knows nothing about what a trial computes. It claims each unfinished trial, runs it in *segments*
of about ``checkpoint_seconds`` of compute (:func:`~.worker.run_segment`), and after every segment
writes the trial's checkpoint, or its outcome, to the store from this one process. With ``group_size``
above 1, up to that many trials of one list of ``groups`` (say, the trials of a table row) run together
in one worker, a *group*, one task per segment (:func:`~.worker.run_group_segment`; lstm1997's trials then
train in SIMD lanes); each trial still has its own checkpoints and result in the store, a trial that ends
leaves its group and a waiting trial of the same list takes its place, and groups are split while
workers would otherwise idle. So:

* finished trials are never lost and never re-run (the store skips them); an interrupted trial loses at
  most one segment and resumes from its checkpoint, bit for bit;
* results do not depend on the number of workers, the groups or where they run: each trial's updates are
  serial and ordered inside its own segments, and its random streams come from its seed;
* Ctrl-C (SIGINT) or SIGTERM asks every running segment to stop at its next chunk and checkpoint; a
  second Ctrl-C quits at once (running trials keep their last checkpoint).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from .backends import DaskCluster, InProcess, LocalPool, RunnerError
from .store import LostClaim, Store

__all__ = ["TrialSpec", "RunSummary", "register", "run_trials", "trial_key", "RunnerError", "default_workers"]


#: How often a run refreshes the heartbeat of its running trials (other hosts judge liveness by it).
HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class TrialSpec:
    """One trial to run: ``fn(args, seed, checkpoint)`` (see :mod:`.worker`), under library ``version``."""

    fn: str
    args: dict
    seed: int
    version: str
    label: str = ""

    @property
    def key(self) -> str:
        return trial_key(self.fn, self.args, self.seed, self.version)


def trial_key(fn: str, args: dict, seed: int, version: str) -> str:
    """The identity of a trial in a store: a hash of its function, arguments, seed and library version."""
    text = json.dumps({"fn": fn, "args": args, "seed": seed, "version": version}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def register(store: Store, specs: list[TrialSpec], tag: str | None = None) -> list[int]:
    """Add the trials to ``store`` (those already there are kept as they are); returns their ids."""
    return store.register([{"key": s.key, "fn": s.fn, "args": s.args, "seed": s.seed, "version": s.version,
                            "label": s.label} for s in specs], tag)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:      # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class RunSummary:
    finished: list = field(default_factory=list)     # ids finished by this run
    skipped: list = field(default_factory=list)      # ids already done in the store
    elsewhere: list = field(default_factory=list)    # ids being run by another live process
    errors: dict = field(default_factory=dict)       # id -> message
    checkpointed: list = field(default_factory=list)  # ids left unfinished, with a checkpoint (interrupted)
    interrupted: bool = False
    seconds: float = 0.0


def run_trials(store: Store, ids: list[int], *, workers: int | None = None, scheduler=None,
               checkpoint_seconds: float = 60.0, checkpoint_sequences: int | None = None,
               progress=None, scheduler_timeout: float = 10.0, version: str | None = None,
               group_size: int = 1, groups: list | None = None) -> RunSummary:
    """Run every trial of ``ids`` that the store does not hold finished; see the module docstring.

    ``workers``: local worker processes (default: all cores; 1 runs in this process). ``scheduler``: a
    Dask scheduler address or ``distributed.Client`` (then ``workers`` is ignored). ``progress``: an
    object with the methods of :class:`~.progress.Progress` (default: none). ``group_size``: trials run
    together in one worker (default 1: one at a time); ``groups``: lists of ids whose trials may share a
    group (default: all of ``ids``; an id in no list runs alone). Neither changes any trial's numbers.
    """
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be a whole number at least 1, got {group_size!r}")
    if checkpoint_seconds <= 0 or (checkpoint_sequences is not None and checkpoint_sequences < 1):
        raise ValueError("checkpoints need a positive interval")
    if not 0 < scheduler_timeout <= 86400:
        raise ValueError(f"scheduler_timeout must be a positive number of seconds up to a day, got "
                         f"{scheduler_timeout}")
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if version is None:
        from .. import __version__ as version
    out, t_start = RunSummary(), time.monotonic()
    ids = list(dict.fromkeys(ids))
    records = {r["id"]: r for r in store.records(ids=ids)}
    unknown = [i for i in ids if i not in records]
    if unknown:
        raise ValueError(f"{store.path}: no trial(s) with id {', '.join(map(str, unknown[:5]))} in this store")
    out.skipped = [i for i in ids if records[i]["status"] == "done"]
    todo = [i for i in ids if records[i]["status"] != "done"]
    out.elsewhere = [r["id"] for r in store.running_elsewhere(todo)]
    todo = [i for i in todo if i not in set(out.elsewhere)]
    if progress is not None:
        progress.start(records, todo, out)
    if not todo:
        return out

    stopping = threading.Event()
    hard = [False]

    def on_signal(signum, frame):
        if stopping.is_set():
            hard[0] = True
            raise KeyboardInterrupt
        stopping.set()
        if progress is not None:
            progress.message("stopping: running trials save a checkpoint at their next chunk "
                             "(Ctrl-C again to quit at once)")

    old = {}
    backend = None
    held: set[int] = set()
    last_beat = [time.monotonic()]

    def beat() -> None:
        """Refresh the heartbeat of this process's running trials every 30 s (other hosts judge by it)."""
        if time.monotonic() - last_beat[0] >= HEARTBEAT_SECONDS:
            last_beat[0] = time.monotonic()
            store.heartbeat()

    def on_progress(msg: tuple) -> None:      # in this process (workers=1): called inside the segments
        if progress is not None:
            progress.update(msg)
        beat()

    # the trials waiting to run, per list of `groups` (lists in the order of their first trial in `ids`,
    # trials in that order too); a group takes the trials of one list
    order = {i: k for k, i in enumerate(todo)}
    pools, seen = [], set()
    for lst in ([todo] if groups is None else [*groups, *([i] for i in todo)]):
        mine = sorted({i for i in lst if i in order and i not in seen}, key=order.__getitem__)
        seen.update(mine)
        if mine:
            pools.append(mine)
    pools.sort(key=lambda q: order[q[0]])
    pool_of = {i: k for k, q in enumerate(pools) for i in q}
    pools = [collections.deque(q) for q in pools]

    try:
        if scheduler is not None:
            backend = DaskCluster(scheduler, version, scheduler_timeout)
        elif workers == 1:
            backend = InProcess(stopping.is_set, on_progress)
        else:
            def on_death(dead: list, how: str) -> None:
                if progress is not None:
                    names = ", ".join(records[i]["label"] or f"trial {i}" for i in dead)
                    progress.message(f"{names}: its worker process died ({how}); fresh worker processes run the "
                                     "trials in flight again from the start of their segments")
            backend = LocalPool(min(workers, len(todo)), on_death)
        # only now: while connecting, nothing runs, and Ctrl-C simply ends the call (KeyboardInterrupt)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                old[sig] = signal.signal(sig, on_signal)
        if progress is not None:
            kind = "Dask" if scheduler is not None else ("this process" if workers == 1 else "processes")
            if group_size > 1:
                progress.workers(backend.capacity, kind, group_size=group_size)
            else:
                progress.workers(backend.capacity, kind)
        flying: dict = {}                    # future -> the ids of its group

        def claim(k: int, n: int) -> list:
            """Claim up to ``n`` waiting trials of list ``k``."""
            got = []
            while pools[k] and len(got) < n:
                i = pools[k].popleft()
                if not store.claim(i):
                    out.elsewhere.append(i)
                    if progress is not None:
                        progress.elsewhere(i)
                    continue
                held.add(i)
                got.append(i)
            return got

        def submit(members: list) -> None:
            jobs, cks = [], []
            for i in members:
                rec = records[i]
                ck = store.load_checkpoint(i)
                jobs.append({"id": i, "fn": rec["fn"], "args": rec["args"], "seed": rec["seed"]})
                cks.append(ck[0] if ck else None)
                if progress is not None:
                    progress.running(i, ck[1] if ck else 0, ck[2] if ck else 0.0)
            # trials of the same list wait: end the segment as soon as one trial ends, to give its place
            end = group_size > 1 and bool(pools[pool_of[members[0]]])
            flying[backend.submit(jobs, cks, checkpoint_seconds, checkpoint_sequences, end)] = members

        def halves(members: list) -> list:
            h = (len(members) + 1) // 2
            return [members[:h], members[h:]]

        def lost(i: int) -> None:
            """Another process took the trial over (this one looked dead to it): leave it to that one."""
            held.discard(i)
            out.elsewhere.append(i)
            if progress is not None:
                progress.elsewhere(i)

        rebalancing = False
        while any(pools) or flying:
            new: list = []
            free = backend.capacity - len(flying)
            while len(new) < free and any(pools) and not stopping.is_set():
                got = claim(next(k for k, q in enumerate(pools) if q), group_size)
                if got:
                    new.append(got)
            while len(new) < free and any(len(g) > 1 for g in new):     # nothing waits: no worker idle
                g = max(new, key=len)
                new[new.index(g):new.index(g) + 1] = halves(g)
            for g in new:
                submit(g)
            if not flying:
                break
            done = backend.wait(set(flying), 0.5)
            for msg in backend.poll_progress():
                if progress is not None:
                    progress.update(msg)
            returning = len(done)
            if done and rebalancing:         # groups that return now are split; the others go on
                backend.rebalance(False)
                rebalancing = False
            for fut in done:
                members = flying.pop(fut)
                returning -= 1           # segments not handled yet: their groups go on too
                try:
                    segs = backend.result(fut)
                except RunnerError:
                    raise
                except Exception as e:
                    if len(members) > 1:     # a trial's failure (or its process's death) ended the group:
                        if not stopping.is_set():    # run each trial alone, so that only its own fails
                            for i in members:        # (when stopping, they stay held: released below)
                                submit([i])
                        continue
                    i = members[0]
                    msg = f"{type(e).__name__}: {e}"
                    try:
                        store.fail(i, msg)
                    except LostClaim:
                        lost(i)
                        continue
                    held.discard(i)
                    out.errors[i] = msg
                    if progress is not None:
                        progress.failed(i, msg)
                    continue
                going = []
                for seg in segs:
                    i = seg["id"]
                    try:
                        if seg["finished"]:
                            store.finish(i, seg["result"], seg["artifact"] or None, seg["seconds"], seg["sequences"])
                        else:
                            store.save_checkpoint(i, seg["checkpoint"], seg["sequences"], seg["seconds"])
                    except LostClaim:
                        lost(i)
                        continue
                    if seg["finished"]:
                        held.discard(i)
                        out.finished.append(i)
                        if progress is not None:
                            progress.finished(i, seg["result"], seg["seconds"])
                    elif stopping.is_set():
                        store.release(i)
                        held.discard(i)
                        out.checkpointed.append(i)
                        if progress is not None:
                            progress.paused(i, seg["sequences"])
                    else:
                        going.append(i)
                if going:                    # the next segment, at once: topped up from its list, or split
                    going += claim(pool_of[going[0]], group_size - len(going))
                    if len(going) > 1 and not any(pools) and backend.capacity - len(flying) - returning > 1:
                        for g in halves(going):
                            submit(g)
                    else:
                        submit(going)
            if stopping.is_set():
                backend.request_stop()
            # a worker idles while a group runs and nothing waits: ask the groups to end their segments
            # (at their next chunk), so that they can be split
            want = (not stopping.is_set() and not any(pools) and len(flying) < backend.capacity
                    and any(len(m) > 1 for m in flying.values()))
            if want != rebalancing:
                backend.rebalance(want)
                rebalancing = want
            beat()
        out.interrupted = stopping.is_set()
    except KeyboardInterrupt:
        out.interrupted = True
        if backend is not None:
            backend.close(kill=True)
            backend = None
        if not hard[0]:
            raise
    finally:
        for i in held:                       # whatever was running keeps its last checkpoint
            try:
                store.release(i)
                if i not in out.checkpointed and store.load_checkpoint(i) is not None:
                    out.checkpointed.append(i)
            except Exception:
                pass
        if backend is not None:
            backend.close()
        for sig, h in old.items():
            signal.signal(sig, h)
        out.seconds = time.monotonic() - t_start
        if progress is not None:
            progress.close(out)
    return out
