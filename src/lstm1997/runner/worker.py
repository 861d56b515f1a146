"""What runs in a worker (a local process, a Dask worker, or the calling process): one *segment* of a
trial, or of a *group* of trials run together: open each (from its last checkpoint, if any), train until it
ends or until the segment's budget is spent or a stop is requested, and hand back per trial either the
outcome or a checkpoint.

A trial function is named ``"module:attribute"`` and called as ``fn(args, seed, checkpoint)``; it must
return an object with ``advance(pause) -> bool`` (``pause(progress: dict)`` is called between chunks,
``progress["sequences"]`` counts training sequences; a true return pauses), ``checkpoint() -> bytes``,
``outcome() -> (dict, bytes)`` and attributes ``done`` (sequences) and ``seconds`` (compute time).

A group's trials are advanced together by ``type(run).advance_group(runs, pause) -> [bool]`` where the
trial objects (all of one type) offer it (``pause(progress: list)`` gets one figures dict per trial, with
``"finished"``; lstm1997's trials train a group's chunks together in SIMD lanes), otherwise one chunk each
in turn (``advance`` with a pause after every chunk). Either way each trial's numbers are its own: a group
changes only how fast they come.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
import time
from typing import Callable

__all__ = ["run_segment", "run_group_segment", "run_local_segment", "resolve", "init_local_worker"]

# set in each local worker process by init_local_worker; in the calling process by the runner
_hooks: dict = {"stop": None, "progress": None, "pids": None, "rebalance": None}


def resolve(name: str) -> Callable:
    """The callable named ``"package.module:attribute"``."""
    mod, _, attr = name.partition(":")
    if not mod or not attr:
        raise ValueError(f"a trial function must be named 'module:attribute', got {name!r}")
    return getattr(importlib.import_module(mod), attr)


def run_local_segment(jobs: list, *rest, token: int, **kw) -> list:
    """:func:`run_group_segment` in a local worker process, after telling the pool which process runs the
    submission ``token`` (on a ``SimpleQueue``: written at once, not later by a feeder thread): if the
    process dies, the pool knows the segment, and so the trials, to blame (see :class:`~.backends.LocalPool`)."""
    _hooks["pids"]((token, os.getpid()))
    return run_group_segment(jobs, *rest, **kw)


def init_local_worker(stop_event, progress_queue, pid_queue, parent: int, rebalance_event=None) -> None:
    """Initialiser of local worker processes: Ctrl-C and SIGTERM are the parent's business (it asks the
    workers to stop through ``stop_event``, so that running trials hand back a checkpoint); a terminal's
    Ctrl-C, ``timeout``, Slurm or systemd signal the whole process group, and a worker that died of it
    would lose its segment and break the pool. Progress goes to ``progress_queue``. A watchdog thread ends
    the worker as soon as the parent is gone (killed): busy or idle, an orphan would otherwise run on,
    holding the parent's stdout and stderr open. ``parent`` is the parent's pid as the parent saw it (a worker that
    starts after its parent died must not take its adoptive parent for it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):   # started with them blocked (LocalPool._submit); ignored now
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _hooks.update(stop=stop_event.is_set, progress=progress_queue.put, pids=pid_queue.put,
                  rebalance=rebalance_event.is_set if rebalance_event is not None else None)

    def watchdog() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watchdog, name="lstm1997-orphan-watchdog", daemon=True).start()


def _dask_stop(name: str) -> Callable[[], bool]:
    """A stop check for Dask workers: the runner sets a ``distributed.Event`` (checked at most every 2 s);
    also its request to rebalance (the event ``name + "-rebalance"``, see :func:`run_group_segment`)."""
    from distributed import Event

    ev, last = Event(name), [0.0, False]

    def check() -> bool:
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            try:
                last[1] = ev.is_set()
            except Exception:       # the scheduler is unreachable: keep going; the runner decides
                pass
        return last[1]
    return check


