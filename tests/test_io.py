"""Model and data files (lstm1997.io): exact round trips, exact paths, and refusal of bad files."""

from __future__ import annotations

import json
import os
import pathlib
import re
import zipfile

import numpy as np
import pytest

import lstm1997
from lstm1997 import Architecture, Batch
from lstm1997.io import FormatError, load_data, load_model, save_data, save_model, source_names

ARCHS = {
    # connectivity F, bias on the gates only, with per-block gate-bias overrides
    "F_gate_bias": Architecture(n_in=3, n_out=2, blocks=2, cells=2, bias=("in_gate", "out_gate"),
                                in_gate_bias=(-1.0, -2.0), out_gate_bias=(-2.0, -4.0)),
    # connectivity B, no output gates, outputs see the inputs
    "B_no_out_gates": Architecture(n_in=2, n_out=1, blocks=3, cells=1, connectivity="B",
                                   output_gates=False, outputs_see_inputs=True,
                                   bias=("in_gate", "cell", "output")),
    # two conventional hidden units, other squashing functions
    "hidden2": Architecture(n_in=4, n_out=3, blocks=1, cells=3, hidden=2, g="g1", h="id",
                            init_range=0.2),
}


def _net(key="F_gate_bias", seed=0):
    return lstm1997.init(ARCHS[key], np.random.default_rng(seed))


def _arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _write_npz(path, arrays: dict) -> None:
    with open(path, "wb") as fh:  # a file object, so that the name is kept as is
        np.savez(fh, **arrays)


def _refused(fn, path, *args, match=None, **kw) -> str:
    """Call ``fn(path)``; it must raise FormatError with a one-line message naming the file."""
    with pytest.raises(FormatError) as ei:
        fn(path, *args, **kw)
    msg = str(ei.value)
    assert pathlib.Path(path).name in msg
    assert "\n" not in msg
    if match is not None:
        assert re.search(match, msg), msg
    return msg


# ---- models: round trip --------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(ARCHS))
def test_model_round_trip_is_exact(tmp_path, key):
    net = _net(key, seed=3)
    p = tmp_path / "model.npz"
    save_model(net, p)
    back = load_model(p)
    assert back.arch == net.arch
    assert back.arch.to_json() == net.arch.to_json()
    assert back.W_h.dtype == np.float64 and back.W_k.dtype == np.float64
    # bit for bit
    assert back.W_h.tobytes() == net.W_h.tobytes()
    assert back.W_k.tobytes() == net.W_k.tobytes()
    np.testing.assert_array_equal(back.mask_h, net.mask_h)
    np.testing.assert_array_equal(back.mask_k, net.mask_k)
    x = np.random.default_rng(1).uniform(-1, 1, size=(7, net.arch.n_in))
    np.testing.assert_array_equal(lstm1997.forward(back, x), lstm1997.forward(net, x))


@pytest.mark.parametrize("key", sorted(ARCHS))
def test_model_file_is_self_describing(tmp_path, key):
    net = _net(key)
    p = tmp_path / "m.npz"
    save_model(net, p)
    d = _arrays(p)
    a = net.arch
    assert str(d["format"][()]) == "lstm1997-model" and d["format"].ndim == 0
    assert int(d["format_version"]) == 1
    assert Architecture.from_dict(json.loads(str(d["architecture"][()]))) == a
    np.testing.assert_array_equal(d["w_in"], net.w_in)
    np.testing.assert_array_equal(d["w_out"], net.w_out)
    np.testing.assert_array_equal(d["w_c"], net.w_c)
    np.testing.assert_array_equal(d["w_hidden"], net.w_hidden)
    np.testing.assert_array_equal(d["w_k"], net.w_k)
    assert d["w_out"].shape == (a.n_out_gates, a.n_src)
    np.testing.assert_array_equal(
        np.concatenate([d["mask_in"], d["mask_out"], d["mask_c"], d["mask_hidden"]]), a.mask_h())
    np.testing.assert_array_equal(d["mask_k"], a.mask_k())
    for k in ("mask_in", "mask_out", "mask_c", "mask_hidden", "mask_k"):
        assert d[k].dtype == np.bool_
    assert d["sources_h"].tolist() == source_names(a)[0]
    assert d["sources_k"].tolist() == source_names(a)[1]


