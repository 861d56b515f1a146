import dataclasses

import numpy as np
import pytest

from lstm1997 import LSTM, Architecture, forward, init, predict, step
from lstm1997.tasks.adding import adding

from paper_nets import PAPER_NETS


@pytest.mark.parametrize("name", sorted(PAPER_NETS))
def test_weight_count_equals_paper(name):
    arch, paper = PAPER_NETS[name]
    assert arch.n_weights == paper
    # the formula of spec §1.5 for connectivity F, independently of the masks
    if arch.connectivity == "F":
        H = arch.n_hidden
        biased = sum(n for kind, n in (("in_gate", arch.blocks), ("out_gate", arch.blocks),
                                         ("cell", arch.n_cells)) if kind in arch.bias)
        assert paper == H * (arch.n_in + H) + biased + arch.n_out * (arch.n_cells + ("output" in arch.bias))


def test_baseline_rtrl_counts_are_not_lstm():
    # spec §1.5: 2a/2b formula (p+1)^2 + (p+1) + 2(p+1)
    p = 100
    assert PAPER_NETS["exp2a"][0].n_weights == (p + 1) ** 2 + (p + 1) + 2 * (p + 1)


def test_init_ranges_masks_and_gate_biases(rng):
    arch = PAPER_NETS["exp3"][0]
    net = init(arch, rng)
    assert np.all(net.W_h[~net.mask_h] == 0) and np.all(net.W_k[~net.mask_k] == 0)
    np.testing.assert_array_equal(net.w_in[:, -1], [-1, -3, -5])
    np.testing.assert_array_equal(net.w_out[:, -1], [-2, -4, -6])
    rest = np.concatenate([net.w_c[net.mask_h[arch.rows_c]], net.w_in[:, :-1].ravel(),
                           net.w_out[:, :-1].ravel(), net.W_k[net.mask_k]])
    assert np.all(np.abs(rest) <= 0.1) and rest.std() > 0.03
    assert not net.mask_k[:, -1].any(), "Exp. 3 output unit has no bias"
    assert net.mask_h[arch.rows_c, -1].all(), "Exp. 3 cells have biases"


def test_exp2a_connectivity_B():
    arch = PAPER_NETS["exp2a"][0]
    m = arch.mask_h()
    assert arch.n_hidden == 2 and not m[:, arch.n_in:].any(), "cell and input gate see only inputs"
    assert arch.mask_k()[:, :-1].all() and not arch.mask_k()[:, -1].any()


def test_same_seed_same_weights():
    arch = PAPER_NETS["exp6b"][0]
    a, b = init(arch, np.random.default_rng(5)), init(arch, np.random.default_rng(5))
    np.testing.assert_array_equal(a.W_h, b.W_h)
    assert not np.array_equal(a.W_h, init(arch, np.random.default_rng(6)).W_h)


def test_step_equations_by_hand():
    """One step of a 1-block, 1-cell net computed by hand from spec §1.2."""
    arch = Architecture(1, 1, 1, 1)
    net = init(arch, np.random.default_rng(0))
    f = lambda x: 1 / (1 + np.exp(-x))
    x = np.array([0.7])
    y_prev = np.array([0.3, 0.6, -0.2])      # in gate, out gate, cell at t-1
    s_prev = np.array([0.9])
    z = np.array([0.7, 0.3, 0.6, -0.2, 1.0])
    y_in, y_out = f(net.W_h[0] @ z), f(net.W_h[1] @ z)
    s = 0.9 + y_in * (4 * f(net.W_h[2] @ z) - 2)
    y_c = y_out * (2 * f(s) - 1)
    y_k = f(net.W_k[0] @ [y_c, 1.0])
    o = step(net, x, y_prev, s_prev)
    np.testing.assert_allclose([o.y_in[0], o.y_out[0], o.s_c[0], o.y_c[0], o.y_k[0]],
                               [y_in, y_out, s, y_c, y_k], rtol=1e-14)


def test_cec_holds_state_when_input_gate_closed():
    """With the input gate shut (huge negative bias) the state stays constant; otherwise it changes by
    exactly y_in * g(net_c) per step: the CEC's self-weight is 1.0, with no forget gate or decay."""
    arch = Architecture(2, 1, 1, 2, in_gate_bias=(-800.0,), init_range=0.5)
    net = init(arch, np.random.default_rng(1))
    x = np.random.default_rng(2).uniform(-1, 1, (50, 2))
    rec = forward(net, x, record=True)
    assert np.all(rec["s_c"] == 0.0) and np.all(rec["y_in"] < 1e-300)
    net.W_h[0, -1] = 0.5
    rec = forward(net, x, record=True)
    g = 4 / (1 + np.exp(-rec["net_c"])) - 2
    ds = np.diff(np.vstack([np.zeros((1, 2)), rec["s_c"]]), axis=0)
    np.testing.assert_allclose(ds, rec["y_in"][:, [0, 0]] * g, rtol=1e-12, atol=1e-15)
    assert np.abs(rec["s_c"][-1]).max() > 0.5


