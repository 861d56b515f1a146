"""The runner: the same per-trial results in this process, in 2 worker processes and on a real Dask
LocalCluster, each trial cut into many checkpointed segments; clear errors for an unreachable scheduler."""

import time

import pytest

from lstm1997 import __version__
from lstm1997.experiments import ADDING, OPEN_TRIAL, TEMPORAL_ORDER, open_trial, trial_args
from lstm1997.runner import Progress, RunnerError, Store, TrialSpec, register, run_trials


def _specs():
    out = []
    for k in range(3):
        cfg = ADDING.config_for(None, T=30, max_sequences=6000, test_size=200, probe_every=2000)
        out.append(TrialSpec(OPEN_TRIAL, trial_args(ADDING, cfg), k, __version__, f"adding #{k}"))
    cfg = TEMPORAL_ORDER.config_for(None, variant="6a", max_sequences=3000, test_size=200)
    out.append(TrialSpec(OPEN_TRIAL, trial_args(TEMPORAL_ORDER, cfg), 7, __version__, "6a #7"))
    return out


def _run(path, **kw):
    with Store(path) as store:
        ids = register(store, _specs(), "t")
        summary = run_trials(store, ids, checkpoint_seconds=0.05, **kw)
        recs = [store.get(i) for i in ids]
    assert not summary.errors and not summary.interrupted and sorted(summary.finished) == sorted(ids)
    return [({k: v for k, v in r["result"].items() if k != "seconds"}, r["artifact"]) for r in recs]


def _uninterrupted():
    out = []
    for s in _specs():
        run = open_trial(s.args, s.seed)
        assert run.advance()
        res, art = run.outcome()
        out.append(({k: v for k, v in res.items() if k != "seconds"}, art))
    return out


@pytest.fixture(scope="module")
def reference():
    return _uninterrupted()


def test_in_process_segments_equal_uninterrupted(tmp_path, reference):
    got = _run(tmp_path / "a.sqlite", workers=1)
    assert got == reference
    assert all(len(art) > 1000 for _, art in got), "the final network is stored"


def test_two_worker_processes_equal_uninterrupted(tmp_path, reference):
    got = _run(tmp_path / "b.sqlite", workers=2)
    assert got == reference


def test_dask_local_cluster_equals_uninterrupted(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        got = _run(tmp_path / "c.sqlite", scheduler=cluster.scheduler_address)
    assert got == reference


def test_finished_trials_are_not_run_again(tmp_path):
    path = tmp_path / "d.sqlite"
    _run(path, workers=1)
    with Store(path) as store:
        ids = register(store, _specs(), "t")
        summary = run_trials(store, ids, workers=1)
    assert summary.finished == [] and sorted(summary.skipped) == sorted(ids)


def test_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path):
    pytest.importorskip("distributed")
    t0 = time.monotonic()
    with Store(tmp_path / "e.sqlite") as store:
        ids = register(store, _specs()[:1], "t")
        with pytest.raises(RunnerError, match="cannot reach the Dask scheduler"):
            run_trials(store, ids, scheduler="tcp://127.0.0.1:9", scheduler_timeout=2)
        assert store.get(ids[0])["status"] == "pending", "nothing claimed"
    assert time.monotonic() - t0 < 20


def test_progress_lines_for_a_log(tmp_path):
    import io

    buf = io.StringIO()
    _run(tmp_path / "f.sqlite", workers=1, progress=Progress(buf, tty=False, log_every=0.0))
    text = buf.getvalue()
    assert "4 trial(s): 0 already in the store, 4 to run" in text
    assert "adding #0: cap after 6,000 sequences" in text
    assert "\r" not in text and "\033" not in text
    assert "trials 1 done / 1 running / 2 left" in text and "ETA" in text


def _long_specs():
    cfg = ADDING.config_for(None, T=100, max_sequences=80_000, test_size=200)
    return [TrialSpec(OPEN_TRIAL, trial_args(ADDING, cfg), k, __version__, f"long #{k}") for k in range(2)]


@pytest.fixture(scope="module")
def long_reference():
    out = {}
    for s in _long_specs():
        run = open_trial(s.args, s.seed)
        assert run.advance()
        res, art = run.outcome()
        out[s.key] = ({k: v for k, v in res.items() if k != "seconds"}, art)
    return out


