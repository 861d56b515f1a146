"""The later cell variants on the paper's tasks: `--variant` changes the cell and nothing else, is part of a
trial's identity, is refused where it is not defined, and a variant trial resumes bit for bit."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from lstm1997.experiments import TABLES, TrialRun, open_trial, trial_args, variant_of
from lstm1997.experiments.readings import build_trial, weight_count
from lstm1997.experiments.variants import FORGET_BIAS, VARIANTS, apply_variant, check_variant
from lstm1997.network import recommended_forget_gate_bias


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lstm1997", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def _row(table, i=0):
    exp, rows = TABLES[table]
    return exp, exp.config_for(rows[i])


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("table,i", [("1", 4), ("3", 1), ("7", 0), ("9", 0), ("9", 1), ("4", 0)])
def test_a_variant_changes_the_cell_and_nothing_else(variant, table, i):
    exp, cfg = _row(table, i)
    base, tr = build_trial(exp, cfg), build_trial(exp, cfg, (), variant)
    fg, ph = VARIANTS[variant]
    assert (tr.arch.forget_gate, tr.arch.peepholes) == (fg, ph)
    assert dataclasses.replace(tr.arch, forget_gate=False, peepholes=False, forget_gate_bias=None,
                               bias=base.arch.bias) == base.arch
    assert (tr.lr, tr.tol, tr.max_sequences, tr.chunk, tr.per_step, tr.delta) == \
        (base.lr, base.tol, base.max_sequences, base.chunk, base.per_step, base.delta)
    assert [s.name for s in tr.stages] == [s.name for s in base.stages]
    rng = np.random.default_rng(5)
    b1, b2 = base.sample(np.random.default_rng(5), 3), tr.sample(rng, 3)
    assert np.array_equal(b1.targets, b2.targets, equal_nan=True), "the task is the same"
    if fg:
        want = ((FORGET_BIAS[variant],) * tr.arch.blocks if variant in FORGET_BIAS
                else recommended_forget_gate_bias(tr.arch.blocks))
        assert tr.arch.forget_gate_bias == want
        net = (tr.init_net or __import__("lstm1997").network.init)(tr.arch, np.random.default_rng(0))
        assert np.array_equal(net.W_h[tr.arch.rows_phi, -1], want)
    extra = weight_count(exp, cfg, (), variant) - weight_count(exp, cfg)
    a = base.arch
    in_gate_sources = int(a.mask_h()[a.rows_in][0, :-1].sum()) + 1  # a forget gate sees what an input gate sees
                                                                      # and always has its bias,
    B = a.blocks                                                      # and, like every gate under connectivity
    recurrent = a.connectivity == "F"                                 # F, is a source of every hidden unit
    forget = B * in_gate_sources + (B * (B + a.n_hidden) if recurrent else 0)
    gate_kinds = 1 + (1 if a.output_gates else 0) + (1 if fg else 0)
    assert extra == (forget if fg else 0) + (a.n_cells * gate_kinds if ph else 0)


def test_the_variant_is_part_of_a_trials_identity_and_the_1997_cell_is_unchanged():
    exp, cfg = _row("7")
    assert trial_args(exp, cfg) == trial_args(exp, cfg, (), None) == trial_args(exp, cfg, (), "1997")
    assert "variant" not in trial_args(exp, cfg)
    a = trial_args(exp, cfg, (), "forget")
    assert a["variant"] == "forget" and variant_of(a) == "forget" and variant_of(trial_args(exp, cfg)) is None
    assert open_trial(a, 0).net.arch.forget_gate and not open_trial(trial_args(exp, cfg), 0).net.arch.forget_gate
    with pytest.raises(ValueError, match="unknown cell variant"):
        check_variant("lstm2000")


def test_a_variant_is_refused_where_it_is_not_defined():
    exp, rows = TABLES["2"]
    lstm_row = next(r for r in rows if "LSTM" in r.label)
    rtrl_row = next(r for r in rows if "RTRL p=4" in r.label)
    with pytest.raises(ValueError, match="sequential network construction"):
        trial_args(exp, exp.config_for(lstm_row), (), "forget")
    with pytest.raises(ValueError, match="LSTM rows only"):
        trial_args(exp, exp.config_for(rtrl_row), (), "peepholes")
    # the same 2a row without sequential construction (a reading) takes a variant
    tr = build_trial(exp, exp.config_for(lstm_row), ("2a-cell-from-start",), "forget+peepholes")
    assert tr.arch.forget_gate and tr.arch.peepholes


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_variant_trial_paused_and_resumed_gives_the_uninterrupted_result(variant):
    exp, cfg = _row("7")
    cfg = dataclasses.replace(cfg, T=20, max_sequences=3000)
    args = trial_args(exp, cfg, ("cells-input-only",), variant)
    whole = open_trial(args, 3)
    whole.advance()
    run = open_trial(args, 3)
    n = [0]

    def pause(p):
        n[0] += 1
        return n[0] % 2 == 1

    while not run.advance(pause):
        run = open_trial(args, 3, run.checkpoint())
    a, b = whole.result(), run.result()
    assert (a.status, a.sequences, a.steps, a.test) == (b.status, b.sequences, b.steps, b.test)
    for k, v in whole.net.arrays().items():
        assert np.array_equal(v, run.net.arrays()[k]), k
    assert isinstance(run, TrialRun) and run.net.arch.peepholes == VARIANTS[variant][1]
    m = whole.net.mask_h[whole.net.arch.rows_c, whole.net.arch.n_in:whole.net.arch.n_in + whole.net.arch.n_hidden]
    assert not m.any(), "the reading's mask holds with the variant"


def test_run_and_reproduce_take_a_variant(tmp_path):
    out = tmp_path / "r.json"
    p = _cli("run", "adding", "--variant", "forget", "--max-sequences", 20, "--json", out)
    assert p.returncode == 0, p.stderr
    assert "cell: forget" in p.stdout and "135 weights, the 1997 cell's 93" in p.stdout
    d = json.loads(out.read_text())
    assert d["variant"] == "forget" and d["weights"] == 135
    db, js = tmp_path / "s.sqlite", tmp_path / "t.json"
    for extra in ([], ["--variant", "peepholes"]):
        p = _cli("reproduce", "7", "--rows", "1", "--trials", 1, "--max-sequences", 20, "--db", db, "--jobs", 1,
                 "--json", js, *extra)
        assert p.returncode == 0, p.stderr
        assert "1 trial(s) run now, 0 taken from" in p.stdout, "a variant's trials are not the 1997 cell's"
    assert "cell: peepholes" in p.stdout and "T=100 101 vs 93" in p.stdout
    row = json.loads(js.read_text())["rows"][0]
    assert row["variant"] == "peepholes" and row["weights"] == 101
    s = _cli("status", "--db", db)
    assert "T=100 <peepholes>" in s.stdout and s.stdout.count("T=100") == 2, s.stdout
    bad = _cli("run", "2a", "--variant", "forget", "--max-sequences", 10)
    assert bad.returncode == 2 and "sequential network construction" in bad.stderr and "Traceback" not in bad.stderr
    bad = _cli("run", "adding", "--variant", "lstm2000")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