def test_source_names_follow_the_layout():
    h, k = source_names(ARCHS["F_gate_bias"])
    assert h == ["x0", "x1", "x2", "in_gate0(t-1)", "in_gate1(t-1)", "out_gate0(t-1)",
                 "out_gate1(t-1)", "cell0.0(t-1)", "cell0.1(t-1)", "cell1.0(t-1)", "cell1.1(t-1)", "bias"]
    assert k == ["cell0.0", "cell0.1", "cell1.0", "cell1.1", "bias"]
    h, k = source_names(ARCHS["B_no_out_gates"])
    assert h == ["x0", "x1", "in_gate0(t-1)", "in_gate1(t-1)", "in_gate2(t-1)",
                 "cell0.0(t-1)", "cell1.0(t-1)", "cell2.0(t-1)", "bias"]
    assert k == ["x0", "x1", "cell0.0", "cell1.0", "cell2.0", "bias"]
    h, k = source_names(ARCHS["hidden2"])
    assert h[-3:] == ["hidden0(t-1)", "hidden1(t-1)", "bias"]
    assert k == ["cell0.0", "cell0.1", "cell0.2", "hidden0", "hidden1", "bias"]


@pytest.mark.parametrize("fname", ["weights", "weights.npz", "weights.model", "w.b.npz"])
def test_model_lands_at_the_exact_path(tmp_path, fname):
    net = _net()
    p = tmp_path / fname
    save_model(net, str(p))
    assert sorted(os.listdir(tmp_path)) == [fname]  # no ".npz" added, no temp file left
    assert load_model(str(p)).W_h.tobytes() == net.W_h.tobytes()


