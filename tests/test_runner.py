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