@pytest.mark.parametrize("name", ["exp1_3x2", "exp2a", "exp3", "exp6b"])
def test_compiled_predict_equals_numpy_forward(name, rng):
    arch = PAPER_NETS[name][0]
    if arch.n_in > 50:
        arch = dataclasses.replace(arch, n_in=9, n_out=9)
    net = init(dataclasses.replace(arch, init_range=1.0), rng)
    from lstm1997 import Batch
    xs = [rng.normal(size=(n, arch.n_in)) for n in (1, 7, 30)]
    b = Batch.from_sequences(xs, [np.full((len(x), arch.n_out), np.nan) for x in xs])
    Y = predict(net, b)
    np.testing.assert_allclose(Y, np.concatenate([forward(net, x) for x in xs]), rtol=1e-13, atol=1e-15)


def test_forward_record_and_errors(rng):
    net = init(PAPER_NETS["exp4"][0], rng)
    rec = forward(net, adding(rng, 20)[0][0], record=True)
    assert set(rec) == {"y_k", "y_in", "y_out", "net_c", "s_c", "y_c", "y_hid"}
    assert rec["s_c"].shape[1] == 4 and rec["y_in"].shape[1] == 2 and rec["y_hid"].shape[1] == 0
    with pytest.raises(ValueError, match="shape"):
        forward(net, np.zeros((5, 3)))


@pytest.mark.parametrize("kw, msg", [
    (dict(blocks=0), "blocks"), (dict(connectivity="X"), "connectivity"), (dict(g="tanh"), "g must"),
    (dict(bias=("cells",)), "unknown bias"), (dict(in_gate_bias=(1.0,)), "one value per block"),
    (dict(output_gates=False, out_gate_bias=(1.0, 2.0)), "no output gates"),
])
def test_architecture_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Architecture(**{**dict(n_in=2, n_out=1, blocks=2), **kw})


def test_architecture_dict_roundtrip():
    for arch, _ in PAPER_NETS.values():
        assert Architecture.from_dict(arch.to_dict()) == arch


def test_lstm_rejects_weights_on_absent_connections():
    arch = PAPER_NETS["exp3"][0]
    net = init(arch, np.random.default_rng(0))
    W_k = net.W_k.copy()
    W_k[0, -1] = 0.5   # Exp. 3 output unit has no bias
    with pytest.raises(ValueError, match="absent"):
        LSTM(arch, net.W_h, W_k)


def test_partial_masks_add_connections_and_roundtrip(tmp_path):
    """Sequential construction: a net with only its input->output weights present trains only those;
    adding the cell makes its weights present with fresh values; the model file keeps the masks."""
    from lstm1997 import Batch, TruncatedRTRL
    from lstm1997.io import load_model, save_model

    arch = dataclasses.replace(PAPER_NETS["exp2a"][0], n_in=6, n_out=6)
    full = init(arch, np.random.default_rng(0))
    mh = np.zeros_like(full.mask_h)
    mk = full.mask_k.copy()
    mk[:, arch.n_in] = False                          # no cell -> output weights yet
    net = LSTM(arch, np.zeros_like(full.W_h), full.W_k * mk, mh, mk)
    assert net.n_weights == 36 and arch.n_weights == 36 + 6 + 12
    x = np.eye(6)[[0, 1, 2, 3, 4]]
    b = Batch.from_sequences([x], [np.eye(6)[[1, 2, 3, 4, 5]]])
    TruncatedRTRL(1.0).update(net, TruncatedRTRL(1.0).init(net), b)
    assert np.all(net.W_h == 0) and np.all(net.W_k[:, arch.n_in] == 0)
    save_model(net, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.mask_h, net.mask_h)
    np.testing.assert_array_equal(back.W_k, net.W_k)
    net.add_connections(arch.mask_h(), arch.mask_k(), np.random.default_rng(1))
    assert net.n_weights == arch.n_weights
    assert np.all(net.W_h[arch.mask_h()] != 0) and np.all(np.abs(net.W_h) <= arch.init_range)
    with pytest.raises(ValueError, match="does not have"):
        LSTM(arch, net.W_h, net.W_k, np.ones_like(mh), mk)
