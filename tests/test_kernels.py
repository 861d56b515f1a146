"""The compiled kernel against the slow, obvious NumPy reference of the same online rule."""

import ast
import dataclasses
import pathlib

import numpy as np
import pytest

import lstm1997._kernels as kernels_pkg
from lstm1997 import Architecture, Batch, DivergenceError, TruncatedRTRL, init
from lstm1997._kernels._jit import JIT, JIT_NOALIAS

from paper_nets import PAPER_NETS

SMALL = {k: v[0] for k, v in PAPER_NETS.items() if not k.startswith("exp2c_p") or k == "exp2c_p50"}
SMALL["exp2a"] = dataclasses.replace(SMALL["exp2a"], n_in=6, n_out=6)
SMALL["exp2c_p50"] = dataclasses.replace(SMALL["exp2c_p50"], n_in=9)
SMALL["hidden_units"] = Architecture(3, 2, 2, 2, hidden=3)
SMALL["g1_id_F"] = Architecture(3, 2, 2, 1, g="g1", h="id")


def _random_batch(rng, arch, n=5, every_step=False):
    xs = [rng.normal(size=(int(rng.integers(1, 12)), arch.n_in)) for _ in range(n)]
    ds = []
    for x in xs:
        d = rng.random((len(x), arch.n_out))
        if not every_step:
            d[rng.random(len(x)) < 0.6] = np.nan
            d[rng.random(d.shape) < 0.2] = np.nan      # some outputs without a target at a step
        ds.append(d)
    return Batch.from_sequences(xs, ds)


