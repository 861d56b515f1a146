"""Trials in lanes, end to end: a group of trials advanced together (``TrialRun.advance_group``, their
updates in calls of the lane kernel) gives every trial bit for bit its result alone, whatever else is in
the group (other architectures, a baseline net, a trial that diverges, trials that end early, growth),
paused and resumed from checkpoints or not; the runner's groups (``run_trials(group_size=...)``) and
``reproduce --lanes`` change no number; a lanes run killed with SIGKILL resumes to the same results."""

import dataclasses
import json
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from lstm1997 import __version__
from lstm1997.experiments import ADDING, OPEN_TRIAL, lookup, open_trial, trial_args
from lstm1997.experiments import protocol
from lstm1997.experiments.protocol import TrialRun
from lstm1997.runner import Store, TrialSpec, register, run_trials

from test_resume import _same, _synthetic

EXE = pathlib.Path(sys.executable).with_name("lstm1997")


@pytest.fixture
def lane_calls(monkeypatch):
    """Counts the networks with sequences in every call of the lane kernel made by the protocol."""
    calls = []
    real = protocol.update_lanes

    def counting(learners, nets, states, batches, **kw):
        calls.append(sum(len(b) > 0 for b in batches))
        return real(learners, nets, states, batches, **kw)

    monkeypatch.setattr(protocol, "update_lanes", counting)
    return calls


def _maker(name, **params):
    exp, fixed = lookup(name.split("-")[0])
    cfg = exp.config_for(None, **fixed, **params)
    return lambda: exp.make_trial(cfg)


def _alone(make, seed):
    run = TrialRun(make(), seed)
    assert run.advance()
    return run.result()


def _together(members, rounds_per_segment=None):
    """``members``: [(make, seed)]. Advances them as one group; with ``rounds_per_segment``, pauses after that
    many rounds, checkpoints every unfinished trial and reopens it from the bytes with a fresh Trial (as a
    runner's next segment does), until every trial has ended. Returns (results, segments)."""
    blobs = [None] * len(members)
    results = [None] * len(members)
    segments = 0
    while any(r is None for r in results):
        todo = [k for k, r in enumerate(results) if r is None]
        runs = [TrialRun(members[k][0](), members[k][1], blobs[k]) for k in todo]
        count = [0]

        def pause(figs):
            assert len(figs) == len(runs) and all("finished" in f and "sequences" in f for f in figs)
            count[0] += 1
            return rounds_per_segment is not None and count[0] >= rounds_per_segment

        finished = TrialRun.advance_group(runs, pause)
        segments += 1
        for k, run, fin in zip(todo, runs, finished):
            if fin:
                results[k] = run.result()
            else:
                blobs[k] = run.checkpoint()
    return results, segments


CASES = [
    ("4", dict(T=20, max_sequences=4000, test_size=100), 9),        # 2 blocks of 4 lanes + 1 alone
    ("2a", dict(p=10, max_sequences=4000), 6),                      # growth: the lanes' masks differ; padded call
    ("1", dict(max_sequences=1200, chunk=100), 6),                  # Reber: one-hot, a check every 100
    ("2c", dict(p=20, q=20, max_sequences=3000, check_gate=0), 6),  # 24 inputs: the sparse one-hot lanes
    ("3a", dict(T=20, max_sequences=1500), 7),
    ("6a", dict(max_sequences=2500, test_size=100), 8),
    ("2a-RTRL", dict(method="RTRL", p=4, lr=4.0, max_sequences=600, check_every=100), 2),   # baseline: alone
]


@pytest.mark.parametrize("name,params,n", CASES, ids=[c[0] for c in CASES])
def test_a_group_gives_every_trial_its_result_alone(name, params, n, lane_calls):
    make = _maker(name, **params)
    alone = [_alone(make, seed) for seed in range(n)]
    lane_calls.clear()
    got, _ = _together([(make, seed) for seed in range(n)])
    for a, b in zip(alone, got):
        _same(a, b)
    if name == "2a-RTRL":
        assert not lane_calls, "a baseline net never goes to the lane kernel"
    else:
        assert lane_calls and max(lane_calls) == protocol.LANE_WIDTH, "the group really trained in lanes"
    if name == "2a":
        assert any(r.events for r in alone), "a cell was added within the cap (growth inside a group)"