@pytest.mark.parametrize("where", ["in-process", "dask"])
def test_ctrl_c_checkpoints_running_trials_and_a_rerun_resumes_them(tmp_path, long_reference, where):
    """SIGINT during a run: every running trial saves a checkpoint at its next chunk and is released;
    running again finishes them with exactly the uninterrupted results."""
    import os
    import signal
    import threading

    kw = {"workers": 1}
    cluster = None
    if where == "dask":
        distributed = pytest.importorskip("distributed")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=50)
        kw = {"scheduler": cluster.scheduler_address}
    try:
        path = tmp_path / "int.sqlite"
        with Store(path) as store:
            ids = register(store, _long_specs(), "long")
            # SIGINT as soon as a worker reports a trial running (not after a fixed delay, which a
            # fast machine can outrun: the trials are ~2 s long)
            sent = threading.Event()

            class InterruptOnFirstReport:
                def __getattr__(self, name):
                    return lambda *a, **k: None

                def update(self, msg):
                    if msg[1] > 0 and not sent.is_set():
                        sent.set()
                        os.kill(os.getpid(), signal.SIGINT)

            t0 = time.monotonic()
            first = run_trials(store, ids, checkpoint_seconds=60, progress=InterruptOnFirstReport(), **kw)
            assert sent.is_set()
            assert first.interrupted and time.monotonic() - t0 < 10, "stopped within seconds, not at the segment end"
            assert first.checkpointed and not first.errors
            for i in first.checkpointed:
                rec = store.get(i)
                assert rec["status"] == "pending" and store.load_checkpoint(i)[1] > 0
            second = run_trials(store, ids, checkpoint_seconds=60, **kw)
            assert not second.interrupted and sorted(second.finished + first.finished) == sorted(ids)
            got = {store.get(i)["key"]: ({k: v for k, v in store.get(i)["result"].items() if k != "seconds"},
                                         store.get(i)["artifact"]) for i in ids}
    finally:
        if cluster is not None:
            cluster.close()
    assert got == long_reference


@pytest.mark.parametrize("peer", ["silent", "web server"])
def test_a_peer_that_is_not_a_scheduler_is_a_clear_error_not_a_hang(tmp_path, peer):
    """Dask's client waits forever on a peer that accepts the connection and never answers (and dies
    reading a web server's reply as a frame length); the runner gives up after the timeout + 5 s."""
    import socket
    import threading

    pytest.importorskip("distributed")
    server = socket.create_server(("127.0.0.1", 0))
    conns = []

    def serve():
        while True:
            try:
                c, _ = server.accept()
            except OSError:
                return
            conns.append(c)
            if peer == "web server":
                c.recv(1024)
                c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>no</html>")

    threading.Thread(target=serve, daemon=True).start()
    addr = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        with Store(tmp_path / "p.sqlite") as store:
            ids = register(store, _specs()[:1], "t")
            t0 = time.monotonic()
            with pytest.raises(RunnerError, match="scheduler's port is 8786|is this the scheduler's address"):
                run_trials(store, ids, scheduler=addr, scheduler_timeout=1)
            assert time.monotonic() - t0 < 15
            assert store.get(ids[0])["status"] == "pending", "nothing claimed"
    finally:
        server.close()
        for c in conns:
            c.close()


def test_a_scheduler_without_workers_is_a_clear_error(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, dashboard_address=None, silence_logs=50) as cluster:
        with Store(tmp_path / "w.sqlite") as store:
            ids = register(store, _specs()[:1], "t")
            t0 = time.monotonic()
            with pytest.raises(RunnerError, match=r"no Dask workers are connected .*\(waited 2 s"):
                run_trials(store, ids, scheduler=cluster.scheduler_address, scheduler_timeout=2)
            assert time.monotonic() - t0 < 15
            assert store.get(ids[0])["status"] == "pending", "nothing claimed"