def test_save_overwrites_atomically_and_cleans_up_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "m.npz"
    a, b = _net(seed=1), _net(seed=2)
    save_model(a, p)
    save_model(b, p)  # overwrite
    assert load_model(p).W_h.tobytes() == b.W_h.tobytes()

    def boom(*args, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(RuntimeError):
        save_model(a, p)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.npz"]  # old file intact, no temp file left
    assert load_model(p).W_h.tobytes() == b.W_h.tobytes()


def test_save_model_refuses_non_finite_and_non_models(tmp_path):
    net = _net()
    net.W_h[0, 0] = np.nan
    with pytest.raises(ValueError):
        save_model(net, tmp_path / "m.npz")
    with pytest.raises(TypeError):
        save_model("not a net", tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


# ---- models: refusing bad files ------------------------------------------------------------

@pytest.fixture
def good(tmp_path):
    """The arrays of a valid model file, and a fresh path to write a modified copy to."""
    p = tmp_path / "good.npz"
    save_model(_net(), p)
    return _arrays(p), tmp_path / "bad_model.npz"


def test_missing_file(tmp_path):
    _refused(load_model, tmp_path / "nothere.npz", match="no such file")


def test_text_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a model\n")
    _refused(load_model, p, match="not a NumPy .npz archive")


def test_empty_file_and_directory(tmp_path):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    _refused(load_model, p, match="not a NumPy .npz archive")
    d = tmp_path / "adir.npz"
    d.mkdir()
    _refused(load_model, d)


def test_truncated_file(tmp_path, good):
    p = tmp_path / "good.npz"
    q = tmp_path / "truncated.npz"
    q.write_bytes(p.read_bytes()[:200])
    _refused(load_model, q)


def test_zip_that_is_not_npz(tmp_path):
    p = tmp_path / "archive.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "just a zip")
    _refused(load_model, p, match="not a NumPy array")


def test_npy_file(tmp_path):
    p = tmp_path / "single.npy"
    np.save(p, np.zeros(3))
    _refused(load_model, p, match=r"\.npy")


def test_npz_without_format(tmp_path):
    p = tmp_path / "foreign.npz"
    _write_npz(p, {"a": np.zeros(3)})
    _refused(load_model, p, match="not a lstm1997 model file \\(missing key 'format'")


def test_wrong_format_string(good):
    d, p = good
    d["format"] = np.array("someone-else")
    _write_npz(p, d)
    _refused(load_model, p, match="not a lstm1997 model file .*'someone-else'")


def test_wrong_format_type(good):
    d, p = good
    d["format"] = np.array([1, 2])
    _write_npz(p, d)
    _refused(load_model, p, match="'format'")


def test_data_file_given_to_load_model(tmp_path):
    p = tmp_path / "data.npz"
    save_data(p, Batch.from_sequences([np.zeros((2, 1))], [np.zeros((2, 1))]))
    _refused(load_model, p, match="data file")


@pytest.mark.parametrize("key", ["format_version", "architecture", "w_in", "mask_k", "w_k"])
def test_missing_keys(good, key):
    d, p = good
    del d[key]
    _write_npz(p, d)
    _refused(load_model, p, match=f"missing key.*'{key}'")


def test_unsupported_version(good):
    d, p = good
    d["format_version"] = np.array(2)
    _write_npz(p, d)
    _refused(load_model, p, match="version 2 is not supported")


@pytest.mark.parametrize("arch_text, match", [
    ("{not json", "invalid architecture JSON"),
    ("[1, 2]", "JSON object"),
    ('{"n_in": 1}', "invalid architecture"),  # missing fields
    ('{"n_in": 0, "n_out": 1, "blocks": 1}', "n_in must be a positive integer"),
    ('{"n_in": 1.5, "n_out": 1, "blocks": 1}', "n_in must be"),
    ('{"n_in": 1, "n_out": 1, "blocks": 1, "output_gates": "no"}', "output_gates must be true or false"),
    ('{"n_in": 1, "n_out": 1, "blocks": 1, "colour": "red"}', "unknown architecture field"),
    ('{"n_in": 1, "n_out": 1, "blocks": 1, "g": ["g2"]}', "invalid architecture"),
    ('{"n_in": 1, "n_out": 1, "blocks": 1, "init_range": NaN}', "init_range"),
])
def test_invalid_architecture(good, arch_text, match):
    d, p = good
    d["architecture"] = np.array(arch_text)
    _write_npz(p, d)
    _refused(load_model, p, match=match)


def test_architecture_of_other_size_gives_shape_error(good):
    d, p = good
    a = ARCHS["F_gate_bias"].to_dict()
    a["blocks"] = 3
    a["in_gate_bias"] = a["out_gate_bias"] = None
    d["architecture"] = np.array(json.dumps(a))
    _write_npz(p, d)
    _refused(load_model, p, match="'w_in' has shape")


def _touch_marker(path):  # what the pickled payload would do if it were ever unpickled
    pathlib.Path(path).write_text("executed")
    return 0


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (_touch_marker, (self.marker,))


@pytest.mark.parametrize("key", ["architecture", "w_in", "extra"])
def test_object_array_is_refused_without_running_it(tmp_path, good, key):
    d, p = good
    marker = tmp_path / "marker"
    obj = np.empty(1, dtype=object)
    obj[0] = _Payload(marker)
    d[key] = obj
    _write_npz(p, d)  # np.savez pickles object arrays
    _refused(load_model, p, match="pickled Python objects")
    assert not marker.exists()
    _refused(load_data, p, match="pickled Python objects")
    assert not marker.exists()
    # the payload is live: loading with pickles allowed would have run it
    with np.load(p, allow_pickle=True) as f:
        f[key]
    assert marker.read_text() == "executed"


def test_tampered_mask(good):
    d, p = good
    d["mask_c"] = d["mask_c"].copy()
    d["mask_c"][0, -1] = not d["mask_c"][0, -1]  # cells carry no bias in this architecture
    _write_npz(p, d)
    _refused(load_model, p, match="'mask_c' disagrees with the architecture")


def test_mask_of_wrong_dtype(good):
    d, p = good
    d["mask_k"] = d["mask_k"].astype(np.int8)
    _write_npz(p, d)
    _refused(load_model, p, match="'mask_k' must be a boolean array")


def test_non_zero_weight_on_masked_position(good):
    d, p = good
    assert not d["mask_c"][1, -1]
    d["w_c"] = d["w_c"].copy()
    d["w_c"][1, -1] = 0.5
    _write_npz(p, d)
    _refused(load_model, p, match="'w_c' has a non-zero weight on an absent connection")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weight(good, bad):
    d, p = good
    d["w_k"] = d["w_k"].copy()
    d["w_k"][1, 0] = bad
    _write_npz(p, d)
    _refused(load_model, p, match="'w_k' holds NaN or inf")


def test_wrong_weight_shape_and_dtype(good):
    d, p = good
    d0 = dict(d)
    d["w_in"] = d["w_in"][:, :-1]
    _write_npz(p, d)
    _refused(load_model, p, match="'w_in' has shape")
    d = dict(d0)
    d["w_hidden"] = np.zeros((0, d0["w_in"].shape[1]), dtype="U3")
    _write_npz(p, d)
    _refused(load_model, p, match="'w_hidden' must hold real numbers")


def test_tampered_source_names(good):
    d, p = good
    d["sources_h"] = d["sources_h"][::-1].copy()
    _write_npz(p, d)
    _refused(load_model, p, match="'sources_h' does not match")


# ---- data ----------------------------------------------------------------------------------

def _batch(seed=0, n_in=2, K=3, lengths=(3, 1, 5)):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(T, n_in)) for T in lengths]
    ds = [rng.uniform(size=(T, K)) for T in lengths]
    for dd in ds:
        dd[: len(dd) - 1] = np.nan  # targets only at the last step...
    ds[0][0, 1] = 0.25  # ...and one partial target
    return Batch.from_sequences(xs, ds)