def test_a_mixed_group_paused_and_resumed_each_few_rounds(lane_calls):
    """Adding trials (one of which diverges at once), temporal-order trials, a baseline net, synthetic
    trials whose window holds mid-chunk and a forget-gate net, in one group, checkpointed and reopened every
    3 rounds."""
    base = _maker("4", T=20, max_sequences=3000, test_size=100)
    # the output error without f' (delta "linear") does not fade as the output units saturate: with a
    # learning rate of 1e308 the output weights overflow on the second sequence
    add = lambda: dataclasses.replace(base(), delta="linear")
    wild = lambda: dataclasses.replace(base(), delta="linear", lr=1e308)
    order = _maker("6a", max_sequences=2000, test_size=100)
    rnn = _maker("2a-RTRL", method="RTRL", p=4, lr=4.0, max_sequences=400, check_every=100)
    # a cell variant (forget gates) of the adding net: the lane kernel has the 1997 cell only, so it trains alone
    forget = lambda: (lambda tr: dataclasses.replace(tr, arch=dataclasses.replace(tr.arch, forget_gate=True)))(base())
    members = ([(add, s) for s in range(6)] + [(wild, 0)] + [(order, s) for s in range(2)] + [(rnn, 1)]
               + [(_synthetic, s) for s in range(3)] + [(forget, 4)])
    alone = [_alone(m, s) for m, s in members]
    got, segments = _together(members, rounds_per_segment=3)
    assert segments >= 3
    for a, b in zip(alone, got):
        _same(a, b)
    assert got[6].status == "diverged" and "NaN or inf" in got[6].message
    assert all(r.status != "diverged" for k, r in enumerate(got) if k != 6)
    assert got[0].sequences > got[6].sequences, "the others went on after the lane diverged"
    assert lane_calls and max(lane_calls) == protocol.LANE_WIDTH


def test_trials_that_end_early_leave_the_group_and_the_others_go_on(lane_calls):
    """Synthetic trials: a window holds in the middle of a chunk (replayed alone), then a random check ends
    each trial at its own time."""
    members = [(_synthetic, s) for s in range(8)]
    alone = [_alone(m, s) for m, s in members]
    got, _ = _together(members)
    for a, b in zip(alone, got):
        _same(a, b)
    assert all(r.success and r.stages["w"]["sequences"] == 37 for r in got)
    assert len({r.sequences for r in got}) > 1, "they end at different times"
    assert lane_calls[0] == protocol.LANE_WIDTH and min(lane_calls) < protocol.LANE_WIDTH


def test_a_group_needs_trials_of_their_own():
    trial = _synthetic()
    with pytest.raises(ValueError, match="of its own"):
        TrialRun.advance_group([TrialRun(trial, 0), TrialRun(trial, 1)])


# ---- the runner: groups of trials in one worker ----------------------------------------------------

def _specs():
    """Ten adding trials that end at different times (caps 1,000 ... 10,000) and two temporal-order ones."""
    out = []
    for k in range(10):
        cfg = ADDING.config_for(None, T=30, max_sequences=1000 * (k + 1), test_size=100)
        out.append(TrialSpec(OPEN_TRIAL, trial_args(ADDING, cfg), k, __version__, f"adding #{k}"))
    exp, fixed = lookup("6a")
    cfg = exp.config_for(None, **fixed, max_sequences=2000, test_size=100)
    out += [TrialSpec(OPEN_TRIAL, trial_args(exp, cfg), k, __version__, f"6a #{k}") for k in range(2)]
    return out


@pytest.fixture(scope="module")
def reference():
    out = []
    for s in _specs():
        run = open_trial(s.args, s.seed)
        assert run.advance()
        res, art = run.outcome()
        out.append(({k: v for k, v in res.items() if k != "seconds"}, art))
    return out


def _run(path, **kw):
    with Store(path) as store:
        ids = register(store, _specs(), "t")
        summary = run_trials(store, ids, checkpoint_seconds=0.05, groups=[ids[:10], ids[10:]], **kw)
        recs = [store.get(i) for i in ids]
    assert not summary.errors and not summary.interrupted and sorted(summary.finished) == sorted(ids)
    return [({k: v for k, v in r["result"].items() if k != "seconds"}, r["artifact"]) for r in recs]


