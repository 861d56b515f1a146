"""Table 1 and 2's baselines as table rows: the nets the paper ran itself (RTRL / BPTT on Table 2's
one-hidden-unit net), and the rows it only cites (Table 1's RTRL, ELM, RCC; Table 2's chunker CH)."""

import io
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from lstm1997.experiments import TABLES, lookup, table_rows
from lstm1997.experiments.protocol import TrialRun
from lstm1997.io import load_model, save_model
from lstm1997.learners import RTRL, BPTTRNN
from lstm1997.rnn import RNN, RNNArchitecture, init_rnn, predict_rnn
from lstm1997.tasks.long_lag import noise_free

EXE = pathlib.Path(sys.executable).with_name("lstm1997")


def test_table2_rows_are_the_papers_with_its_weight_counts():
    exp, rows = table_rows("2")
    got = [(r.label, r.cited is not None, r.paper["weights"]) for r in rows]
    assert got == [("2a RTRL p=4 lr=1", False, 36), ("2a RTRL p=4 lr=4", False, 36), ("2a RTRL p=4 lr=10", False, 36),
                   ("2a RTRL p=10", False, 144), ("2a RTRL p=100", False, 10404), ("2a BPTT p=100", False, 10404),
                   ("2a CH p=100", True, 10506), ("2a LSTM p=100", False, 10504)]
    for r in rows:
        if not r.cited:
            cfg = exp.config_for(r)
            assert cfg.architecture().n_weights == r.paper["weights"], r.label
            assert cfg.max_sequences == 5_000_000 and exp.trials_for(r) == 18
    for r in rows[:6]:
        tr = exp.make_trial(exp.config_for(r))
        arch = tr.arch
        assert isinstance(arch, RNNArchitecture) and arch.hidden == 1 and not arch.bias and arch.init_range == 0.2
        assert isinstance(tr.learner, RTRL if "RTRL" in r.label else BPTTRNN)
        assert tr.learner.lr == r.params["lr"]
    assert [r.paper["success_rate"] for r in rows[:3]] == [0.78, 0.56, 0.22]


def test_table1_cites_the_literature_rows_and_runs_only_lstm():
    exp, rows = table_rows("1")
    cited = [r.label for r in rows if r.cited]
    assert cited == ["RTRL 3 hidden", "RTRL 12 hidden", "ELM 15 hidden", "RCC 7-9 hidden"]
    assert all(r.params for r in rows if not r.cited)


def test_a_baseline_trial_learns_p4_and_its_final_net_really_passes_the_test():
    """RTRL at p=4, lr=10 (the paper's fastest row): run until solved or 400k sequences; a solved trial's
    net, rebuilt from the stored model bytes, predicts both sequences within 0.25 at every step."""
    exp, fixed = lookup("2a")
    solved = None
    for seed in range(6):
        cfg = exp.config_for(None, **fixed, method="RTRL", p=4, lr=10.0, max_sequences=400_000)
        run = TrialRun(exp.make_trial(cfg), seed)
        run.advance()
        res, blob = run.outcome()
        if res["success"]:
            solved = (res, blob)
            break
    assert solved is not None, "no RTRL p=4 trial solved 2a within 400k sequences on 6 seeds"
    res, blob = solved
    net = load_model(io.BytesIO(blob))
    assert isinstance(net, RNN) and net.n_weights == 36
    pool = noise_free(np.random.default_rng(0), 4, 64)
    Y = predict_rnn(net, pool)
    err = np.abs(Y - pool.targets)[~np.isnan(pool.targets)]
    assert err.max() < 0.25
    assert res["sequences"] % 1000 == 0     # tested every 1000 sequences


def test_rnn_model_file_round_trips_and_is_refused_where_an_lstm_is_needed(tmp_path):
    arch = RNNArchitecture(n_in=5, n_out=5, hidden=1, kind="layered", init_range=0.2)
    net = init_rnn(arch, np.random.default_rng(1))
    save_model(net, tmp_path / "rnn.npz")
    back = load_model(tmp_path / "rnn.npz")
    assert isinstance(back, RNN) and back.arch == arch
    np.testing.assert_array_equal(back.W, net.W)
    np.testing.assert_array_equal(back.mask, net.mask)
    with np.load(tmp_path / "rnn.npz") as z:
        assert str(z["format"]) == "lstm1997-rnn-model" and json.loads(str(z["architecture"]))["hidden"] == 1
    # lstm1997 predict takes it; fit --init refuses it with one line
    from lstm1997 import Batch
    from lstm1997.io import save_data

    batch = noise_free(np.random.default_rng(2), 4, 3)
    save_data(tmp_path / "d.npz", Batch(batch.inputs, batch.targets, batch.offsets))
    p = subprocess.run([str(EXE), "predict", tmp_path / "rnn.npz", tmp_path / "d.npz", "--out", tmp_path / "o.npz"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with np.load(tmp_path / "o.npz") as z:
        np.testing.assert_allclose(z["outputs"], predict_rnn(net, batch))
    p = subprocess.run([str(EXE), "fit", tmp_path / "d.npz", "--init", tmp_path / "rnn.npz", "--out",
                        tmp_path / "m.npz"], capture_output=True, text=True)
    assert p.returncode == 2 and "baseline net" in p.stderr and "Traceback" not in p.stderr


def test_reproduce_prints_cited_rows_and_runs_only_the_others(tmp_path):
    db = tmp_path / "s.sqlite"
    p = subprocess.run([str(EXE), "reproduce", "2", "--rows", "2a RTRL p=4 lr=10,2a CH p=100", "--trials", "2",
                        "--max-sequences", "3000", "--db", db, "--json", tmp_path / "t.json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "cited, not run" in p.stdout and "2a RTRL p=4 lr=10" in p.stdout and "32,400" in p.stdout
    rows = json.loads((tmp_path / "t.json").read_text())["rows"]
    assert [r["row"] for r in rows] == ["2a RTRL p=4 lr=10", "2a CH p=100"]
    assert rows[0]["ours"]["trials"] == 2 and "ours" not in rows[1] and rows[1]["cited"]
    st = subprocess.run([str(EXE), "status", "--db", db], capture_output=True, text=True)
    assert "2a RTRL p=4 lr=10" in st.stdout and "CH" not in st.stdout


@pytest.mark.parametrize("table", ["1", "2"])
def test_list_marks_cited_rows(table):
    p = subprocess.run([str(EXE), "list"], capture_output=True, text=True)
    assert p.returncode == 0
    _, rows = TABLES[table]
    for r in rows:
        line = next(ln for ln in p.stdout.splitlines() if f" {r.label} " in ln)
        assert ("cited, not run" in line) == bool(r.cited), line