def _same_batch(a: Batch, b: Batch) -> None:
    assert a.inputs.tobytes() == b.inputs.tobytes()
    np.testing.assert_array_equal(a.targets, b.targets)  # NaN == NaN here
    assert np.array_equal(np.isnan(a.targets), np.isnan(b.targets))
    np.testing.assert_array_equal(a.offsets, b.offsets)


@pytest.mark.parametrize("fname", ["train", "train.npz"])
def test_data_round_trip_ragged(tmp_path, fname):
    b = _batch()
    p = tmp_path / fname
    save_data(p, b)
    assert os.listdir(tmp_path) == [fname]
    back = load_data(p)
    _same_batch(back, b)
    d = _arrays(p)
    np.testing.assert_array_equal(d["lengths"], [3, 1, 5])
    assert d["inputs"].shape == (9, 2) and d["targets"].shape == (9, 3)


def test_data_ragged_written_with_numpy_only(tmp_path):
    p = tmp_path / "plain.npz"
    x = np.arange(10.0).reshape(5, 2)
    t = np.full((5, 1), np.nan)
    t[[1, 4]] = [[0.0], [1.0]]
    np.savez(p, inputs=x, targets=t, lengths=np.array([2, 3], dtype=np.int32))
    b = load_data(p)
    assert len(b) == 2
    np.testing.assert_array_equal(b.inputs, x)
    np.testing.assert_array_equal(b.offsets, [0, 2, 5])
    np.testing.assert_array_equal(b[1][1], [[np.nan], [np.nan], [1.0]])


def test_padded_layout_equals_ragged(tmp_path):
    b = _batch(lengths=(4, 4, 4))
    x3 = b.inputs.reshape(3, 4, 2)
    t3 = b.targets.reshape(3, 4, 3)
    p = tmp_path / "padded.npz"
    _write_npz(p, {"inputs": x3.astype(np.float32).astype(np.float64), "targets": t3})
    q = tmp_path / "padded_exact.npz"
    _write_npz(q, {"inputs": x3, "targets": t3})
    _same_batch(load_data(q), b)
    back = load_data(p)
    assert len(back) == 3 and back.n_in == 2 and back.n_out == 3
    np.testing.assert_array_equal(back.lengths, [4, 4, 4])


def test_padded_layout_with_lengths(tmp_path):
    b = _batch(lengths=(3, 1, 5))
    x3 = np.full((3, 5, 2), np.nan)  # NaN padding is allowed and ignored
    t3 = np.full((3, 5, 3), np.inf)
    for i in range(3):
        xi, ti = b[i]
        x3[i, : len(xi)] = xi
        t3[i, : len(ti)] = ti
    p = tmp_path / "padded_lengths.npz"
    _write_npz(p, {"inputs": x3, "targets": t3, "lengths": np.array([3, 1, 5])})
    _same_batch(load_data(p), b)


