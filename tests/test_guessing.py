"""Random weight guessing (spec §7): the parity generator, the library search ``lstm1997.guessing``
and the paper-level protocol ``lstm1997.experiments.guessing``."""

import math

import numpy as np
import pytest

from lstm1997.batch import Batch
from lstm1997.experiments.guessing import (COMPANION_FIGURES, GuessConfig, reference, run_guessing,
                                           summarize_guessing)
from lstm1997.guessing import EndTest, GuessResult, guess
from lstm1997.rnn import RNN, RNNArchitecture, forward, predict_rnn
from lstm1997.tasks.parity import parity
from lstm1997.tasks.two_sequence import two_sequence


def _strip(results):
    """Per-trial results without the wall-clock figures."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "guesses_per_second")} for r in results]


# ---- the parity task ----------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi", [(25, 50), (3, 7), (5, 5)])
def test_parity_defining_properties(lo, hi, rng):
    n = 3000
    b = parity(rng, n, lo, hi)
    assert isinstance(b, Batch) and len(b) == n and b.n_in == 1 and b.n_out == 1
    L = b.lengths
    assert L.min() >= lo and L.max() <= hi
    assert set(np.unique(L)) == set(range(lo, hi + 1)), "every length occurs"
    x, d = b.inputs[:, 0], b.targets[:, 0]
    assert set(np.unique(x)) == {-1.0, 1.0}
    last = np.zeros(b.n_steps, bool)
    last[b.end_indices()] = True
    assert np.isnan(d[~last]).all()
    # the target is the parity of the number of +1 elements the net sees, recomputed sequence by sequence
    for i in range(n):
        xi, di = b[i]
        assert di[-1, 0] == float(int(np.sum(xi[:, 0] == 1.0)) % 2)
    assert abs(d[last].mean() - 0.5) < 0.05, "both classes occur about equally often"
    assert abs((x == 1.0).mean() - 0.5) < 0.02


def test_parity_noise_keeps_the_sign(rng):
    b = parity(rng, 500, 4, 9, noise=0.2)
    x = b.inputs[:, 0]
    assert np.all((np.abs(x) >= 0.8) & (np.abs(x) <= 1.2)) and len(np.unique(x)) > 100
    for i in range(len(b)):
        xi, di = b[i]
        assert di[-1, 0] == float(int(np.sum(xi[:, 0] > 0)) % 2)


def test_parity_deterministic_per_seed():
    a = parity(np.random.default_rng(7), 50)
    b = parity(np.random.default_rng(7), 50)
    c = parity(np.random.default_rng(8), 50)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    assert a.inputs.shape != c.inputs.shape or not np.array_equal(a.inputs, c.inputs)


@pytest.mark.parametrize("kw", [{"n": 0}, {"min_length": 0}, {"min_length": 10, "max_length": 9},
                                {"noise": 1.0}, {"noise": -0.1}, {"noise": float("nan")}, {"n": 2.0}])
def test_parity_validates(kw, rng):
    args = {"n": 5, **kw}
    with pytest.raises(ValueError):
        parity(rng, **args)


def test_parity_needs_a_generator():
    with pytest.raises(TypeError):
        parity(np.random.RandomState(0), 5)


# ---- the library: guess() and EndTest -----------------------------------------------------------

def _last_sign_task(rng, n=64):
    """Easy: noise, then a last input of +1 (target 1) or -1 (target 0); a net reading x(t) can do it."""
    b = two_sequence(rng, 10, 1, n)
    x = b.inputs.copy()
    d = np.full_like(b.targets, np.nan)
    ends = b.end_indices()
    x[ends, 0] = rng.choice([-1.0, 1.0], size=n)
    d[ends, 0] = (x[ends, 0] > 0).astype(float)
    return Batch(x, d, b.offsets)


def _all_correct_numpy(net, batch, tol):
    """Independent check with the plain NumPy forward pass, sequence by sequence."""
    for i in range(len(batch)):
        x, d = batch[i]
        if not abs(forward(net, x)[-1, 0] - d[-1, 0]) < tol:
            return False
    return True


def test_guess_solves_an_easy_task_and_the_net_really_passes(rng):
    arch = RNNArchitecture(1, 1, 1, "layered", bias=True)
    batch = _last_sign_task(rng)
    res = guess(arch, EndTest(batch, 0.2), np.random.default_rng(3), 20_000)
    assert isinstance(res, GuessResult) and res.solved and 1 <= res.guesses <= 20_000
    net = res.net
    assert isinstance(net, RNN) and net.arch == arch
    w = net.W[net.mask]
    assert np.all((w >= -100.0) & (w <= 100.0)) and np.all(net.W[~net.mask] == 0.0)
    assert _all_correct_numpy(net, batch, 0.2)
    # and on fresh data (the task is a function of the last input only)
    assert _all_correct_numpy(net, _last_sign_task(np.random.default_rng(99), 200), 0.2)


def test_guess_draws_as_documented_and_is_deterministic():
    arch = RNNArchitecture(1, 1, 2, "full", bias=True)
    mask = arch.mask().copy()
    mask[0, arch.col_bias] = False
    calls = []

    def test(net):
        calls.append(net.W.copy())
        return len(calls) == 5

    res = guess(arch, test, np.random.default_rng(11), 100, -3.0, 2.0, mask=mask)
    assert res.solved and res.guesses == 5 and len(calls) == 5
    ref = np.random.default_rng(11)
    n = int(mask.sum())
    for W in calls:                                       # one rng.uniform(low, high, n) per guess
        np.testing.assert_array_equal(W[mask], ref.uniform(-3.0, 2.0, n))
        assert np.all(W[~mask] == 0.0)
    np.testing.assert_array_equal(res.net.W, calls[-1])
    np.testing.assert_array_equal(res.net.mask, mask)
    again = guess(arch, lambda net, c=[0]: (c.__setitem__(0, c[0] + 1) or c[0] == 5),
                  np.random.default_rng(11), 100, -3.0, 2.0, mask=mask)
    np.testing.assert_array_equal(again.net.W, res.net.W)


def test_guess_result_net_is_independent_of_what_the_test_does():
    arch = RNNArchitecture(1, 1, 1, "elman", bias=False)

    def vandal(net):
        W = net.W.copy()
        net.W[net.mask] = 12345.0
        return bool(W[net.mask][0] > 0)

    res = guess(arch, vandal, np.random.default_rng(0), 100)
    assert res.solved and res.net.W[res.net.mask][0] > 0 and np.all(np.abs(res.net.W) <= 100)


def test_guess_respects_max_guesses():
    arch = RNNArchitecture(1, 1, 1, "full", bias=True)
    calls = [0]
    seen = []

    def never(net):
        calls[0] += 1
        return False

    res = guess(arch, never, np.random.default_rng(1), 37, progress=seen.append, progress_every=10)
    assert res == GuessResult(False, 37, None) and calls[0] == 37
    assert seen == [10, 20, 30]


@pytest.mark.parametrize("kw,err", [
    ({"max_guesses": 0}, ValueError), ({"max_guesses": -3}, ValueError), ({"max_guesses": 2.5}, ValueError),
    ({"max_guesses": True}, ValueError), ({"low": 1.0, "high": 1.0}, ValueError),
    ({"low": 2.0, "high": -2.0}, ValueError), ({"high": float("inf")}, ValueError),
    ({"low": float("nan")}, ValueError), ({"rng": np.random.RandomState(0)}, TypeError),
    ({"test": "not callable"}, TypeError), ({"arch": "A1"}, TypeError), ({"progress": 3}, TypeError),
    ({"progress_every": 0}, ValueError), ({"mask": np.ones((2, 6), dtype=bool)}, ValueError),
])
def test_guess_validates(kw, err):
    args = {"arch": RNNArchitecture(1, 1, 1, "elman"), "test": lambda net: True,
            "rng": np.random.default_rng(0), "max_guesses": 10, **kw}
    with pytest.raises(err):
        guess(**args)


@pytest.mark.parametrize("max_wrong,stages,n", [(0, None, 3), (0, (1, 2), 4), (1, None, 8), (3, None, 8),
                                                (2, (1, 2, 3, 5, 7, 50), 8)])
def test_end_test_verdict_equals_running_the_whole_batch(max_wrong, stages, n, rng):
    cfg = GuessConfig()
    arch, mask = cfg.architecture(), cfg.mask()
    batch = two_sequence(rng, 12, 2, n, input_noise=True)
    t = EndTest(batch, 0.5, max_wrong, stages=stages)
    ends = batch.end_indices()
    verdicts = []
    for _ in range(500):
        W = np.zeros((arch.n_units, arch.n_src))
        W[mask] = rng.uniform(-100, 100, mask.sum())
        net = RNN(arch, W, mask)
        wrong = ~(np.abs(predict_rnn(net, batch)[ends, 0] - batch.targets[ends, 0]) < 0.5)
        verdicts.append(t(net))
        assert verdicts[-1] == (wrong.sum() <= max_wrong)
    assert any(verdicts) and not all(verdicts), "both verdicts occur"
    assert t.calls == 500 and 500 <= t.sequences <= 500 * n


def test_end_test_validates(rng):
    b = two_sequence(rng, 10, 1, 5)
    with pytest.raises(ValueError, match="target at its last step"):
        EndTest(Batch(b.inputs, np.full_like(b.targets, np.nan), b.offsets), 0.2)
    for kw in ({"tol": 0.0}, {"tol": float("nan")}, {"max_wrong": -1}, {"stages": (0,)}):
        with pytest.raises(ValueError):
            EndTest(b, **{"tol": 0.2, **kw})
    with pytest.raises(TypeError):
        EndTest("batch", 0.2)


# ---- the paper-level protocol --------------------------------------------------------------------

def test_config_architectures_and_readings():
    c = GuessConfig()
    assert (c.task, c.T, c.N, c.arch, c.low, c.high) == ("3a", 100, 3, "A1", -100.0, 100.0)
    assert (c.tolerance, c.wrong_allowed, c.set_size) == (0.2, 0, 256)
    assert (GuessConfig(task="3b").wrong_allowed, GuessConfig(task="parity").tolerance,
            GuessConfig(task="parity").set_size) == (5, 0.1, 100)
    assert [GuessConfig(arch=a).n_weights() for a in ("A1", "A2", "A2-noself")] == [7, 52, 42]
    a, m = c.architecture(), c.mask()
    H = a.hidden
    out_row = m[H]
    assert not out_row[a.col_bias], "A1: the output has no bias"
    assert out_row[a.cols_now][:H].all() and not out_row[a.cols_prev][:H].any(), \
        "the output reads the hidden units at the same step"
    assert m[:H, a.col_bias].all() and m[:H][:, a.cols_prev].all()
    assert GuessConfig(output_bias=True).n_weights() == 8
    for bad in ({"task": "3c"}, {"arch": "A3"}, {"T": 3, "N": 3}, {"low": 5.0, "high": -5.0},
                {"min_length": 9, "max_length": 8}, {"parity_noise": 1.5}, {"max_guesses": 0},
                {"tol": -0.1}, {"hidden": 0}, {"confirm": 1}, {"output_bias": "no"}, {"n_set": 0}):
        with pytest.raises(ValueError):
            GuessConfig(**bad)


def test_same_step_architecture_kernel_matches_numpy(rng):
    """The guessing nets use hidden(t) -> output(t) connections; compiled and plain forward agree."""
    cfg = GuessConfig(arch="A2", hidden=3)
    arch, mask = cfg.architecture(), cfg.mask()
    W = np.zeros((arch.n_units, arch.n_src))
    W[mask] = rng.uniform(-3, 3, mask.sum())
    net = RNN(arch, W, mask)
    b = parity(rng, 6, 3, 8, noise=0.1)
    Y = predict_rnn(net, b)
    for i in range(len(b)):
        x, _ = b[i]
        np.testing.assert_allclose(Y[b.offsets[i]:b.offsets[i + 1]], forward(net, x), rtol=0, atol=1e-13)


def test_a1_can_represent_parity():
    """A hand-built A1 net computes parity: h(t) = [x(t) = +1 and o(t-1) = 1], o(t) = x(t) XOR o(t-1)."""
    cfg = GuessConfig(task="parity")
    arch, mask = cfg.architecture(), cfg.mask()
    W = np.zeros((arch.n_units, arch.n_src))
    x_, h_prev, o_prev, h_now, bias = 0, 1, 2, 3, arch.col_bias
    W[0, [x_, o_prev, bias]] = [20.0, 40.0, -50.0]               # h = AND(x = +1, o(t-1) = 1)
    W[1, [x_, o_prev, h_now]] = [20.0, 40.0, -80.0]              # o = x XOR o(t-1), no bias
    assert not np.any(W.astype(bool) & ~mask) and W[0, h_prev] == 0.0
    net = RNN(arch, W, mask)
    b = parity(np.random.default_rng(5), 300)
    assert EndTest(b, 0.1)(net)


def test_run_guessing_solves_3a_and_the_net_generalises():
    cfg = GuessConfig(task="3a", T=20, N=3, max_guesses=60_000)
    res = run_guessing(cfg, trials=2, seed=4)
    assert [r["trial"] for r in res] == [0, 1]
    solved = [r for r in res if r["solved"]]
    assert solved, res
    for r in solved:
        assert 1 <= r["guesses"] <= cfg.max_guesses and r["weights"] == 7 and r["sequences"] >= 2 * 256
        assert 0.0 <= r["test_fraction"] <= 0.01
        net = cfg.net_from(r)
        fresh = two_sequence(np.random.default_rng(12345), 20, 3, 1000)
        ends = fresh.end_indices()
        wrong = ~(np.abs(predict_rnn(net, fresh)[ends, 0] - fresh.targets[ends, 0]) < 0.2)
        assert wrong.mean() <= 0.01
        assert _all_correct_numpy(net, fresh[:30], 0.2) == (not wrong[:30].any())
    s = summarize_guessing(res)
    assert s["trials"] == 2 and s["solved"] == len(solved) and s["guesses_mean"] == \
        np.mean([r["guesses"] for r in solved])


def test_run_guessing_is_deterministic_and_trials_independent():
    cfg = GuessConfig(task="parity", min_length=5, max_length=9, max_guesses=3000)
    a = run_guessing(cfg, 3, seed=21)
    b = run_guessing(cfg, 3, seed=21)
    assert _strip(a) == _strip(b)
    assert _strip(run_guessing(cfg, 1, seed=21)) == _strip(a[:1]), "trial k does not depend on the count"
    assert _strip(run_guessing(cfg, 1, seed=22)) != _strip(a[:1])
    seen = []
    run_guessing(cfg, 2, seed=21, progress=lambda k, r: seen.append(k))
    assert seen == [0, 1]


def test_run_guessing_unsolvable_cap_and_validation():
    cfg = GuessConfig(task="3a", T=20, N=3, low=-1e-3, high=1e-3, max_guesses=25)   # outputs stay ~0.5
    (r,) = run_guessing(cfg, 1, seed=0)
    assert not r["solved"] and r["guesses"] == 25 and "W" not in r and "test_fraction" not in r
    s = summarize_guessing([r])
    assert s["solved"] == 0 and s["guesses_mean"] is None and s["success_rate"] == 0.0
    for bad in ({"trials": 0}, {"seed": -1}, {"trials": 1.5}):
        with pytest.raises(ValueError):
            run_guessing(cfg, **{"trials": 1, "seed": 0, **bad})
    with pytest.raises(TypeError):
        run_guessing({"task": "3a"}, 1, 0)
    with pytest.raises(ValueError):
        summarize_guessing([])


def test_summarize_guessing_figures():
    rs = [{"solved": True, "guesses": g, "seconds": 1.0, "rejected": 0, "sequences": 10 * g,
           "test_fraction": 0.0} for g in (10, 20, 60)]
    rs.append({"solved": False, "guesses": 1000, "seconds": 7.0, "rejected": 2, "sequences": 5000})
    s = summarize_guessing(rs)
    assert (s["trials"], s["solved"], s["success_rate"]) == (4, 3, 0.75)
    assert (s["guesses_mean"], s["guesses_median"], s["guesses_min"], s["guesses_max"]) == (30, 20, 10, 60)
    assert math.isclose(s["guesses_per_second"], 1090 / 10.0) and s["rejected"] == 2


def test_reference_figures():
    assert reference(GuessConfig(task="parity"))["guesses_mean"] == 2906
    assert reference(GuessConfig(task="parity", arch="A2"))["guesses_mean"] == 2797
    assert reference(GuessConfig(task="parity", arch="A2-noself"))["guesses_mean"] == 250
    assert reference(GuessConfig(task="parity", parity_noise=0.2))["guesses_mean"] == 41_400
    assert reference(GuessConfig(task="parity", min_length=5))["guesses_mean"] is None
    assert reference(GuessConfig(task="parity", output_bias=True))["guesses_mean"] is None
    r = reference(GuessConfig(task="3a"))
    assert r["guesses_mean"] is None and "no figure" in r["paper"]
    assert COMPANION_FIGURES[("latch I", None, False)] == 6 and COMPANION_FIGURES[("latch II", None, False)] == 22


def test_guess_command_reports_trials_until_solved(tmp_path):
    """`lstm1997 guess` through the installed command: a short 3a run, JSON, and bad input refused."""
    import json
    import pathlib
    import subprocess
    import sys

    exe = pathlib.Path(sys.executable).with_name("lstm1997")
    out = tmp_path / "g.json"
    p = subprocess.run([str(exe), "guess", "3a", "--T", "20", "--trials", "3", "--seed", "1", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "guesses until solved" in p.stdout and "paper: guessing solves 3a" in p.stdout
    d = json.loads(out.read_text())
    assert d["summary"]["trials"] == 3 and len(d["trials"]) == 3
    solved = [t["guesses"] for t in d["trials"] if t["solved"]]
    assert d["summary"]["solved"] == len(solved) >= 1 and d["summary"]["guesses_min"] == min(solved)
    for args in (["3a", "--trials", "0"], ["3a", "--T", "0"], ["3b", "--max-guesses", "0"], ["xor"]):
        p = subprocess.run([str(exe), "guess", *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "Traceback" not in p.stderr, (args, p.stderr)
