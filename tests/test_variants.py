"""The later LSTM cell variants (issue 13): forget gates (Gers, Schmidhuber & Cummins 2000) and peephole
connections (Gers, Schraudolph & Schmidhuber 2002), each alone and both together, on every paper topology
(the big ones shrunk) and small nets with what the paper's nets lack.

* the forward step against an independent transcription of the variant equations;
* the compiled kernel against the NumPy reference (per-step and per-sequence updates, dense and one-hot
  inputs), and the one-hot path against the dense one bit for bit;
* the per-sequence update against -lr times the truncated-graph gradient, the truncated-graph gradient
  against finite differences of a forward with every truncated source frozen, the full gradient against
  finite differences;
* "off" variants reduce to the 1997 cell exactly (peephole weights 0; a forget gate held open);
* model files, the PyTorch module, the lane refusal, validation, weight counts;
* the 1997 cell bit for bit as it was before the variants existed (weights recorded on the old code).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import os
import pathlib

import numpy as np
import pytest

from lstm1997 import Architecture, Batch, TruncatedRTRL, forward, init, predict
from lstm1997.io import FormatError, load_model, save_model, source_names
from lstm1997.learners.bptt import BPTT, BPTTState, bptt_gradient
from lstm1997.learners.truncated_rtrl import DivergenceError, VariantRTRLState
from lstm1997.network import LSTM, recommended_forget_gate_bias, step

from paper_nets import PAPER_NETS

VARIANTS = {"forget": (True, False), "peepholes": (False, True), "forget+peepholes": (True, True)}

# every paper topology, the big ones shrunk as in test_kernels.py, plus what the paper's nets lack
BASES = {k: v[0] for k, v in PAPER_NETS.items() if not k.startswith("exp2c_p") or k == "exp2c_p50"}
BASES["exp2a"] = dataclasses.replace(BASES["exp2a"], n_in=5, n_out=5)
BASES["exp2c_p50"] = dataclasses.replace(BASES["exp2c_p50"], n_in=7)
BASES["hidden_units"] = Architecture(3, 2, 2, 2, hidden=2)
BASES["g1_id_F"] = Architecture(3, 2, 2, 1, g="g1", h="id")
BASES["noog_seein_hidden"] = Architecture(3, 2, 2, 2, hidden=1, output_gates=False, outputs_see_inputs=True,
                                          bias=("cell", "hidden", "output"), g="g1")
NAMES = sorted(BASES)
CASES = [(n, v) for n in NAMES for v in VARIANTS]
JIT_OFF = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def variant(name: str, v: str, init_range: float = 0.8) -> Architecture:
    """The topology ``name`` with variant ``v`` (the forget gate biased where the input gate is), every
    weight, gate biases included, drawn from a wider range than the paper's so that every gradient is
    clearly non-zero (the paper's strongly negative gate biases would make some of them tiny)."""
    fg, pp = VARIANTS[v]
    base = dataclasses.replace(BASES[name], init_range=init_range, in_gate_bias=None, out_gate_bias=None)
    return base.with_variant(fg, pp, forget_gate_bias=None)


def _seed(*parts) -> int:
    return sum(sum(map(ord, str(p))) * 1000 ** i for i, p in enumerate(parts)) % 2**32


def _random_batch(rng, arch, n=4, max_len=8, every_step=False):
    xs = [rng.uniform(-1, 1, size=(int(rng.integers(1, max_len + 1)), arch.n_in)) for _ in range(n)]
    ds = []
    for x in xs:
        d = rng.random((len(x), arch.n_out))
        if not every_step:
            d[rng.random(len(x)) < 0.5] = np.nan
            d[rng.random(d.shape) < 0.2] = np.nan
        ds.append(d)
    return Batch.from_sequences(xs, ds)


def _one_hot_batch(rng, arch, n=4, max_len=8):
    lengths = rng.integers(1, max_len + 1, size=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sym = rng.integers(0, arch.n_in, size=offsets[-1])
    d = rng.random((offsets[-1], arch.n_out))
    d[rng.random(offsets[-1]) < 0.4] = np.nan
    return Batch.one_hot(sym, arch.n_in, d, offsets)


def make_case(name, v, pattern="sparse", T=7):
    rng = np.random.default_rng(_seed(name, v, pattern))
    arch = variant(name, v)
    net = init(arch, rng)
    x = rng.uniform(-1.0, 1.0, size=(T, arch.n_in))
    d = rng.uniform(0.0, 1.0, size=(T, arch.n_out))
    keep = rng.random((T, arch.n_out)) < 0.5 if pattern == "sparse" else np.zeros((T, arch.n_out), bool)
    keep[-1, :] = True
    return net, x, np.where(keep, d, np.nan)


def _all_weights(net):
    return [net.W_h, net.W_k] + ([net.W_p] if net.arch.peepholes else [])


def _masks(net):
    return [net.mask_h, net.mask_k] + ([net.mask_p] if net.arch.peepholes else [])


# ---- an independent transcription of the variant equations --------------------------------------

def _sig(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def transcribed_run(net: LSTM, x, frozen=None):
    """The forward pass written out block by block from the equations (Gers et al. 2000, 2002), nothing
    shared with ``network.step``. Returns ``(y_k (T, K), trajectory)``; with ``frozen`` (a trajectory of
    this function) every *truncated* source is read from it -- the recurrent inputs y_hidden(t-1), the
    peephole sources s(t-1) and s(t) -- while the CEC s(t-1) -> s(t) and the outputs stay live: the
    truncated graph of the learning rule, as a function of the weights."""
    a = net.arch
    C, S = a.blocks, a.cells
    g = (lambda u: 4 * _sig(u) - 2) if a.g == "g2" else _sig
    h = (lambda u: 2 * _sig(u) - 1) if a.h == "h1" else (lambda u: u)
    P = dict(zip(a.peephole_gates, net.W_p))
    y_prev, s = np.zeros(a.n_hidden), np.zeros(a.n_cells)
    Y, traj = [], []
    for t in range(x.shape[0]):
        rec = frozen[t]["y_prev"] if frozen else y_prev
        sp = frozen[t]["s_prev"] if frozen else s
        z = np.concatenate([x[t], rec, [1.0]])
        W = net.W_h
        y_in, y_out, y_phi = np.zeros(C), np.ones(C), np.ones(C)
        s_new = np.zeros(a.n_cells)
        for j in range(C):
            cells = range(j * S, j * S + S)
            n_in = W[a.rows_in.start + j] @ z
            if a.peepholes:
                n_in += sum(P["in_gate"][q] * sp[q] for q in cells)
            y_in[j] = _sig(n_in)
            if a.forget_gate:
                n_phi = W[a.rows_phi.start + j] @ z
                if a.peepholes:
                    n_phi += sum(P["forget_gate"][q] * sp[q] for q in cells)
                y_phi[j] = _sig(n_phi)
            for q in cells:
                s_new[q] = y_phi[j] * s[q] + y_in[j] * g(W[a.rows_c.start + q] @ z)
        s_out = frozen[t]["s"] if frozen else s_new             # the output gates' peephole source
        for j in range(C):
            if a.output_gates:
                n_out = W[a.rows_out.start + j] @ z
                if a.peepholes:
                    n_out += sum(P["out_gate"][q] * s_out[q] for q in range(j * S, j * S + S))
                y_out[j] = _sig(n_out)
        y_c = np.repeat(y_out, S) * h(s_new)
        y_hid = _sig(W[a.rows_hidden] @ z)
        zo = np.concatenate([x[t] if a.outputs_see_inputs else [], y_c, y_hid, [1.0]])
        Y.append(_sig(net.W_k @ zo))
        traj.append({"y_prev": y_prev, "s_prev": s, "s": s_new})
        y_prev = np.concatenate([y_in, y_out[: a.n_out_gates], y_phi[: a.n_forget_gates], y_c, y_hid])
        s = s_new
    return np.array(Y).reshape(x.shape[0], a.n_out), traj


def _loss(Y, d):
    has = ~np.isnan(d)
    return 0.5 * float(np.sum((d[has] - Y[has]) ** 2))


def fd_gradient(net, loss_fn, eps=1e-6):
    out = []
    for W, M in zip(_all_weights(net), _masks(net)):
        G = np.zeros_like(W)
        for idx in zip(*np.nonzero(M)):
            w0 = W[idx]
            W[idx] = w0 + eps
            lp = loss_fn(net)
            W[idx] = w0 - eps
            lm = loss_fn(net)
            W[idx] = w0
            G[idx] = (lp - lm) / (2 * eps)
        out.append(G)
    return out


def _rel_err(gs, fs):
    g = np.concatenate([a.ravel() for a in gs])
    f = np.concatenate([a.ravel() for a in fs])
    return float(np.max(np.abs(g - f)) / np.max(np.abs(g)))


# ---- the forward step ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, v", CASES)
def test_step_follows_the_variant_equations(name, v):
    net, x, _ = make_case(name, v)
    Y_ref, traj = transcribed_run(net, x)
    rec = forward(net, x, record=True)
    np.testing.assert_allclose(rec["y_k"], Y_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(rec["s_c"], np.array([tr["s"] for tr in traj]), rtol=1e-13, atol=1e-15)
    assert ("y_phi" in rec) == net.arch.forget_gate
    b = Batch.from_sequences([x], [np.full((len(x), net.arch.n_out), np.nan)])
    np.testing.assert_allclose(predict(net, b), Y_ref, rtol=1e-12, atol=1e-14)


# ---- the kernel against the NumPy reference -------------------------------------------------------

@pytest.mark.parametrize("name, v", CASES)
def test_kernel_equals_numpy_reference(name, v):
    rng = np.random.default_rng(_seed(name, v, "kernel"))
    arch = variant(name, v)
    for per_step in (True, False):
        for kind in ("dense", "one-hot"):
            net = init(arch, rng)
            ref = net.copy()
            batch = (_one_hot_batch(rng, arch) if kind == "one-hot"
                     else _random_batch(rng, arch, every_step=name.startswith("exp1")))
            fast, slow = TruncatedRTRL(0.7, per_step), TruncatedRTRL(0.7, per_step, backend="numpy")
            sf, ss = fast.init(net), slow.init(ref)
            assert isinstance(sf, VariantRTRLState)
            W0 = [w.copy() for w in _all_weights(net)]
            Yf = fast.update(net, sf, batch)
            Ys = slow.update(ref, ss, batch)
            np.testing.assert_allclose(Yf, Ys, rtol=1e-12, atol=1e-14)
            for a, b in zip(_all_weights(net), _all_weights(ref)):
                np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
            for tr in ("dS_in", "dS_c", "dS_phi", "dP_in", "dP_phi"):
                np.testing.assert_allclose(getattr(sf, tr), getattr(ss, tr), rtol=1e-11, atol=1e-14)
            for w, w0, m in zip(_all_weights(net), W0, _masks(net)):
                assert not np.array_equal(w, w0), "training changed nothing"
                assert np.all(w[~m] == 0.0)
            assert (sf.sequences, sf.steps) == (len(batch), batch.n_steps)


@pytest.mark.parametrize("v", list(VARIANTS))
@pytest.mark.parametrize("name", ["exp2a", "exp2c_p50", "exp6b", "exp1_3x2"])
def test_one_hot_path_is_bit_for_bit_the_dense_path(name, v):
    rng = np.random.default_rng(_seed(name, v, "sym"))
    arch = variant(name, v)
    sparse = _one_hot_batch(rng, arch, n=5, max_len=12)
    dense = Batch(sparse.inputs, sparse.targets, sparse.offsets)
    a = init(arch, rng)
    b = a.copy()
    for per_step in (True, False):
        L = TruncatedRTRL(0.6, per_step)
        sa, sb = L.init(a), L.init(b)
        np.testing.assert_array_equal(L.update(a, sa, sparse), L.update(b, sb, dense))
        for x, y in zip(_all_weights(a), _all_weights(b)):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(sa.dS_phi, sb.dS_phi)
        np.testing.assert_array_equal(sa.dP_in, sb.dP_in)
    np.testing.assert_array_equal(predict(a, sparse), predict(b, dense))


@pytest.mark.parametrize("v", list(VARIANTS))
def test_outputs_modes_and_output_errors(v):
    """``outputs="targets"/"none"`` train exactly as ``"all"``; the diagnostic output errors agree with
    the reference and differ from eq. 19."""
    rng = np.random.default_rng(_seed(v, "modes"))
    arch = variant("exp4", v)
    net = init(arch, rng)
    batch = _random_batch(rng, arch, n=6)
    has = ~np.isnan(batch.targets).all(axis=1)
    res = {}
    for outputs in ("all", "targets", "none"):
        n = net.copy()
        L = TruncatedRTRL(0.7)
        res[outputs] = (L.update(n, L.init(n), batch, outputs=outputs), n)
    np.testing.assert_array_equal(res["targets"][0], res["all"][0][has])
    assert res["none"][0].shape == (0, arch.n_out)
    for k in ("targets", "none"):
        np.testing.assert_array_equal(res[k][1].W_p, res["all"][1].W_p)
        np.testing.assert_array_equal(res[k][1].W_h, res["all"][1].W_h)
    for delta in ("linear", "flat-spot"):
        f, s = net.copy(), net.copy()
        Lf, Ls = TruncatedRTRL(0.7, delta=delta), TruncatedRTRL(0.7, backend="numpy", delta=delta)
        np.testing.assert_allclose(Lf.update(f, Lf.init(f), batch), Ls.update(s, Ls.init(s), batch),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(f.W_h, s.W_h, rtol=1e-11, atol=1e-14)
        assert not np.allclose(f.W_h, res["all"][1].W_h)


# ---- the learning rule is the truncated gradient; the oracles are right ----------------------------

@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name, v", CASES)
def test_per_sequence_update_is_minus_lr_truncated_gradient(name, v, backend):
    for per_step, pattern in ((False, "sparse"), (True, "final")):   # one target at the end: per step = per sequence
        net, x, d = make_case(name, v, pattern)
        grads = bptt_gradient(net, x, d, truncated=True)[1:]
        assert len(grads) == (3 if net.arch.peepholes else 2)
        n = net.copy()
        L = TruncatedRTRL(1.0, per_step=per_step, backend=backend)
        L.update(n, L.init(n), Batch.from_sequences([x], [d]))
        assert np.max(np.abs(n.W_h - net.W_h)) > 1e-4
        for after, before, g in zip(_all_weights(n), _all_weights(net), grads):
            np.testing.assert_allclose(after - before, -g, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("name, v", CASES)
def test_truncated_gradient_matches_frozen_sources_fd(name, v):
    """truncated BPTT == central finite differences of the loss with every truncated source (recurrent
    inputs, peephole sources) frozen at its base-weight value and the CEC live."""
    net, x, d = make_case(name, v)
    _, frozen = transcribed_run(net, x)
    loss, *grads = bptt_gradient(net, x, d, truncated=True)
    assert loss == pytest.approx(_loss(transcribed_run(net, x, frozen)[0], d), rel=1e-12)
    fds = fd_gradient(net, lambda n: _loss(transcribed_run(n, x, frozen)[0], d))
    err = _rel_err(grads, fds)
    assert np.max(np.abs(grads[0])) > 1e-4 and err < 1e-7, err
    if net.arch.forget_gate:      # the forget-gate weights are trained
        assert np.max(np.abs(grads[0][net.arch.rows_phi])) > 1e-4 * np.max(np.abs(grads[0]))
    if net.arch.peepholes:        # so are the peephole weights, every one of them
        assert np.all(grads[2] != 0.0)


@pytest.mark.parametrize("name, v", CASES)
def test_full_gradient_matches_finite_differences(name, v):
    net, x, d = make_case(name, v, "final", T=6)
    loss, *grads = bptt_gradient(net, x, d, truncated=False)
    assert loss == pytest.approx(_loss(forward(net, x), d), rel=1e-13)
    fds = fd_gradient(net, lambda n: _loss(forward(n, x), d))
    err = _rel_err(grads, fds)
    assert np.max(np.abs(grads[0])) > 1e-4 and err < 1e-7, err
    if net.arch.connectivity == "F" or net.arch.peepholes:     # the truncation is real
        t = bptt_gradient(net, x, d, truncated=True)[1:]
        assert _rel_err(grads, t) > 1e-4


@pytest.mark.parametrize("truncated", [False, True])
@pytest.mark.parametrize("v", list(VARIANTS))
def test_bptt_learner_is_sequential_gradient_descent(v, truncated):
    net, x0, d0 = make_case("exp6a", v)
    _, x1, d1 = make_case("exp6a", v, "final", T=4)
    lr = 0.7
    trained = net.copy()
    BPTT(lr, truncated=truncated).update(trained, BPTTState(), Batch.from_sequences([x0, x1], [d0, d1]))
    ref = net.copy()
    for x, d in ((x0, d0), (x1, d1)):
        grads = bptt_gradient(ref, x, d, truncated=truncated)[1:]
        for W, g in zip(_all_weights(ref), grads):
            W -= lr * g
    for a, b, w0 in zip(_all_weights(trained), _all_weights(ref), _all_weights(net)):
        assert np.max(np.abs(a - w0)) > 1e-4
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


# ---- "off" variants are the 1997 cell -------------------------------------------------------------

def _strip(net: LSTM, base: Architecture) -> LSTM:
    """The 1997 net of ``base`` holding ``net``'s weights without its forget-gate rows and columns."""
    a = net.arch
    keep_rows = np.setdiff1d(np.arange(a.n_hidden), np.arange(a.rows_phi.start, a.rows_phi.stop))
    keep_cols = np.concatenate([np.arange(a.n_in), a.n_in + keep_rows, [a.n_src - 1]])
    return LSTM(base, net.W_h[np.ix_(keep_rows, keep_cols)].copy(), net.W_k.copy(),
                net.mask_h[np.ix_(keep_rows, keep_cols)], net.mask_k)


@pytest.mark.parametrize("name", NAMES)
def test_peepholes_at_zero_give_the_net_without_peepholes(name):
    base = dataclasses.replace(BASES[name], init_range=0.8)
    for fg in (False, True):
        arch = base.with_variant(fg, True)
        net = init(arch, np.random.default_rng(_seed(name, fg)))
        without = init(base.with_variant(fg, False), np.random.default_rng(_seed(name, fg)))
        np.testing.assert_array_equal(net.W_h, without.W_h)     # W_p is drawn last
        net.W_p[:] = 0.0
        rng = np.random.default_rng(1)
        x = rng.uniform(-1, 1, size=(9, arch.n_in))
        np.testing.assert_array_equal(forward(net, x), forward(without, x))
        b = _random_batch(rng, arch)
        np.testing.assert_array_equal(predict(net, b), predict(without, b))
        net.W_p[0, 0] = 0.5                                     # and they do something when not 0
        assert not np.array_equal(predict(net, b), predict(without, b))


@pytest.mark.parametrize("per_step", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_forget_gate_held_open_and_no_peepholes_train_exactly_like_1997(name, per_step):
    """A forget gate whose only weight is a bias of +50 (y_phi = 1.0 exactly in float64, f'_phi = 0) and
    whose output feeds nothing, with peepholes present but absent (masked off): the variant kernel trains
    bit for bit like the 1997 kernel."""
    base = dataclasses.replace(BASES[name], init_range=0.8)
    net97 = init(base, np.random.default_rng(_seed(name, "open")))
    arch = base.with_variant(True, True, forget_gate_bias=None)
    a = arch = dataclasses.replace(arch, bias=arch.bias + ("forget_gate",))   # biased even where nothing else is
    W_h = np.zeros((a.n_hidden, a.n_src))
    M_h = np.zeros_like(W_h, dtype=bool)
    rows = np.setdiff1d(np.arange(a.n_hidden), np.arange(a.rows_phi.start, a.rows_phi.stop))
    cols = np.concatenate([np.arange(a.n_in), a.n_in + rows, [a.n_src - 1]])
    W_h[np.ix_(rows, cols)] = net97.W_h
    M_h[np.ix_(rows, cols)] = net97.mask_h
    W_h[a.rows_phi, -1] = 50.0
    M_h[a.rows_phi, -1] = True
    net = LSTM(arch, W_h, net97.W_k.copy(), M_h, net97.mask_k, np.zeros((len(a.peephole_gates), a.n_cells)),
               np.zeros((len(a.peephole_gates), a.n_cells), dtype=bool))
    rng = np.random.default_rng(3)
    for batch in (_random_batch(rng, base, n=6, every_step=True), _one_hot_batch(rng, base, n=6)):
        L = TruncatedRTRL(0.5, per_step)
        Y97 = L.update(net97, L.init(net97), batch)
        Y = L.update(net, L.init(net), batch)
        np.testing.assert_array_equal(Y, Y97)
        back = _strip(net, base)
        np.testing.assert_array_equal(back.W_h, net97.W_h)
        np.testing.assert_array_equal(net.W_k, net97.W_k)
        assert np.all(net.W_h[a.rows_phi, -1] == 50.0) and not net.W_p.any()
    assert not np.array_equal(net97.W_h, init(base, np.random.default_rng(_seed(name, "open"))).W_h)


def test_default_flags_are_the_1997_cell():
    a = Architecture(3, 2, 2, 2)
    assert a.is_1997 and not a.forget_gate and not a.peepholes and a.forget_gate_bias is None
    assert "forget_gate" not in a.bias and a.n_forget_gates == 0 and a.peephole_gates == ()
    d = a.to_dict()
    assert not {"forget_gate", "peepholes", "forget_gate_bias"} & set(d)    # the JSON of 1997 nets unchanged
    assert Architecture.from_dict(d) == a
    net = init(a, np.random.default_rng(0))
    assert set(net.arrays()) == {"W_h", "W_k", "mask_h", "mask_k"} and net.W_p.shape == (0, 4)
    assert type(TruncatedRTRL(0.1).init(net)).__name__ == "RTRLState"
    buf = io.BytesIO()
    save_model(net, buf)
    assert not {"w_phi", "mask_phi", "w_p", "mask_p"} & set(np.load(io.BytesIO(buf.getvalue())).files)


# ---- architecture: options, validation, counts ------------------------------------------------------

def test_weight_counts_and_layout():
    C, S, n_in, K = 2, 2, 2, 1                       # Exp. 4's net: 93 weights
    base = Architecture(n_in, K, C, S)
    assert base.n_weights == 93
    src = lambda H: n_in + H + 1                     # noqa: E731  sources of a hidden unit
    H97 = C * S + 2 * C
    fg = base.with_variant(True, False)
    assert fg.n_weights == (H97 + C) * src(H97 + C) + K * (C * S + 1)   # every hidden unit sees the forget gates
    pp = base.with_variant(False, True)
    assert pp.n_weights == 93 + 2 * C * S            # input and output gates see each cell of their block
    both = base.with_variant(True, True)
    assert both.n_weights == fg.n_weights + 3 * C * S
    noog = Architecture(n_in, K, C, S, output_gates=False).with_variant(True, True)
    assert noog.peephole_gates == ("in_gate", "forget_gate")
    assert Architecture(n_in, K, C, S, output_gates=False).with_variant(False, True).peephole_gates == ("in_gate",)
    # rows: [in | out | phi | cells | hidden]; the sources follow the same order
    a = Architecture(3, 2, 2, 2, hidden=1).with_variant(True, True)
    assert (a.rows_in, a.rows_out, a.rows_phi, a.rows_c, a.rows_hidden) == (
        slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 10), slice(10, 11))
    sh, _ = source_names(a)
    assert sh[3:3 + a.n_hidden] == (["in_gate0(t-1)", "in_gate1(t-1)", "out_gate0(t-1)", "out_gate1(t-1)",
                                     "forget_gate0(t-1)", "forget_gate1(t-1)"]
                                    + [f"cell{j}.{v}(t-1)" for j in range(2) for v in range(2)] + ["hidden0(t-1)"])


def test_forget_gate_bias_is_the_authors_and_overrides_the_draw():
    assert recommended_forget_gate_bias(4) == (0.5, 1.0, 1.5, 2.0)
    a = Architecture(7, 7, 4, 2, bias=("in_gate", "out_gate", "cell")).with_variant(True, False)
    assert "forget_gate" in a.bias and a.forget_gate_bias == (0.5, 1.0, 1.5, 2.0)
    net = init(a, np.random.default_rng(0))
    np.testing.assert_array_equal(net.W_h[a.rows_phi, -1], [0.5, 1.0, 1.5, 2.0])
    assert np.all(np.abs(net.W_h[a.rows_phi, :-1]) <= a.init_range) and np.any(net.W_h[a.rows_phi, :-1])
    # no bias anywhere else (Exp. 2c): the forget gate still has its own, at the authors' values (D40)
    b = Architecture(8, 2, 2, bias=()).with_variant(True, False)
    assert b.bias == ("forget_gate",) and b.forget_gate_bias == (0.5, 1.0)
    assert b.n_weights == Architecture(8, 2, 2, bias=()).n_weights + 2 * (8 + 8) + 2 + 2 * 6  # rows, biases, columns
    c = Architecture(3, 1, 2).with_variant(True, False, forget_gate_bias=(5.0, 5.0))
    np.testing.assert_array_equal(init(c, np.random.default_rng(0)).W_h[c.rows_phi, -1], [5.0, 5.0])
    assert Architecture(3, 1, 2).with_variant(True, False, forget_gate_bias=None).forget_gate_bias is None
    assert c.with_variant(False, False) == Architecture(3, 1, 2)


@pytest.mark.parametrize("kw, match", [
    ({"forget_gate_bias": (1.0, 2.0)}, "no forget gates"),
    ({"forget_gate": True, "forget_gate_bias": (1.0,)}, "one value per block"),
    ({"forget_gate": True, "forget_gate_bias": (1.0, float("nan"))}, "finite"),
    ({"forget_gate": True, "bias": ("in_gate",), "forget_gate_bias": (1.0, 2.0)}, "carry no bias"),
    ({"forget_gate": 1}, "True or False"),
    ({"peepholes": "yes"}, "True or False"),
])
def test_bad_combinations_are_clear_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        Architecture(3, 1, 2, **kw)


def test_with_variant_refuses_an_unknown_bias_choice():
    with pytest.raises(ValueError, match="forget_gate_bias must be"):
        Architecture(3, 1, 2).with_variant(True, False, forget_gate_bias="authors")


def test_net_validates_the_peephole_weights():
    a = Architecture(3, 1, 2, 2).with_variant(False, True)
    net = init(a, np.random.default_rng(0))
    with pytest.raises(ValueError, match="W_p"):
        LSTM(a, net.W_h, net.W_k)                             # a peephole net needs its W_p
    with pytest.raises(ValueError, match="W_p"):
        LSTM(a, net.W_h, net.W_k, W_p=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="absent"):
        LSTM(a, net.W_h, net.W_k, W_p=net.W_p, mask_p=np.zeros((2, 4), dtype=bool))
    with pytest.raises(ValueError, match="W_p"):
        LSTM(Architecture(3, 1, 2, 2), net.W_h, net.W_k, W_p=net.W_p)   # the 1997 net has none
    c = net.copy()
    c.W_p[0, 0] += 1.0
    assert net.W_p[0, 0] != c.W_p[0, 0]                       # copies are deep
    m = net.copy()
    LSTM.__init__(m, a, m.W_h, m.W_k, m.mask_h, m.mask_k, np.zeros_like(m.W_p), np.zeros_like(m.mask_p))
    m.add_connections(a.mask_h(), a.mask_k(), np.random.default_rng(1), mask_p=a.mask_p())
    assert m.mask_p.all() and np.all(m.W_p != 0.0)
    assert net.n_weights == a.n_weights and m.n_weights == a.n_weights


# ---- learner state, divergence, lanes -----------------------------------------------------------------

def test_states_belong_to_their_nets():
    a97 = Architecture(3, 1, 2, 2)
    n97 = init(a97, np.random.default_rng(0))
    nv = init(a97.with_variant(True, True), np.random.default_rng(0))
    L = TruncatedRTRL(0.1)
    b = _random_batch(np.random.default_rng(0), a97)
    with pytest.raises(ValueError, match="state does not belong"):
        L.update(nv, L.init(n97), b)
    with pytest.raises(ValueError, match="state does not belong"):
        L.update(n97, L.init(nv), b)
    s = L.init(nv)
    assert s.dS_phi.shape == (4, nv.arch.n_src) and s.dP_in.shape == (4, 2) and s.dP_phi.shape == (4, 2)
    s2 = L.init(init(a97.with_variant(False, True), np.random.default_rng(0)))
    assert s2.dS_phi.shape == (0, 0) and s2.dP_phi.shape == (0, 0) and s2.dP_in.shape == (4, 2)


@pytest.mark.parametrize("v", list(VARIANTS))
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_divergence_names_the_sequence(backend, v):
    arch = Architecture(2, 1, 1, 1, init_range=0.5).with_variant(*VARIANTS[v])
    net = init(arch, np.random.default_rng(0))
    net.W_h[:, 0] = 0.0                         # input 0 reaches only the traces, which overflow lr * e_s * dS
    x = np.zeros((3, 2))
    x[:, 0] = 1e307
    batch = Batch.from_sequences([np.zeros((4, 2)), np.zeros((4, 2)), x],
                                 [np.full((4, 1), np.nan), np.full((4, 1), np.nan), np.full((3, 1), 0.9)])
    L = TruncatedRTRL(1e6, backend=backend)
    st = L.init(net)
    with pytest.raises(DivergenceError, match="sequence 2 ") as e:
        L.update(net, st, batch)
    assert e.value.sequence == 2 and st.sequences == 3


def test_lanes_refuse_a_variant():
    from lstm1997.learners.lanes import update_lanes

    arch = Architecture(2, 1, 2, 2).with_variant(True, False)
    nets = [init(arch, np.random.default_rng(i)) for i in range(2)]
    L = TruncatedRTRL(0.1)
    b = _random_batch(np.random.default_rng(0), arch)
    with pytest.raises(ValueError, match="lanes run the 1997 cell only"):
        update_lanes([L, L], nets, [L.init(n) for n in nets], [b, b])


# ---- model files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("v", list(VARIANTS))
@pytest.mark.parametrize("name", ["exp1_3x2", "exp2a", "noog_seein_hidden", "hidden_units"])
def test_model_file_round_trip_is_exact(name, v, tmp_path):
    net = init(variant(name, v), np.random.default_rng(_seed(name, v)))
    if net.arch.peepholes:
        net.mask_p[0, 0] = False                # a subset of the connections present is kept too
        LSTM.__init__(net, net.arch, net.W_h, net.W_k, net.mask_h, net.mask_k,
                      np.where(net.mask_p, net.W_p, 0.0), net.mask_p)
    p = tmp_path / "m.npz"
    save_model(net, p)
    back = load_model(p)
    assert back.arch == net.arch
    for a, b in zip(_all_weights(back) + _masks(back), _all_weights(net) + _masks(net)):
        np.testing.assert_array_equal(a, b)
    files = set(np.load(p).files)
    assert ("w_phi" in files) == net.arch.forget_gate and ("w_p" in files) == net.arch.peepholes


def test_model_files_refuse_a_variant_without_its_weights(tmp_path):
    net = init(variant("exp4", "forget+peepholes"), np.random.default_rng(0))
    p = tmp_path / "m.npz"
    save_model(net, p)
    with np.load(p) as f:
        arrays = {k: f[k] for k in f.files}
    for drop, match in (("w_p", "peepholes"), ("mask_phi", "forget gates")):
        q = tmp_path / f"no_{drop}.npz"
        with open(q, "wb") as fh:
            np.savez(fh, **{k: v for k, v in arrays.items() if k != drop})
        with pytest.raises(FormatError, match=match):
            load_model(q)
    # a 1997 file with a variant's keys added is refused too
    net97 = init(BASES["exp4"], np.random.default_rng(0))
    save_model(net97, p)
    with np.load(p) as f:
        arrays = {k: f[k] for k in f.files}
    q = tmp_path / "extra.npz"
    with open(q, "wb") as fh:
        np.savez(fh, **arrays, w_p=np.zeros((2, 4)), mask_p=np.ones((2, 4), dtype=bool))
    with pytest.raises(FormatError, match="does not have"):
        load_model(q)


# ---- the PyTorch module -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, v", [(n, v) for n in ["exp1_3x2", "exp2a", "exp3", "exp4", "hidden_units",
                                                    "noog_seein_hidden", "g1_id_F"] for v in VARIANTS])
def test_torch_module_equals_numba_and_the_oracles(name, v):
    torch = pytest.importorskip("torch")
    from lstm1997.torch import LSTM1997, pad_batch, squared_error

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(_seed(name, v, "torch"))
        net = init(variant(name, v), rng)
        batch = _random_batch(rng, net.arch, n=3)
        x, d, lengths = pad_batch(batch)
        m = LSTM1997.from_lstm1997(net)
        assert ("W_p" in dict(m.named_parameters())) == net.arch.peepholes
        y = m(x, lengths).detach().numpy()
        Y = np.concatenate([y[i, :k] for i, k in enumerate(lengths.tolist())])
        np.testing.assert_allclose(Y, predict(net, batch), rtol=0, atol=1e-12)
        # a step at a time gives the same outputs
        st, ys = None, []
        for t in range(x.shape[1]):
            yt, st = m.step(x[:, t], st)
            ys.append(yt)
        np.testing.assert_allclose(torch.stack(ys, 1)[0, : int(lengths[0])].detach().numpy(),
                                   y[0, : int(lengths[0])], rtol=0, atol=1e-13)
        for truncated in (True, False):
            m.zero_grad()
            squared_error(m(x, lengths, truncated=truncated), d).backward()
            want = [np.zeros_like(w) for w in _all_weights(net)]
            for i in range(len(batch)):
                xi, di = batch[i]
                for acc, g in zip(want, bptt_gradient(net, xi, di, truncated=truncated)[1:]):
                    acc += g
            got = [m.W_h.grad.numpy(), m.W_k.grad.numpy()] + ([m.W_p.grad.numpy()] if net.arch.peepholes else [])
            for g, w in zip(got, want):
                assert np.max(np.abs(g - w)) <= 1e-10 * max(np.max(np.abs(w)), 1e-300)
        back = m.to_lstm1997()
        assert back.arch == net.arch
        for a, b in zip(_all_weights(back) + _masks(back), _all_weights(net) + _masks(net)):
            np.testing.assert_array_equal(a, b)
        buf = io.BytesIO()
        save_model(back, buf)
        m2 = LSTM1997.from_lstm1997(load_model(io.BytesIO(buf.getvalue())))
        np.testing.assert_array_equal(m2(x, lengths).detach().numpy(), y)
    finally:
        torch.set_num_threads(n_threads)


def test_torch_module_draws_the_variant_weights_like_init():
    torch = pytest.importorskip("torch")
    from lstm1997.torch import LSTM1997

    arch = variant("exp4", "forget+peepholes")
    m = LSTM1997(arch, generator=5)
    net = init(arch, np.random.default_rng(5))
    np.testing.assert_array_equal(m.W_p.detach().numpy(), net.W_p)
    np.testing.assert_array_equal(m.W_h.detach().numpy(), net.W_h)
    assert "W_p" not in dict(LSTM1997(BASES["exp4"], generator=5).named_parameters())
    assert torch.is_tensor(m.mask_p)


# ---- the 1997 cell before and after ----------------------------------------------------------------

def _before_after():
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "variants_before_after.py"
    spec = importlib.util.spec_from_file_location("variants_before_after", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(JIT_OFF, reason="trains 300 sequences per experiment: too slow without the JIT")
@pytest.mark.parametrize("exp", ["1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "5", "6a", "6b"])
def test_1997_cell_is_bit_for_bit_as_before_the_variants(exp):
    """One 1997 trial per experiment, 300 training sequences from a fixed seed: final weights, outputs
    during training and predicted outputs exactly as recorded on the code before the variants existed
    (``tests/data/before_after_1997.npz``, ``benchmarks/variants_before_after.py``)."""
    bad = _before_after().check_one(exp)
    assert not bad, "\n".join(bad)


def test_error_flow_analysis_refuses_a_variant():
    from lstm1997.analysis import error_flow_lstm

    net = init(variant("exp4", "forget"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="1997 cell"):
        error_flow_lstm(net, np.zeros((3, 2)))
    error_flow_lstm(init(BASES["exp4"], np.random.default_rng(0)), np.zeros((3, 2)))


def test_1997_architecture_json_is_as_before_the_variants():
    """The JSON of every experiment's 1997 architecture, recorded on the code before the variants existed,
    reads back into an architecture that writes exactly the same JSON (no new fields, no new bias class)."""
    import json

    with np.load(_before_after().PATH, allow_pickle=False) as f:
        texts = [str(f[f"{e}/arch"]) for e in f["experiments"]]
    assert len(texts) == 11
    for text in texts:
        a = Architecture.from_dict(json.loads(text))
        assert a.is_1997 and a.to_json() == text
