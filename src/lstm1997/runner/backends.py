"""Where segments of trials run: in the calling process (``workers=1``), in local worker processes, or on
a Dask distributed cluster. All three run the same :func:`~.worker.run_group_segment` on the same inputs
(a group of one or more trials, one task), so they give the same numbers; they differ only in how work is
handed out and how a stop is requested. ``submit(jobs, checkpoints, seconds, sequences, end_on_finish)``
returns a future of the list of per-trial segment results."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import gc
import itertools
import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import queue as queue_mod
import signal
import sys
import threading
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from .worker import _hooks, init_local_worker, run_group_segment, run_local_segment

__all__ = ["RunnerError", "WorkerDied", "InProcess", "LocalPool", "DaskCluster"]


class RunnerError(RuntimeError):
    """A problem outside any one trial: no Dask, an unreachable scheduler, workers of another version."""


class InProcess:
    """Segments run one at a time in this process; progress is passed straight to ``on_progress``."""

    def __init__(self, stop: Callable[[], bool], on_progress: Callable[[tuple], None]):
        self.capacity, self._stop, self._on_progress = 1, stop, on_progress
        self.workers = 1

    def submit(self, jobs, checkpoints, seconds, sequences, end_on_finish=False) -> cf.Future:
        fut: cf.Future = cf.Future()
        saved = dict(_hooks)
        _hooks.update(progress=self._on_progress, stop=None)
        try:
            fut.set_result(run_group_segment(jobs, checkpoints, seconds, sequences, stop=self._stop,
                                             end_on_finish=end_on_finish))
        except KeyboardInterrupt:
            raise
        except Exception as e:          # a trial's own failure: reported per trial by the runner
            fut.set_exception(e)
        finally:
            _hooks.clear()
            _hooks.update(saved)
        return fut

    def wait(self, futures, timeout):
        return {f for f in futures if f.done()}

    def result(self, fut) -> dict:
        """The segment's result; a trial's own failure is raised as it is."""
        return fut.result()

    def poll_progress(self) -> list:
        return []

    def request_stop(self) -> None:
        pass            # the stop callable passed in already sees the runner's flag

    def rebalance(self, on: bool) -> None:
        pass            # one worker: never idle while a group runs

    def close(self, kill: bool = False) -> None:
        pass


class WorkerDied(RuntimeError):
    """A trial's worker process died (killed, out of memory) ``LocalPool.MAX_DEATHS`` times while running it."""