def test_a_worker_of_another_version_refuses_the_segment():
    from lstm1997.runner.worker import run_segment

    s = _specs()[0]
    job = {"id": 1, "fn": s.fn, "args": s.args, "seed": s.seed}
    with pytest.raises(RuntimeError, match=f"this worker runs lstm1997 {__version__}, the trial was submitted "
                                           "by 0.0.1"):
        run_segment({**job, "version": "0.0.1"}, None, 60.0, 10)
    assert run_segment({**job, "version": __version__}, None, 60.0, 10)["sequences"] >= 10


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_lost_scheduler_is_a_clear_error_and_a_rerun_resumes(tmp_path, long_reference, monkeypatch):
    """The scheduler dies (SIGKILL) while trials run on its workers: a RunnerError saying so, within seconds;
    no trial marked failed or left claimed; their checkpoints kept; a run on another cluster finishes them
    with exactly the uninterrupted results.

    The run is steered into the case a loaded machine used to hit now and then: one segment in flight (here
    one worker thread; there the second worker process had not joined yet), the scheduler dies, and the
    next segment is submitted after Dask's client noticed and began to reconnect. Dask leaves such a
    future pending until it gives up reconnecting (the client's timeout, 60 s here), so the runner must
    see the lost scheduler itself."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from lstm1997.runner import backends

    distributed = pytest.importorskip("distributed")
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], **quiet),
             subprocess.Popen([dask, "worker", addr, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                              **quiet)]
    try:
        with Store(tmp_path / "lost.sqlite") as store:
            ids = register(store, _long_specs(), "long")
            killed = []

            class KillTheSchedulerOnResume:
                def __getattr__(self, name):
                    return lambda *a, **k: None

                def running(self, i, sequences, seconds):
                    if sequences > 0 and not killed:       # a checkpoint is in the store: kill now
                        os.killpg(procs[0].pid, signal.SIGKILL)
                        procs[0].wait()
                        killed.append(time.monotonic())

            submit = backends.DaskCluster.submit

            def submit_while_reconnecting(self, *args):
                while killed and self.client.status == "running":     # until the client has noticed
                    time.sleep(0.01)
                return submit(self, *args)

            monkeypatch.setattr(backends.DaskCluster, "submit", submit_while_reconnecting)
            with pytest.raises(RunnerError, match="lost the connection to the Dask scheduler at " + addr):
                run_trials(store, ids, scheduler=addr, scheduler_timeout=60, checkpoint_seconds=0.2,
                           progress=KillTheSchedulerOnResume())
            monkeypatch.undo()
            assert killed and time.monotonic() - killed[0] < 10
            assert all(r["status"] == "pending" for r in store.records(ids=ids)), "none failed, none held"
            assert any(store.load_checkpoint(i) is not None for i in ids)
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None, silence_logs=50) as cluster:
                again = run_trials(store, ids, scheduler=cluster.scheduler_address, checkpoint_seconds=60)
            assert not again.errors and sorted(again.finished) == sorted(ids)
            got = {store.get(i)["key"]: ({k: v for k, v in store.get(i)["result"].items() if k != "seconds"},
                                         store.get(i)["artifact"]) for i in ids}
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert got == long_reference


def _dying_specs(tmp_path, deaths):
    """The two long trials; the first one's worker process kills itself at 20,000 sequences ``deaths`` times."""
    out = []
    for k, s in enumerate(_long_specs()):
        args = {"trial": s.args, "die_at": 20_000 if k == 0 else 10**9, "deaths": deaths,
                "marker": str(tmp_path / f"died-{k}")}
        out.append(TrialSpec("dying_trial:open_dying_trial", args, s.seed, __version__, f"dying #{k}"))
    return out


def test_a_dead_worker_process_is_replaced_and_its_trial_goes_on(tmp_path, long_reference):
    """A worker process killed (SIGKILL) mid-trial: the pool starts fresh processes and runs the segments
    in flight again from their inputs; the run goes on and the numbers are the uninterrupted ones."""
    messages = []

    class Messages:
        def __getattr__(self, name):
            return lambda *a, **k: None

        def message(self, text):
            messages.append(text)

    with Store(tmp_path / "dead.sqlite") as store:
        ids = register(store, _dying_specs(tmp_path, deaths=1), "dying")
        summary = run_trials(store, ids, workers=2, checkpoint_seconds=0.3, progress=Messages())
        assert not summary.errors and sorted(summary.finished) == sorted(ids)
        got = [({k: v for k, v in store.get(i)["result"].items() if k != "seconds"}, store.get(i)["artifact"])
               for i in ids]
    assert (tmp_path / "died-0.0").exists(), "the worker process really died"
    assert any("dying #0: its worker process died (killed by SIGKILL)" in m for m in messages), messages
    assert got == [long_reference[s.key] for s in _long_specs()]