def test_data_without_targets(tmp_path):
    p = tmp_path / "predict_only.npz"
    x = np.ones((4, 2))
    _write_npz(p, {"inputs": x, "lengths": np.array([1, 3])})
    _refused(load_data, p, match="missing key 'targets'")
    _refused(load_data, p, require_targets=False, match="n_out")
    b = load_data(p, require_targets=False, n_out=2)
    assert b.targets.shape == (4, 2) and np.isnan(b.targets).all()
    np.testing.assert_array_equal(b.inputs, x)
    np.testing.assert_array_equal(b.offsets, [0, 1, 4])
    with pytest.raises(ValueError):
        load_data(p, require_targets=False, n_out=0)


def test_n_out_is_checked_against_targets(tmp_path):
    p = tmp_path / "d.npz"
    save_data(p, _batch(K=3))
    assert load_data(p, n_out=3).n_out == 3
    _refused(load_data, p, n_out=2, match="3 values per step but 2 output")


def test_save_data_refuses_empty(tmp_path):
    with pytest.raises(ValueError):
        save_data(tmp_path / "d.npz", Batch(np.zeros((0, 1)), np.zeros((0, 1)), np.array([0])))
    with pytest.raises(ValueError):
        save_data(tmp_path / "d.npz", Batch(np.zeros((2, 1)), np.zeros((2, 1)), np.array([0, 0, 2])))
    assert os.listdir(tmp_path) == []


X2 = np.zeros((5, 2))
T2 = np.zeros((5, 1))


@pytest.mark.parametrize("arrays, match", [
    ({"targets": T2, "lengths": np.array([5])}, "missing key 'inputs'"),
    ({"inputs": np.zeros(5), "targets": T2, "lengths": np.array([5])}, "'inputs' must be 2-D .* or 3-D"),
    ({"inputs": np.zeros((1, 5, 2, 1)), "targets": T2}, "'inputs' must be 2-D"),
    ({"inputs": X2, "targets": T2}, "need 'lengths'"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([2, 2])}, "sum to 4 but 'inputs' has 5 steps"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([2.0, 3.0])}, "'lengths' must hold integers"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([[5]])}, "'lengths' must be 1-D"),
    ({"inputs": X2.astype(str), "targets": T2, "lengths": np.array([5])}, "non-numeric dtype"),
    ({"inputs": X2, "targets": T2.astype(complex), "lengths": np.array([5])}, "non-numeric dtype"),
    ({"inputs": X2, "targets": np.zeros((4, 1)), "lengths": np.array([5])}, "'targets' has 4 steps but 'inputs' has 5"),
    ({"inputs": X2, "targets": np.zeros(5), "lengths": np.array([5])}, "'targets' must be 2-D"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([], dtype=np.int64)}, "no sequences"),
    ({"inputs": np.zeros((0, 2)), "targets": np.zeros((0, 1)), "lengths": np.array([], dtype=int)}, "no sequences"),
    ({"inputs": np.zeros((0, 4, 2)), "targets": np.zeros((0, 4, 1))}, "no sequences"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([2, 0, 3])}, "sequence 1 has length 0"),
    ({"inputs": np.zeros((2, 0, 2)), "targets": np.zeros((2, 0, 1))}, "length 0"),
    ({"inputs": np.zeros((2, 3, 2)), "targets": np.zeros((2, 3, 1)), "lengths": np.array([3, 4])}, "sequence 1 has length 4"),
    ({"inputs": np.zeros((2, 3, 2)), "targets": np.zeros((2, 3, 1)), "lengths": np.array([3])}, "1 entries but 'inputs' holds 2"),
    ({"inputs": np.zeros((2, 3, 2)), "targets": np.zeros((2, 2, 1))}, "'targets' has 2 sequences of 2 steps"),
    ({"inputs": np.zeros((2, 3, 2)), "targets": np.zeros((6, 1))}, "'targets' must be 3-D"),
    ({"inputs": np.zeros((5, 0)), "targets": T2, "lengths": np.array([5])}, "0 values per step"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([5]), "format": np.array("lstm1997-model")}, "model file"),
    ({"inputs": X2, "targets": T2, "lengths": np.array([5]), "format_version": np.array(7)}, "version 7"),
])
def test_bad_data_files(tmp_path, arrays, match):
    p = tmp_path / "bad_data.npz"
    _write_npz(p, arrays)
    _refused(load_data, p, match=match)