class LocalPool:
    """``n`` worker processes (started with ``spawn``: nothing of the parent's state leaks in).

    A worker process that dies (killed, out of memory) breaks a ``ProcessPoolExecutor``; then this pool
    starts a fresh one and submits every segment in flight again, from the same input (so the numbers
    do not change). The trials whose process died are known (each segment says which process runs
    them; a group's death counts for each of its trials); after ``MAX_DEATHS`` deaths under the same
    trial, its segment fails (:class:`WorkerDied`) and the others go on, like Dask's ``allowed-failures``. A death that cannot be pinned on a trial (workers
    that cannot start at all) is a :class:`RunnerError`.
    """

    MAX_DEATHS = 3

    def __init__(self, n: int, on_death: Callable[[list, str], None] | None = None):
        self._ctx = mp.get_context("spawn")
        self.capacity = self.workers = n
        self._on_death = on_death or (lambda ids, how: None)   # (trial ids, how they died), when they go on
        self._deaths: collections.Counter = collections.Counter()   # trial id -> deaths of its process
        self._flying: dict = {}      # our future -> [inner future, token, (jobs, checkpoints, seconds, sequences, end)]
        self._tokens = itertools.count()     # each submission's own number (see _read_pids)
        self._broken = False
        self._start()

    def _start(self) -> None:
        ctx = self._ctx
        # fresh queues and event each time: a process killed while writing may leave their locks taken
        self._stop, self._queue, self._pids = ctx.Event(), ctx.Queue(), ctx.SimpleQueue()
        self._rebalance = ctx.Event()
        self._pid_of: dict = {}      # submission token -> pid of the process that runs it
        self._ex = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=init_local_worker,
                                          initargs=(self._stop, self._queue, self._pids, os.getpid(),
                                                    self._rebalance))
        self._broken = False

    def submit(self, jobs, checkpoints, seconds, sequences, end_on_finish=False) -> cf.Future:
        outer: cf.Future = cf.Future()
        args = (jobs, checkpoints, seconds, sequences, end_on_finish)
        self._flying[outer] = [*self._submit(args), args]
        return outer

    def _submit(self, args: tuple) -> tuple:
        """Submit a segment. The executor may start a worker process here; it is started with SIGINT and
        SIGTERM blocked (a blocked mask survives exec), so that a signal to the process group cannot kill
        it while it is still importing, before :func:`~.worker.init_local_worker` makes it ignore them.
        Returns the executor's future and the submission's token: the worker that runs the segment sends
        ``(token, pid)`` as it starts, so a death is blamed on the segment that process runs now. (Keyed
        by trial, a trial's new segment, submitted but not started yet, would still carry the pid of the
        process that ran its previous segment, e.g. in a group with the trial whose process died.)"""
        block = hasattr(signal, "pthread_sigmask")
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}) if block else None
        token = next(self._tokens)
        try:
            return self._ex.submit(run_local_segment, *args[:4], end_on_finish=args[4], token=token), token
        except BrokenProcessPool as e:      # a worker died since the last wait(): wait() recovers
            fut: cf.Future = cf.Future()
            fut.set_exception(e)
            return fut, token
        finally:
            if block:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def wait(self, futures, timeout):
        inner = {self._flying[f][0]: f for f in futures if f in self._flying}
        cf.wait(inner, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        broken = False
        for fut, outer in inner.items():
            if not fut.done():
                continue
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):
                broken = True
                continue
            del self._flying[outer]
            if exc is None:
                outer.set_result(fut.result())
            else:
                outer.set_exception(exc)
        if broken:
            self._recover()
        return {f for f in futures if f.done()}

    def _recover(self) -> None:
        """The executor is broken: blame the dead process's trials, start a fresh executor, resubmit."""
        self._read_pids()
        dead = self._dead_processes()
        flying_ids, blamed = {}, {}
        for outer, (_, token, args) in self._flying.items():
            pid = self._pid_of.get(token)
            for job in args[0]:
                flying_ids[job["id"]] = outer
                if pid in dead:
                    blamed[job["id"]] = dead[pid]
        self._broken = True
        self.close(kill=True, keep=True)
        if not blamed:
            self._fail_all(RunnerError("a worker process died unexpectedly (killed, out of memory, or a script that "
                                       "calls run_trials outside `if __name__ == '__main__':`); finished trials "
                                       "and the checkpoints of the others are in the store: run the same "
                                       "command again to resume"))
            return
        self._start()
        by_task: dict = {}           # a group's trials die together: one task, several trials
        for i, code in blamed.items():
            self._deaths[i] += 1
            by_task.setdefault(flying_ids[i], []).append((i, code))
        for outer, dead_ids in by_task.items():
            code = dead_ids[0][1]
            how = ("died" if code is None else f"killed by {_signal_name(-code)}" if code < 0 else
                   f"exit status {code}")
            n = max(self._deaths[i] for i, _ in dead_ids)
            if n >= self.MAX_DEATHS:
                del self._flying[outer]
                outer.set_exception(WorkerDied(f"its worker process died {n} times while running it "
                                               f"(last: {how}; out of memory?)"))
            else:
                self._on_death([i for i, _ in dead_ids], how)
        for entry in self._flying.values():
            entry[:2] = self._submit(entry[2])

    def _dead_processes(self) -> dict:
        """pid -> exit code (None if not known yet) of the executor's processes that have ended. A process
        is dead once its sentinel is ready; its exit code comes a moment later (so it is waited for)."""
        procs = dict(getattr(self._ex, "_processes", None) or {})
        try:
            ready = set(mp_connection.wait([p.sentinel for p in procs.values()], timeout=0))
        except (OSError, ValueError):
            ready = set()
        dead = {}
        for pid, p in procs.items():
            if p.exitcode is not None or p.sentinel in ready:
                p.join(timeout=2.0)
                end = time.monotonic() + 2.0      # the executor's own thread may be reaping it just now
                while p.exitcode is None and time.monotonic() < end:
                    time.sleep(0.01)
                dead[pid] = p.exitcode
        return dead

    def _fail_all(self, error: Exception) -> None:
        for outer in self._flying:
            outer.set_exception(error)
        self._flying.clear()

    def _read_pids(self) -> None:
        while True:
            try:
                if self._pids.empty():
                    return
                token, pid = self._pids.get()
            except (OSError, EOFError, ValueError):
                return
            self._pid_of[token] = pid

    def result(self, fut) -> dict:
        """The segment's result; a trial's own failure (also :class:`WorkerDied`) is raised as it is."""
        return fut.result()

    def poll_progress(self) -> list:
        self._read_pids()
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except (queue_mod.Empty, OSError, ValueError):
                return out

    def request_stop(self) -> None:
        self._stop.set()

    def rebalance(self, on: bool) -> None:
        """Ask running groups to end their segments at their next chunk (``on``), or no longer."""
        (self._rebalance.set if on else self._rebalance.clear)()

    def close(self, kill: bool = False, keep: bool = False) -> None:
        """Shut the executor down (``kill``: at once); ``keep``: leave the segments in flight to resubmit."""
        # segments still running (the run ends on an error) stop at their next chunk instead of running on
        self._stop.set()
        # a broken pool's SIGTERM does not end our workers (they ignore it, see init_local_worker): kill them
        if kill or self._broken:
            for p in list((getattr(self._ex, "_processes", None) or {}).values()):
                p.kill()
        self._ex.shutdown(wait=True, cancel_futures=True)
        if not keep:
            self._flying.clear()
        if self._broken:
            self._queue.cancel_join_thread()    # its lock may be held by a dead process
        self._queue.close()
        if not self._broken:
            self._queue.join_thread()


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _worker_version() -> str:
    import lstm1997

    return lstm1997.__version__