def test_a_trial_whose_worker_process_dies_every_time_fails_and_the_others_finish(tmp_path, long_reference):
    with Store(tmp_path / "dead3.sqlite") as store:
        ids = register(store, _dying_specs(tmp_path, deaths=99), "dying")
        summary = run_trials(store, ids, workers=2, checkpoint_seconds=0.3)
        assert list(summary.errors) == [ids[0]]
        assert "worker process died 3 times while running it (last: killed by SIGKILL" in summary.errors[ids[0]]
        assert store.get(ids[0])["status"] == "error" and store.load_checkpoint(ids[0]) is not None
        assert summary.finished == [ids[1]]
        res = store.get(ids[1])
    assert len(list(tmp_path.glob("died-0.*"))) == 3
    assert ({k: v for k, v in res["result"].items() if k != "seconds"}, res["artifact"]) == \
        long_reference[_long_specs()[1].key]


def test_a_result_that_is_not_json_fails_that_trial_only(tmp_path, reference):
    s0, s1 = _specs()[:2]
    bad = TrialSpec("dying_trial:open_numpy_result_trial", {"trial": s0.args}, s0.seed, __version__, "numpy")
    with Store(tmp_path / "np.sqlite") as store:
        ids = register(store, [bad, s1], "t")
        summary = run_trials(store, ids, workers=1)
        assert list(summary.errors) == [ids[0]] and "result is not JSON-able" in summary.errors[ids[0]]
        assert summary.finished == [ids[1]] and store.get(ids[1])["status"] == "done"


def test_a_trial_taken_over_by_another_process_is_left_to_it_and_the_run_goes_on(tmp_path, long_reference):
    """Another command took trial 0 over while this one ran it (it looked dead to that one): this command's
    next write finds the claim lost, leaves the trial to the other and finishes the others."""
    import sqlite3

    path = tmp_path / "taken.sqlite"
    with Store(path) as store:
        ids = register(store, _long_specs(), "t")
        taken = []

        class TakeOver:
            def __getattr__(self, name):
                return lambda *a, **k: None

            def update(self, msg):
                if msg[0] == ids[0] and not taken:
                    c = sqlite3.connect(path)
                    with c:
                        c.execute("UPDATE trials SET owner='elsewhere.example:1:0ther000', heartbeat=? WHERE id=?",
                                  (time.time(), ids[0]))
                    c.close()
                    taken.append(msg)

        summary = run_trials(store, ids, workers=1, checkpoint_seconds=60, progress=TakeOver())
        assert taken and summary.elsewhere == [ids[0]] and summary.finished == [ids[1]] and not summary.errors
        rec = store.get(ids[0])
        assert rec["status"] == "running" and rec["owner"] == "elsewhere.example:1:0ther000"
        assert ({k: v for k, v in store.get(ids[1])["result"].items() if k != "seconds"},
                store.get(ids[1])["artifact"]) == long_reference[_long_specs()[1].key]


def test_in_process_trials_keep_their_heartbeat_during_long_segments(tmp_path, monkeypatch):
    from lstm1997.runner import core

    monkeypatch.setattr(core, "HEARTBEAT_SECONDS", 0.0)
    path = tmp_path / "beat.sqlite"
    with Store(path) as store:
        ids = register(store, _long_specs()[:1], "t")
        seen = []

        class Watch:
            def __getattr__(self, name):
                return lambda *a, **k: None

            def update(self, msg):
                with Store(path, owner="watcher") as other:
                    seen.append(other.get(ids[0])["heartbeat"])

        run_trials(store, ids, workers=1, checkpoint_seconds=3600, progress=Watch())
    assert len(seen) >= 3 and seen[-1] > seen[0], "refreshed inside one segment"


def test_progress_survives_a_stream_that_cannot_be_written(tmp_path):
    class Broken:
        def isatty(self):
            return False

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    with Store(tmp_path / "bp.sqlite") as store:
        ids = register(store, _specs()[:2], "t")
        summary = run_trials(store, ids, workers=1, progress=Progress(Broken(), log_every=0.0))
    assert sorted(summary.finished) == sorted(ids)


def test_the_terminal_status_line_fits_the_terminal(monkeypatch):
    import io
    import os as _os
    import shutil
    from types import SimpleNamespace

    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=None: _os.terminal_size((60, 24)))
    buf = io.StringIO()
    p = Progress(buf, tty=True)
    p.every = 0.0
    recs = {i: {"label": f"a long trial label {i}"} for i in range(4)}
    p.start(recs, list(recs), SimpleNamespace(skipped=[], elsewhere=[]))
    for i in recs:
        p.running(i, 123_456, 10.0)
    rows = [r for r in buf.getvalue().split("\r\033[K") if r.startswith("trials")]
    assert rows and all(len(r) <= 59 for r in rows)