@pytest.mark.parametrize("workers,group_size", [(1, 6), (2, 8), (1, 1)])
def test_groups_in_the_runner_equal_uninterrupted_trials(tmp_path, reference, workers, group_size, lane_calls):
    """Groups of up to ``group_size`` trials of a list, refilled from it as trials end, cut into many
    segments: every trial's result and final network are those of the trial run alone, uninterrupted."""
    got = _run(tmp_path / "g.sqlite", workers=workers, group_size=group_size)
    assert got == reference
    if workers == 1 and group_size > 1:
        assert max(lane_calls) == protocol.LANE_WIDTH, "in lanes"


def test_groups_on_a_dask_local_cluster_equal_uninterrupted_trials(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        got = _run(tmp_path / "dask.sqlite", scheduler=cluster.scheduler_address, group_size=8,
                   scheduler_timeout=60)
    assert got == reference


def test_group_progress_lines(tmp_path):
    import io

    from lstm1997.runner import Progress

    buf = io.StringIO()
    _run(tmp_path / "p.sqlite", workers=1, group_size=4, progress=Progress(buf, tty=False, log_every=0.0))
    text = buf.getvalue()
    assert "running 1 group(s) of up to 4 trials at a time (this process)" in text
    assert "adding #0: cap after 1,000 sequences" in text and "6a #1: cap after 2,000 sequences" in text


def test_a_failing_trial_in_a_group_fails_alone(tmp_path, reference):
    """A trial whose result is not JSON-able ends its group's segment; the runner then runs the group's
    trials one by one: that trial fails, the others finish with their own results."""
    s = _specs()
    bad = TrialSpec("dying_trial:open_numpy_result_trial", {"trial": s[0].args}, s[0].seed, __version__, "numpy")
    with Store(tmp_path / "f.sqlite") as store:
        ids = register(store, [bad, s[1], s[2]], "t")
        summary = run_trials(store, ids, workers=1, group_size=3)
        assert list(summary.errors) == [ids[0]] and "result is not JSON-able" in summary.errors[ids[0]]
        assert sorted(summary.finished) == sorted(ids[1:])
        got = [({k: v for k, v in store.get(i)["result"].items() if k != "seconds"}, store.get(i)["artifact"])
               for i in ids[1:]]
    assert got == reference[1:3]


def test_a_group_whose_worker_dies_again_and_again(tmp_path, reference):
    """Trial objects without ``advance_group`` (here a wrapper) run in turn in their group. The group's
    worker process kills itself whenever its first trial reaches 2,000 sequences: after three deaths the
    group's trials run alone, the culprit fails and the others finish with their own results."""
    s = _specs()
    specs = [TrialSpec("dying_trial:open_dying_trial",
                       {"trial": x.args, "die_at": 2000 if k == 0 else 10**9, "deaths": 99,
                        "marker": str(tmp_path / f"died-{k}")}, x.seed, __version__, f"dying #{k}")
             for k, x in enumerate([s[4], s[1], s[2]])]
    with Store(tmp_path / "d.sqlite") as store:
        ids = register(store, specs, "t")
        summary = run_trials(store, ids, workers=2, group_size=3, checkpoint_seconds=60)
        assert list(summary.errors) == [ids[0]] and "worker process died" in summary.errors[ids[0]]
        assert sorted(summary.finished) == sorted(ids[1:])
        got = [({k: v for k, v in store.get(i)["result"].items() if k != "seconds"}, store.get(i)["artifact"])
               for i in ids[1:]]
    assert got == reference[1:3]


def test_run_trials_refuses_a_bad_group_size(tmp_path):
    with Store(tmp_path / "b.sqlite") as store:
        ids = register(store, _specs()[:1], "t")
        for bad in (0, -1, 2.5, True):
            with pytest.raises(ValueError, match="group_size"):
                run_trials(store, ids, workers=1, group_size=bad)


# ---- the command: reproduce --lanes -----------------------------------------------------------

def _reproduce(db, *args, timeout=300):
    out = db.with_suffix(".json")
    p = subprocess.run([str(EXE), "reproduce", *args, "--db", str(db), "--json", str(out)], capture_output=True,
                       text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p, _comparable(json.loads(out.read_text()))


def _comparable(report: dict) -> dict:
    """A reproduce JSON without what may differ between equal runs: the store's path and compute times."""
    report = dict(report, db=None)
    for row in report["rows"]:
        for t in row.get("trials", []):
            t.pop("seconds", None)
        row.get("ours", {}).pop("seconds", None)
    return report


def _store_results(db):
    with Store(db) as store:
        recs = [store.get(r["id"]) for r in store.records()]
    assert all(r["status"] == "done" for r in recs)
    return {r["key"]: ({k: v for k, v in r["result"].items() if k != "seconds"}, r["artifact"]) for r in recs}


ROW = ["7", "--rows", "1", "--trials", "7", "--max-sequences", "3000", "--checkpoint-every", "0.3"]


def test_reproduce_gives_the_same_json_for_any_lanes_and_jobs(tmp_path):
    p1, one = _reproduce(tmp_path / "l1.sqlite", *ROW, "--lanes", "1", "--jobs", "1")
    assert "running 1 trial(s) at a time (this process)" in p1.stderr
    p8, eight = _reproduce(tmp_path / "l8.sqlite", *ROW, "--lanes", "8", "--jobs", "1")
    assert "running 1 group(s) of up to 8 trials at a time (this process)" in p8.stderr
    _, three = _reproduce(tmp_path / "l3.sqlite", *ROW, "--lanes", "3", "--jobs", "2")
    _, default = _reproduce(tmp_path / "j2.sqlite", *ROW, "--jobs", "2")
    assert one == eight == three == default
    assert len(one["rows"][0]["trials"]) == 7
    assert _store_results(tmp_path / "l1.sqlite") == _store_results(tmp_path / "l8.sqlite")


def test_reproduce_a_baseline_row_in_lanes(tmp_path):
    row = ["2", "--rows", "1", "--trials", "2", "--max-sequences", "300", "--jobs", "1"]
    _, one = _reproduce(tmp_path / "b1.sqlite", *row, "--lanes", "1")
    _, eight = _reproduce(tmp_path / "b8.sqlite", *row)
    assert one == eight


def test_reproduce_refuses_zero_lanes(tmp_path):
    p = subprocess.run([str(EXE), "reproduce", "7", "--lanes", "0", "--db", str(tmp_path / "z.sqlite")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--lanes must be at least 1" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([str(EXE), "sensitivity", "7", "--lanes", "-2", "--db", str(tmp_path / "z.sqlite")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--lanes must be at least 1" in p.stderr and "Traceback" not in p.stderr


KILL_ROW = ["7", "--rows", "1", "--trials", "6", "--max-sequences", "30000", "--checkpoint-every", "0.2",
            "--jobs", "1"]


def test_a_lanes_run_killed_mid_way_resumes_to_the_uninterrupted_results(tmp_path):
    """SIGKILL once a checkpoint of a lanes run is in the store (never by the clock), run the command again:
    every trial ends exactly as in an uninterrupted run with --lanes 1."""
    _reproduce(tmp_path / "ref.sqlite", *KILL_ROW, "--lanes", "1")
    reference = _store_results(tmp_path / "ref.sqlite")
    db = tmp_path / "killed.sqlite"
    p = subprocess.Popen([str(EXE), "reproduce", *KILL_ROW, "--lanes", "8", "--db", str(db)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    try:
        end = time.monotonic() + 240
        while p.poll() is None and time.monotonic() < end:
            if db.exists():
                with Store(db, owner="test") as store:
                    recs = store.records()
                    if any(store.load_checkpoint(r["id"]) is not None for r in recs if r["status"] == "running"):
                        p.send_signal(signal.SIGKILL)
                        killed = True
                        break
            time.sleep(0.02)
        p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert killed, "the run was killed mid-way (a checkpoint was in the store)"
    assert p.returncode == -signal.SIGKILL
    with Store(db) as store:
        assert any(r["status"] != "done" for r in store.records()), "unfinished trials were left behind"
    again, _ = _reproduce(db, *KILL_ROW)
    assert "resuming from its checkpoint" in again.stderr
    assert _store_results(db) == reference
    with Store(db) as store:
        assert any(r["attempts"] > 1 for r in store.records()), "some trial was resumed"