def _connect(distributed, scheduler, timeout: float):
    """A ``distributed.Client`` of ``scheduler``, or a :class:`RunnerError` within about ``timeout`` seconds.

    Dask's own timeout covers a refused or unanswered connection, but not a peer that accepts and then
    speaks another protocol (the dashboard's port, any web server): there the client waits forever or
    dies reading a garbage frame length (MemoryError). So the client is made in a helper thread and given
    up on after ``timeout`` + 5 s; the thread, stuck in Dask's connection, is left behind (a daemon)."""
    box: dict = {}
    ready = threading.Event()

    def connect() -> None:
        try:
            box["client"] = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except BaseException as e:  # noqa: BLE001 - reported in the caller's thread, as a RunnerError
            text = (str(e).splitlines()[0] if str(e) else "") if not isinstance(e, MemoryError) else \
                "the peer's reply is not Dask's protocol (it read an absurd message length)"
            box["error"] = f"{type(e).__name__}: {text}"
            box["protocol"] = not isinstance(e, (OSError, TimeoutError))
            del e
        finally:
            ready.set()
        if "error" in box:
            # the half-made Client closes itself when collected and complains (its scheduler is not
            # there); that is this error again, already reported once
            hook, sys.unraisablehook = sys.unraisablehook, lambda *a: None
            try:
                gc.collect()
            finally:
                sys.unraisablehook = hook

    threading.Thread(target=connect, name="lstm1997-dask-connect", daemon=True).start()
    if not ready.wait(timeout + 5.0):
        raise RunnerError(f"no Dask scheduler answered at {scheduler!r} within {timeout + 5.0:g} s: something "
                          "accepted the connection but did not answer as a scheduler (the scheduler's port is "
                          "8786 by default; 8787 is its dashboard)")
    if "error" in box:
        hint = ("; is this the scheduler's address? (its port is 8786 by default; 8787 is its dashboard)"
                if box["protocol"] else "")
        raise RunnerError(f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                          f"({box['error']}){hint}")
    return box["client"]


