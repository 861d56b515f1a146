"""A trial paused after any chunk, checkpointed to bytes and continued by a *fresh* TrialRun (as a new
process would) ends bit for bit where one uninterrupted run ends: weights, stages, tests, curve, events."""

import numpy as np
import pytest

from lstm1997.experiments import lookup, run_trial
from lstm1997.experiments.criteria import Check, Window
from lstm1997.experiments.protocol import Trial, TrialRun
from lstm1997.experiments.adding import AddingConfig
from lstm1997.tasks.adding import adding


def _same(a, b) -> None:
    for f in ("success", "status", "sequences", "steps", "stages", "test", "quality_at", "message", "curve",
              "events"):
        assert getattr(a, f) == getattr(b, f), f
    assert type(a.net) is type(b.net)
    for k, v in a.net.arrays().items():
        np.testing.assert_array_equal(v, b.net.arrays()[k], err_msg=k)


def _resumed(make, seed, every_chunks):
    """Run with a pause after every ``every_chunks`` chunks, rebuilding the trial
    description and the run from the checkpoint bytes at each pause. Returns (result, pauses)."""
    blob, pauses = None, 0
    while True:
        run = TrialRun(make(), seed, blob)
        count = [0]

        def pause(p):
            count[0] += 1
            return count[0] >= every_chunks

        if run.advance(pause):
            return run.result(), pauses
        blob, pauses = run.checkpoint(), pauses + 1


def _synthetic():
    cfg = AddingConfig(T=20)
    return Trial(arch=cfg.architecture(), lr=0.5, sample=lambda r, n: adding(r, 20, n),
                 stages=[Window(window=37, tol=1.0, name="w"),
                         Check("c", lambda net, r: (r.random() < 0.1, {"draw": float(r.random())}), every=20)],
                 tol=0.04, max_sequences=500, chunk=10, curve_every=30,
                 final_test=lambda net, r: {"x": float(r.random())}, stage_tests=("w", "c"))


def test_synthetic_trial_window_hit_mid_chunk_then_random_check():
    """The window holds after sequence 37 (mid-chunk: replayed), then a check drawing from the check
    stream holds at some test; the final test draws from the test stream. Pausing after every chunk."""
    a = run_trial(_synthetic(), seed=0)
    b, pauses = _resumed(_synthetic, 0, 1)
    assert a.stages["w"]["sequences"] == 37 and a.success and a.stages["c"]["sequences"] > 40
    assert pauses >= 4
    _same(a, b)


CASES = [
    ("2a", dict(p=10, max_sequences=4000)),                     # sequential construction + ABS check
    ("2c", dict(p=10, q=10, max_sequences=4000, check_gate=0)),
    ("1", dict(max_sequences=1200, chunk=100)),                 # Reber: fixed training set, check every 100
    ("3a", dict(T=20, max_sequences=1500)),
    ("4", dict(T=20, max_sequences=4000, test_size=100, probe_every=1000, probe_gate=2000)),
    ("5", dict(T=20, n_seq=(2001, 50), max_sequences=4500, test_size=100)),
    ("6a", dict(max_sequences=2500, test_size=100)),
    # Table 2's baselines: exact RTRL (its sensitivities are learner state) and full BPTT on a plain RNN
    ("2a-RTRL", dict(method="RTRL", p=4, lr=4.0, max_sequences=3000, check_every=100)),
    ("2a-BPTT", dict(method="BPTT", p=4, lr=4.0, max_sequences=3000, check_every=100)),
]


@pytest.mark.parametrize("name,params", CASES, ids=[c[0] for c in CASES])
def test_paused_and_resumed_trials_equal_uninterrupted(name, params):
    exp, fixed = lookup(name.split("-")[0])
    cfg = exp.config_for(None, **fixed, **params)
    a = exp.run(cfg, seed=2)
    b, pauses = _resumed(lambda: exp.make_trial(cfg), 2, 1)
    assert pauses >= 2
    _same(a, b)
    if name == "2a":
        assert a.events, "the cell should have been added within the cap (exercises the growth state)"


def test_checkpoint_is_refused_for_another_trial():
    exp, fixed = lookup("4")
    cfg = exp.config_for(None, T=20, max_sequences=3000)
    run = TrialRun(exp.make_trial(cfg), 1)
    run.advance(lambda p: True)
    blob = run.checkpoint()
    with pytest.raises(ValueError, match="another trial"):
        TrialRun(exp.make_trial(cfg), 2, blob)
    with pytest.raises(ValueError, match="not a readable trial checkpoint"):
        TrialRun(exp.make_trial(cfg), 1, blob[:100])


def test_a_checkpoint_of_version_0_2_0_still_resumes():
    """0.2.0 wrote format 1 (LSTM arrays under their own names); a store holding one must resume."""
    import io
    import json

    exp, fixed = lookup("4")
    cfg = exp.config_for(None, T=20, max_sequences=3000, test_size=100)
    a = exp.run(cfg, seed=3)
    run = TrialRun(exp.make_trial(cfg), 3)
    run.advance(lambda p: True)
    with np.load(io.BytesIO(run.checkpoint())) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    assert meta["format_version"] == 2
    old = {k.split("_", 1)[1] if k.startswith(("net_", "learner_")) else k: v for k, v in arrays.items()}
    assert {"W_h", "W_k", "mask_h", "mask_k", "dS_in", "dS_c"} <= set(old)
    meta["format_version"] = 1
    del meta["network"], meta["learner_type"]
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **old)
    b = TrialRun(exp.make_trial(cfg), 3, buf.getvalue())
    assert b.advance()
    _same(a, b.result())