def test_unreadable_data_files(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("1,2,3\n")
    _refused(load_data, p, match="not a NumPy .npz archive")
    _refused(load_data, tmp_path / "missing.npz", match="no such file")


def test_model_file_given_to_load_data(tmp_path):
    p = tmp_path / "model.npz"
    save_model(_net(), p)
    _refused(load_data, p, match="not a lstm1997 data file .*model file")


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf")])
def test_non_finite_inputs_name_the_sequence(tmp_path, bad, word):
    x = np.zeros((9, 2))
    x[3 + 1 + 2, 1] = bad  # sequence 2 (lengths 3, 1, 5), step 2, input 1
    p = tmp_path / "nan_inputs.npz"
    _write_npz(p, {"inputs": x, "targets": np.zeros((9, 1)), "lengths": np.array([3, 1, 5])})
    msg = _refused(load_data, p)
    assert f"{word} at sequence 2, step 2 (input 1)" in msg
    # the same in the padded layout
    x3 = np.zeros((3, 4, 2))
    x3[1, 3, 0] = bad
    _write_npz(p, {"inputs": x3, "targets": np.zeros((3, 4, 1))})
    assert f"{word} at sequence 1, step 3 (input 0)" in _refused(load_data, p)


def test_inf_in_targets(tmp_path):
    t = np.full((9, 1), np.nan)
    t[3, 0] = -np.inf  # sequence 1, step 0
    p = tmp_path / "inf_targets.npz"
    _write_npz(p, {"inputs": np.zeros((9, 2)), "targets": t, "lengths": np.array([3, 1, 5])})
    _refused(load_data, p, match="'targets' contain inf at sequence 1, step 0")


# ---- destinations that are not regular files are never replaced (issue 11) -----------------------

def test_writers_refuse_a_fifo_or_folder_and_leave_it(tmp_path):
    import stat

    from lstm1997.io import save_outputs, write_text

    net = _net()
    batch = Batch.from_sequences([np.zeros((2, 1))], [np.zeros((2, 1))])
    fifo, folder = tmp_path / "fifo", tmp_path / "folder"
    os.mkfifo(fifo)
    folder.mkdir()
    for dest, word in ((fifo, "FIFO"), (folder, "folder")):
        for write in (lambda p: save_model(net, p), lambda p: save_data(p, batch),
                      lambda p: save_outputs(p, np.zeros((2, 1)), np.array([2])), lambda p: write_text(p, "x")):
            with pytest.raises(ValueError, match=word):
                write(dest)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_ISDIR(os.lstat(folder).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["fifo", "folder"] and os.listdir(folder) == []


def test_write_text_is_atomic(tmp_path, monkeypatch):
    import errno

    from lstm1997.io import write_text

    p = tmp_path / "r.json"
    write_text(p, "old\n")

    def ro(*a, **kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", ro)
    with pytest.raises(OSError):
        write_text(p, "new\n")
    monkeypatch.undo()
    assert p.read_text() == "old\n" and os.listdir(tmp_path) == ["r.json"]


def test_check_destination(tmp_path):
    from lstm1997.io import check_destination

    (tmp_path / "in.npz").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "in.npz", tmp_path / "link.npz")
    check_destination(tmp_path / "new.npz")
    check_destination(tmp_path / "in.npz")                  # an existing regular file may be replaced
    for path, inputs, match in ((tmp_path / "fifo", (), "FIFO"), (tmp_path, (), "folder"),
                                (tmp_path / "in.npz", [tmp_path / "in.npz"], "input"),
                                (tmp_path / "link.npz", [tmp_path / "in.npz"], "input"),
                                (tmp_path / "sub" / ".." / "in.npz", [tmp_path / "in.npz"], "does not exist"),
                                (tmp_path / "no" / "x.npz", (), "does not exist"), ("", (), "file name")):
        with pytest.raises(ValueError, match=match):
            check_destination(path, inputs=inputs)
    assert sorted(os.listdir(tmp_path)) == ["fifo", "in.npz", "link.npz"]      # the probe left nothing


def test_reading_a_fifo_is_refused_not_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for read in (load_model, load_data):
        with pytest.raises(FormatError, match="FIFO"):
            read(tmp_path / "fifo")