class DaskCluster:
    """Segments are tasks on an existing Dask distributed cluster (``scheduler``: an address such as
    ``tcp://host:8786``, or a ``distributed.Client``). Needs ``pip install 'lstm1997[dask]'``."""

    def __init__(self, scheduler, version: str, timeout: float = 10.0):
        try:
            import distributed
        except ImportError:
            raise RunnerError("running on a Dask cluster needs Dask: pip install 'lstm1997[dask]'") from None
        self._own = not isinstance(scheduler, distributed.Client)
        self._futures: set = set()
        self._event = f"lstm1997-stop-{uuid.uuid4().hex}"
        self._subscribed = False
        if self._own:
            self.client = _connect(distributed, scheduler, timeout)
        else:
            self.client = scheduler
        self._address = getattr(self.client.scheduler, "address", None) or str(scheduler)
        self._version = version
        try:
            if not self.client.nthreads():     # workers may still be starting (a batch queue, autoscaling)
                self.client.wait_for_workers(1, timeout=timeout)
            versions = self.client.run(_worker_version)
        except TimeoutError:
            self.close()
            raise RunnerError(f"no Dask workers are connected to the scheduler at {self._address} (waited "
                              f"{timeout:g} s; --scheduler-timeout, or scheduler_timeout=, to wait longer)") from None
        except Exception as e:
            self.close()
            raise RunnerError(f"the Dask workers cannot run lstm1997 ({type(e).__name__}: {e}); install "
                              f"lstm1997 {version} on every worker") from None
        bad = {w: v for w, v in versions.items() if v != version}
        if bad or not versions:
            self.close()
            raise RunnerError("no Dask workers are connected" if not versions else
                              f"Dask workers run another lstm1997 version ({bad}); this is {version}")
        self.workers = len(versions)
        self._capacity, self._capacity_at = max(1, sum(self.client.nthreads().values())), time.monotonic()
        # progress of running segments: the workers log events on this topic (run_group_segment)
        self._progress: collections.deque = collections.deque()
        self.client.subscribe_topic(self._event + "-progress", lambda ev: self._progress.append(tuple(ev[1])))
        self._subscribed = True

    @property
    def capacity(self) -> int:
        """Worker threads of the cluster now (asked at most every 5 s): workers may join or leave."""
        if time.monotonic() - self._capacity_at > 5.0 and not self._lost():   # (asking a lost one: 30 s)
            self._capacity_at = time.monotonic()
            try:
                self._capacity = max(1, sum(self.client.nthreads().values()))
            except Exception:           # a lost scheduler is reported by result()
                pass
        return self._capacity

    def submit(self, jobs, checkpoints, seconds, sequences, end_on_finish=False):
        # the version goes along: a worker that joins later with another lstm1997 refuses the segment
        f = self.client.submit(run_group_segment, [{**job, "version": self._version} for job in jobs], checkpoints,
                               seconds, sequences, None, self._event, end_on_finish, pure=False)
        self._futures.add(f)
        return f

    def _lost(self) -> bool:
        """The client lost its scheduler: Dask then says "connecting" (and tries to reconnect for as long as
        the client's timeout) or "closing"/"closed"."""
        return self.client.status != "running"

    def wait(self, futures, timeout):
        """The futures that are done; all of them once the scheduler is lost (``result`` then says so).

        Dask cancels the futures it holds when the connection drops, but a future submitted after that,
        while the client tries to reconnect, stays pending until the reconnection gives up (the client's
        timeout, ``--scheduler-timeout``): so a lost scheduler is checked here, not only through futures."""
        end = time.monotonic() + timeout
        while True:
            done = set(futures) if self._lost() else {f for f in futures if f.done()}
            if done or time.monotonic() >= end:
                break
            time.sleep(0.02)
        self._futures -= done
        return done

    def result(self, fut) -> dict:
        """The segment's result; a trial's own failure is raised as it is (a worker killed again and again
        while running it is one: ``KilledWorker``), a lost scheduler is a :class:`RunnerError`."""
        import distributed

        if fut.cancelled() or self._lost():
            self._quiet_client()
            raise RunnerError(f"lost the connection to the Dask scheduler at {self._address}; finished trials "
                              "and the checkpoints of the others are in the store: run the same command again "
                              "(when the scheduler is back) to resume")
        try:
            return fut.result()
        except (distributed.comm.CommClosedError, cf.CancelledError):
            self._quiet_client()
            raise RunnerError(f"lost the connection to the Dask scheduler at {self._address}; finished trials "
                              "and the checkpoints of the others are in the store: run the same command again "
                              "(when the scheduler is back) to resume") from None

    def _quiet_client(self) -> None:
        """After a lost connection, Dask's client logs its failed reconnection (with tracebacks) as it is
        closed; this error is reported by the runner, once, instead."""
        for name in ("distributed.client", "distributed.utils", "distributed.comm"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)

    def poll_progress(self) -> list:
        out = []
        while self._progress:
            out.append(self._progress.popleft())
        return out

    def request_stop(self) -> None:
        import distributed

        try:
            distributed.Event(self._event, client=self.client).set()
        except Exception:
            pass

    def rebalance(self, on: bool) -> None:
        """Ask running groups to end their segments soon (``on``: workers idle), or no longer."""
        import distributed

        try:
            ev = distributed.Event(self._event + "-rebalance", client=self.client)
            ev.set() if on else ev.clear()
        except Exception:
            pass

    def close(self, kill: bool = False) -> None:
        if self._futures:
            try:
                self.client.cancel(list(self._futures))
            except Exception:
                pass
            self._futures.clear()
        if self._subscribed:
            self._subscribed = False
            try:
                self.client.unsubscribe_topic(self._event + "-progress")
            except Exception:
                pass
        if self._own:
            self.client.close()