@pytest.mark.parametrize("per_step", [True, False])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_kernel_equals_numpy_reference_step_by_step(name, per_step, rng):
    arch = dataclasses.replace(SMALL[name], init_range=0.8)
    net = init(arch, rng)
    ref = net.copy()
    batch = _random_batch(rng, arch, every_step=name.startswith("exp1"))
    fast, slow = TruncatedRTRL(0.7, per_step), TruncatedRTRL(0.7, per_step, backend="numpy")
    sf, ss = fast.init(net), slow.init(ref)
    W0 = net.W_h.copy()
    Y_fast = fast.update(net, sf, batch)
    Y_slow = slow.update(ref, ss, batch)
    # every output of every step agrees, so every intermediate weight state agreed as well
    np.testing.assert_allclose(Y_fast, Y_slow, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.W_h, ref.W_h, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(net.W_k, ref.W_k, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(sf.dS_c, ss.dS_c, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(sf.dS_in, ss.dS_in, rtol=1e-11, atol=1e-14)
    assert not np.array_equal(net.W_h, W0), "training changed nothing"
    assert np.all(net.W_h[~net.mask_h] == 0) and np.all(net.W_k[~net.mask_k] == 0)
    assert sf.sequences == len(batch) and sf.steps == batch.n_steps


def test_online_updates_use_new_weights_within_a_sequence(rng):
    """Per-step and per-sequence application differ when targets occur before the end (reading 2)."""
    arch = dataclasses.replace(SMALL["exp1_3x2"], init_range=0.8)
    a = init(arch, rng)
    b = a.copy()
    batch = _random_batch(rng, arch, n=1, every_step=True)
    TruncatedRTRL(0.5, True).update(a, TruncatedRTRL(0.5).init(a), batch)
    TruncatedRTRL(0.5, False).update(b, TruncatedRTRL(0.5).init(b), batch)
    if batch.n_steps > 1:
        assert not np.allclose(a.W_h, b.W_h, rtol=1e-9, atol=0)


def test_deterministic_bit_for_bit(rng):
    arch = SMALL["exp6b"]
    batch = _random_batch(rng, arch, n=20)
    outs = []
    for _ in range(2):
        net = init(arch, np.random.default_rng(1))
        outs.append((TruncatedRTRL(0.3).update(net, TruncatedRTRL(0.3).init(net), batch), net.W_h.copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_split_batches_equal_one_batch(rng):
    """Traces are reset per sequence, so training on a batch equals training on its parts in turn."""
    arch = SMALL["exp4"]
    batch = _random_batch(rng, arch, n=9)
    a = init(arch, np.random.default_rng(2))
    b = a.copy()
    L = TruncatedRTRL(0.5)
    Ya = L.update(a, L.init(a), batch)
    sb = L.init(b)
    Yb = np.concatenate([L.update(b, sb, batch[0:4]), L.update(b, sb, batch[4:9])])
    np.testing.assert_array_equal(Ya, Yb)
    np.testing.assert_array_equal(a.W_h, b.W_h)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_divergence_names_the_sequence(backend):
    """A weight that overflows to inf stops training with an error naming the sequence."""
    arch = Architecture(2, 1, 1, 1, init_range=0.5)
    net = init(arch, np.random.default_rng(0))
    net.W_h[:, 0] = 0.0                     # input 0 does not reach the net inputs, only the traces
    x = np.zeros((3, 2))
    x[:, 0] = 1e307                         # (sequences 0, 1 have no targets) dS_c, dS_in ~ 1e306; lr * e_s * dS overflows to inf
    batch = Batch.from_sequences([np.zeros((4, 2)), np.zeros((4, 2)), x],
                                 [np.full((4, 1), np.nan), np.full((4, 1), np.nan), np.full((3, 1), 0.9)])
    L = TruncatedRTRL(1e6, backend=backend)
    st = L.init(net)
    with pytest.raises(DivergenceError, match="sequence 2 ") as e:
        L.update(net, st, batch)
    assert e.value.sequence == 2 and st.sequences == 3


@pytest.mark.parametrize("lr", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="learning rate"):
        TruncatedRTRL(lr)


def test_wrong_batch_shape_is_a_clear_error(rng):
    net = init(SMALL["exp4"], rng)
    L = TruncatedRTRL(0.5)
    with pytest.raises(ValueError, match="3 input"):
        L.update(net, L.init(net), Batch(np.zeros((4, 3)), np.zeros((4, 1)), np.array([0, 4])))
    with pytest.raises(ValueError, match="NaN"):
        Batch(np.full((4, 2), np.nan), np.zeros((4, 1)), np.array([0, 4]))


def test_every_kernel_uses_the_shared_jit_flags():
    """No kernel sets compile flags of its own: each @njit decorator is exactly @njit(**JIT)."""
    root = pathlib.Path(kernels_pkg.__file__).parent
    n = 0
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    src = ast.unparse(dec)
                    if "jit" in src:
                        n += 1
                        ok = src == "njit(**JIT)" or (src == "njit(**JIT_NOALIAS)" and (path.name, node.name) in
                                                      (("lanes.py", "_lanes"), ("lstm.py", "_run"),
                                                       ("variants.py", "_run")))
                        assert ok, f"{path.name}:{node.name} uses {src}"
    assert n >= 2
    assert {k: v for k, v in JIT_NOALIAS.items() if k != "noalias"} == JIT
    assert JIT["cache"] is True and JIT["fastmath"] is False and JIT["parallel"] is False


def test_kernel_compiles_one_signature(rng):
    from lstm1997._kernels.lstm import run_lstm
    from lstm1997 import predict

    for name in ("exp4", "exp1_3x2", "exp2a"):
        net = init(SMALL[name], rng)
        b = _random_batch(rng, SMALL[name], n=2)
        TruncatedRTRL(0.1).update(net, TruncatedRTRL(0.1).init(net), b)
        predict(net, b)
    if hasattr(run_lstm, "signatures"):   # absent when NUMBA_DISABLE_JIT=1
        assert len(run_lstm.signatures) == 1


@pytest.mark.parametrize("name", ["exp2a", "exp2c_p50", "exp6b"])
def test_one_hot_path_is_bit_for_bit_the_dense_path(name, rng):
    """A one-hot batch (symbols) trains and predicts exactly like the same batch stored dense."""
    from lstm1997 import predict

    arch = dataclasses.replace(SMALL[name], init_range=0.8)
    lengths = rng.integers(1, 15, size=6)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sym = rng.integers(0, arch.n_in, size=offsets[-1])
    d = rng.random((offsets[-1], arch.n_out))
    d[rng.random(offsets[-1]) < 0.5] = np.nan
    sparse = Batch.one_hot(sym, arch.n_in, d, offsets)
    dense = Batch(sparse.inputs, d, offsets)
    assert sparse.symbols is not None and dense.symbols is None
    np.testing.assert_array_equal(dense.inputs.argmax(axis=1), sym)
    a = init(arch, rng)
    b = a.copy()
    for per_step in (True, False):
        L = TruncatedRTRL(0.6, per_step)
        sa, sb = L.init(a), L.init(b)
        np.testing.assert_array_equal(L.update(a, sa, sparse), L.update(b, sb, dense))
        np.testing.assert_array_equal(a.W_h, b.W_h)
        np.testing.assert_array_equal(a.W_k, b.W_k)
        np.testing.assert_array_equal(sa.dS_c, sb.dS_c)
    np.testing.assert_array_equal(predict(a, sparse), predict(b, dense))
    # and the same against the NumPy reference (which sees the dense inputs)
    ref = a.copy()
    Y = TruncatedRTRL(0.6).update(a, TruncatedRTRL(0.6).init(a), sparse)
    Yr = TruncatedRTRL(0.6, backend="numpy").update(ref, TruncatedRTRL(0.6).init(ref), sparse)
    np.testing.assert_allclose(Y, Yr, rtol=1e-12, atol=1e-14)


def test_batch_slicing_and_take_keep_the_one_hot_form(rng):
    sym = rng.integers(0, 5, size=20)
    b = Batch.one_hot(sym, 5, np.full((20, 1), np.nan), np.array([0, 3, 10, 20]))
    sub = b[1:3]
    assert sub.symbols is not None and len(sub) == 2 and np.array_equal(sub.symbols, sym[3:])
    t = b.take([2, 0, 2])
    assert t.symbols is not None and list(t.lengths) == [10, 3, 10]
    np.testing.assert_array_equal(t.symbols, np.concatenate([sym[10:], sym[:3], sym[10:]]))
    x0, _ = b[0]
    np.testing.assert_array_equal(x0.argmax(axis=1), sym[:3])
    with pytest.raises(ValueError, match="symbols"):
        Batch.one_hot([0, 5], 5, np.zeros((2, 1)), [0, 2])


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", ["exp4", "exp1_3x2", "exp2a"])
def test_outputs_at_target_steps_only_or_none_train_the_same(name, backend, rng):
    """``update(..., outputs="targets"/"none")`` trains exactly as ``"all"`` and returns the rows of the
    steps with a target / nothing (constant memory for long streams)."""
    arch = dataclasses.replace(SMALL[name], init_range=0.8)
    net = init(arch, rng)
    batch = _random_batch(rng, arch, n=6)
    has = ~np.isnan(batch.targets).all(axis=1)
    assert 0 < has.sum() < batch.n_steps
    results = {}
    for outputs in ("all", "targets", "none"):
        n = net.copy()
        L = TruncatedRTRL(0.7, backend=backend)
        st = L.init(n)
        Y = L.update(n, st, batch, outputs=outputs)
        results[outputs] = (Y, n, st)
    Y_all = results["all"][0]
    np.testing.assert_array_equal(results["targets"][0], Y_all[has])
    assert results["none"][0].shape == (0, arch.n_out)
    for outputs in ("targets", "none"):
        np.testing.assert_array_equal(results[outputs][1].W_h, results["all"][1].W_h)
        np.testing.assert_array_equal(results[outputs][1].W_k, results["all"][1].W_k)
        assert results[outputs][2].steps == results["all"][2].steps
    with pytest.raises(ValueError, match="outputs must be one of"):
        TruncatedRTRL(0.1).update(net, TruncatedRTRL(0.1).init(net), batch, outputs="some")


@pytest.mark.parametrize("delta", ["linear", "flat-spot"])
@pytest.mark.parametrize("name", ["exp4", "exp1_3x2", "exp2a", "hidden_units"])
def test_other_output_errors_kernel_equals_numpy_reference(name, delta, rng):
    """The diagnostic output errors (``delta``) in the kernel against the NumPy reference; the default is
    eq. 19 and differs from both."""
    arch = dataclasses.replace(SMALL[name], init_range=0.8)
    net = init(arch, rng)
    batch = _random_batch(rng, arch, every_step=True)
    outs = {}
    for d in (delta, "logistic"):
        fast, slow = net.copy(), net.copy()
        Lf, Ls = TruncatedRTRL(0.7, delta=d), TruncatedRTRL(0.7, backend="numpy", delta=d)
        Yf, Ys = Lf.update(fast, Lf.init(fast), batch), Ls.update(slow, Ls.init(slow), batch)
        np.testing.assert_allclose(Yf, Ys, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fast.W_h, slow.W_h, rtol=1e-11, atol=1e-14)
        outs[d] = fast.W_h
    assert not np.allclose(outs[delta], outs["logistic"])
    with pytest.raises(ValueError, match="delta must be one of"):
        TruncatedRTRL(0.1, delta="cross-entropy")