def test_run_trials_refuses_ids_not_in_the_store(tmp_path):
    with Store(tmp_path / "u.sqlite") as store:
        ids = register(store, _specs()[:1], "t")
        with pytest.raises(ValueError, match="no trial"):
            run_trials(store, [ids[0], 99], workers=1)


def test_progress_on_a_terminal_rewrites_one_line_and_estimates_the_end():
    import io
    from types import SimpleNamespace

    buf = io.StringIO()
    p = Progress(buf, tty=True)
    p.every = 0.0
    recs = {i: {"label": f"r{i}"} for i in range(4)}
    p.start(recs, [0, 1, 2, 3], SimpleNamespace(skipped=[], elsewhere=[]))
    p.workers(2, "processes")
    p.running(0, 0, 0.0)
    p.running(1, 5000, 10.0)              # resumed from a checkpoint
    p.update((0, 2000, 4.0, "ST3"))
    assert p.eta() is None and "ETA after the first trial ends" in p.status_text()
    p.finished(0, {"status": "solved", "sequences": 3000}, 6.0)
    # mean 6 s per trial: 2 left (12 s) + r1 has 0 s to go (10 s > 6 s), on 2 workers -> 6 s
    assert p.eta() == pytest.approx(6.0)
    text = buf.getvalue()
    assert "\r\033[K" in text and "r1: resuming from its checkpoint at 5,000 sequences" in text
    assert "r0: 2,000 seq, 500/s" in text and "r0: solved after 3,000 sequences" in text
    assert "trials 1 done / 1 running / 2 left" in p.status_text()


def test_a_failing_trial_is_recorded_and_the_others_still_run(tmp_path):
    good = _specs()[:1]
    bad = TrialSpec("lstm1997.experiments:open_trial", {"experiment": "99", "params": {}}, 0, __version__, "bad")
    with Store(tmp_path / "g.sqlite") as store:
        ids = register(store, [bad, *good], "mixed")
        summary = run_trials(store, ids, workers=1)
        assert list(summary.errors) == [ids[0]] and "not a trial description" in summary.errors[ids[0]]
        assert summary.finished == [ids[1]]
        assert store.get(ids[0])["status"] == "error" and store.get(ids[1])["status"] == "done"


def test_a_death_is_blamed_on_the_segment_the_process_runs_not_on_an_earlier_one(tmp_path):
    """One worker process runs a segment of trial X, then trial Y's, which kills it; X's next segment,
    submitted meanwhile, has not started. Only Y is blamed (X's earlier segment ran in the same process:
    blamed by trial, X would be counted as dying too, and fail after three of Y's deaths), and X's next
    segment runs in the fresh process."""
    from lstm1997.runner.backends import LocalPool, WorkerDied

    x = _specs()[0]
    y = {"trial": x.args, "die_at": 0, "deaths": 99, "marker": str(tmp_path / "died")}
    jx = {"id": 1, "fn": x.fn, "args": x.args, "seed": x.seed, "version": __version__}
    jy = {"id": 2, "fn": "dying_trial:open_dying_trial", "args": y, "seed": x.seed, "version": __version__}
    blamed = []
    pool = LocalPool(1, on_death=lambda ids, how: blamed.append(ids))
    try:
        f1 = pool.submit([jx], [None], 60.0, 1000)
        while not pool.wait({f1}, 0.5):
            pass
        (seg,) = pool.result(f1)
        assert not seg["finished"] and seg["sequences"] >= 1000
        f2 = pool.submit([jy], [None], 60.0, None)
        f3 = pool.submit([jx], [seg["checkpoint"]], 60.0, None)
        deadline = time.monotonic() + 300
        while not (f2.done() and f3.done()) and time.monotonic() < deadline:
            pool.wait({f for f in (f2, f3) if not f.done()}, 0.5)
        with pytest.raises(WorkerDied, match="died 3 times"):
            pool.result(f2)
        (last,) = pool.result(f3)
        assert last["finished"]
    finally:
        pool.close(kill=True)
    assert blamed == [[2], [2]]
    assert len(list(tmp_path.glob("died.*"))) == 3