def _dask_report(name: str) -> Callable[[tuple], None] | None:
    """Progress from a Dask worker: an event on the topic ``name + "-progress"``, which the runner's
    client subscribes to (see :class:`~.backends.DaskCluster`)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None

    def report(msg: tuple) -> None:
        try:
            worker.log_event(name + "-progress", list(msg))
        except Exception:       # progress is best effort: never let it stop a trial
            pass
    return report


def _check_version(job: dict) -> None:
    if job.get("version") is not None:
        from .. import __version__

        if job["version"] != __version__:
            raise RuntimeError(f"this worker runs lstm1997 {__version__}, the trial was submitted by "
                               f"{job['version']}: install the same version on every worker")


def _segment_result(job: dict, run, finished: bool) -> dict:
    if finished:
        result, artifact = run.outcome()
        try:    # a result the store cannot keep fails this trial here, not the whole run at the store
            json.dumps(result)
        except (TypeError, ValueError) as e:
            raise TypeError(f"the trial's result is not JSON-able ({e}); trial functions return plain "
                            "dicts of str, int, float, bool, None, lists and dicts") from None
        return {"id": job["id"], "finished": True, "result": result, "artifact": artifact,
                "seconds": run.seconds, "sequences": run.done}
    return {"id": job["id"], "finished": False, "checkpoint": run.checkpoint(), "seconds": run.seconds,
            "sequences": run.done}


def run_segment(job: dict, checkpoint: bytes | None, seconds: float, sequences: int | None,
                stop: Callable[[], bool] | None = None, dask_event: str | None = None) -> dict:
    """Run one segment of ``job`` (``{"id", "fn", "args", "seed"}``, and ``"version"`` to check this
    worker's lstm1997 against) for at most about ``seconds`` of
    compute time and ``sequences`` training sequences (checked between chunks).

    Returns ``{"id", "finished": True, "result", "artifact", "seconds", "sequences"}`` or
    ``{"id", "finished": False, "checkpoint", "seconds", "sequences"}``.
    """
    _check_version(job)
    run = resolve(job["fn"])(job["args"], job["seed"], checkpoint)
    stop = stop or _hooks["stop"] or (_dask_stop(dask_event) if dask_event else None)
    report = _hooks["progress"] or (_dask_report(dask_event) if dask_event else None)
    t0 = last = time.monotonic()
    start = run.done

    def pause(p: dict) -> bool:
        nonlocal last
        now = time.monotonic()
        if report is not None and now - last >= 0.5:
            last = now
            report((job["id"], p["sequences"], p["seconds"], p.get("stage", "")))
        return ((stop is not None and stop()) or now - t0 >= seconds
                or (sequences is not None and p["sequences"] - start >= sequences))

    return _segment_result(job, run, run.advance(pause))


def run_group_segment(jobs: list, checkpoints: list, seconds: float, sequences: int | None,
                      stop: Callable[[], bool] | None = None, dask_event: str | None = None,
                      end_on_finish: bool = False) -> list:
    """Run one segment of a group of trials together (see the module docstring): ``jobs`` and
    ``checkpoints`` as for :func:`run_segment`, one per trial; returns its result per trial, in order. A
    group of one is exactly :func:`run_segment`. The segment ends when every trial has ended, after about
    ``seconds`` of wall time, when a trial has trained ``sequences`` more sequences, on a stop request, on
    the runner's request to rebalance (workers idle while groups run: it splits them), or
    (``end_on_finish``) as soon as one of its trials ends (so that the runner can give its place to
    another)."""
    if len(jobs) != len(checkpoints) or not jobs:
        raise ValueError("a group needs one checkpoint (or None) per trial, and at least one trial")
    if len(jobs) == 1:
        return [run_segment(jobs[0], checkpoints[0], seconds, sequences, stop, dask_event)]
    for job in jobs:
        _check_version(job)
    runs = [resolve(job["fn"])(job["args"], job["seed"], ck) for job, ck in zip(jobs, checkpoints)]
    stop = stop or _hooks["stop"] or (_dask_stop(dask_event) if dask_event else None)
    report = _hooks["progress"] or (_dask_report(dask_event) if dask_event else None)
    rebalance = _hooks["rebalance"] or (_dask_stop(dask_event + "-rebalance") if dask_event else None)
    t0 = last = time.monotonic()
    start = [run.done for run in runs]
    reported = [False] * len(runs)

    def pause(figs: list) -> bool:
        nonlocal last
        now = time.monotonic()
        if report is not None and now - last >= 0.5:
            last = now
            for k, (job, p) in enumerate(zip(jobs, figs)):
                if not reported[k]:
                    report((job["id"], p["sequences"], p["seconds"], p.get("stage", "")))
                reported[k] = p["finished"]
        going = [p for p in figs if not p["finished"]]
        return ((stop is not None and stop()) or now - t0 >= seconds
                or (sequences is not None and any(p["sequences"] - s >= sequences
                                                  for p, s in zip(figs, start) if not p["finished"]))
                or (end_on_finish and len(going) < len(figs)) or (len(going) > 1 and rebalance is not None
                                                                  and rebalance()))

    kind = type(runs[0])
    if all(type(r) is kind for r in runs) and callable(getattr(kind, "advance_group", None)):
        finished = list(kind.advance_group(runs, pause))
    else:
        finished = _in_turn(runs, pause)
    return [_segment_result(job, run, fin) for job, run, fin in zip(jobs, runs, finished)]


def _in_turn(runs: list, pause: Callable[[list], bool]) -> list:
    """A group of trial objects without ``advance_group``: one chunk each, in turn."""
    finished = [False] * len(runs)
    figs: list = [None] * len(runs)
    while not all(finished):
        for k, run in enumerate(runs):
            if finished[k]:
                continue

            def one(p: dict, k=k) -> bool:
                figs[k] = p
                return True

            finished[k] = run.advance(one)
        for k, run in enumerate(runs):
            figs[k] = {**(figs[k] or {"sequences": run.done, "seconds": run.seconds}), "finished": finished[k]}
        if pause(figs):
            break
    return finished
