"""The conventional recurrent baselines (lstm1997.rnn) and their learners: exact RTRL, full BPTT and
Elman training (paper-spec §1.5 end, §5.1 Table 1, §5.2 Table 2, §7).

Gradients are checked against central finite differences of losses built here from the NumPy step;
the compiled kernels against the NumPy references; one-hot batches against the same batches stored
dense. Small nets, weights drawn from a larger range than the paper's so that every gradient is clearly
non-zero; float64 throughout.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lstm1997.batch import Batch
from lstm1997.learners.bptt_rnn import BPTTRNN, BPTTRNNState, rnn_gradient
from lstm1997.learners.elman import Elman, ElmanState
from lstm1997.learners.rtrl import RTRL, RNNRTRLState
from lstm1997.learners.truncated_rtrl import DivergenceError
from lstm1997.rnn import KINDS, RNN, RNNArchitecture, _plan, forward, init_rnn, predict_rnn, sequence_loss, step

EPS = 1e-6       # central finite-difference step
FD_TOL = 1e-7    # max |grad - fd| / max |grad|


# ---- the paper's baseline nets -------------------------------------------------------------

def table2(p: int, **kw) -> RNNArchitecture:
    """Table 2's RTRL/BPTT net: p+1 inputs and outputs, one self-recurrent hidden unit, no bias."""
    return RNNArchitecture(p + 1, p + 1, 1, "layered", **kw)


PAPER_COUNTS = {
    "table2_rtrl_p4": (table2(4), 36),
    "table2_rtrl_p10": (table2(10), 144),
    "table2_rtrl_bptt_p100": (table2(100), 10404),
    "table1_rtrl_3_hidden": (RNNArchitecture(7, 7, 3, "full"), 170),
    "table1_rtrl_12_hidden": (RNNArchitecture(7, 7, 12, "full"), 494),
    "table1_elm_15_hidden": (RNNArchitecture(7, 7, 15, "elman"), 435),
}


@pytest.mark.parametrize("name", list(PAPER_COUNTS))
def test_weight_counts_are_the_papers(name):
    arch, paper = PAPER_COUNTS[name]
    assert arch.n_weights == paper
    assert init_rnn(arch, np.random.default_rng(0)).n_weights == paper
    if arch.kind == "layered":      # spec §1.5: (p+2) + (p+1)(p+2)
        p = arch.n_in - 1
        assert paper == (p + 2) + (p + 1) * (p + 2)
    biased = dataclasses.replace(arch, bias=True)
    assert biased.n_weights == paper + arch.n_units


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_masks_say_what_each_kind_sees(kind):
    a = RNNArchitecture(3, 2, 4, kind, bias=True)
    m = a.mask()
    H = a.hidden
    sees_in, prev, now = m[:, a.cols_in], m[:, a.cols_prev], m[:, a.cols_now]
    assert not np.triu(now).any(), "same-step connections only from units earlier in the order"
    assert m[:, a.col_bias].all()
    assert sees_in[:H].all() and prev[:H, :H].all()            # hidden: x(t) and hidden(t-1), every kind
    if kind == "full":
        assert sees_in.all() and prev.all() and not now.any()
    elif kind == "full-now":
        assert sees_in.all() and prev.all()
        assert now[H:, :H].all() and now.sum() == a.n_out * H  # ... and outputs see hidden(t)
    else:
        assert not prev[H:].any() and not prev[:, H:].any()    # outputs neither read nor are read at t-1
        assert now[H:, :H].all() and now.sum() == a.n_out * H  # outputs see hidden(t)
        assert sees_in[H:].all() == (kind == "layered") and sees_in[H:].any() == (kind == "layered")


def test_architecture_round_trip_and_validation():
    a = RNNArchitecture(5, 5, 1, "layered", bias=True, init_range=0.2)
    assert RNNArchitecture.from_dict(a.to_dict()) == a
    assert f"{a.n_weights} weights" in a.describe() and "layered" in a.describe()
    with pytest.raises(ValueError, match="unknown"):
        RNNArchitecture.from_dict({**a.to_dict(), "blocks": 2})
    for bad in ({"kind": "lstm"}, {"hidden": 0}, {"n_in": 1.5}, {"bias": "yes"}, {"init_range": -1.0},
                {"n_out": True}):
        with pytest.raises(ValueError):
            dataclasses.replace(a, **bad)


def test_init_and_constructor(rng):
    a = RNNArchitecture(4, 3, 2, "elman", init_range=0.2)
    net = init_rnn(a, rng)
    assert np.all(net.W[~net.mask] == 0.0) and np.all(np.abs(net.W[net.mask]) <= 0.2)
    assert net.W[net.mask].std() > 0.05 and np.all(net.W[net.mask] != 0.0)
    np.testing.assert_array_equal(init_rnn(a, np.random.default_rng(3)).W, init_rnn(a, np.random.default_rng(3)).W)
    with pytest.raises(TypeError):
        init_rnn(a, 3)
    with pytest.raises(ValueError, match="shape"):
        RNN(a, net.W[:, :-1])
    W = net.W.copy()
    W[~net.mask] = 0.5
    with pytest.raises(ValueError, match="absent"):
        RNN(a, W)
    with pytest.raises(ValueError, match="does not have"):
        RNN(a, net.W, np.ones_like(net.mask))
    with pytest.raises(ValueError):
        net.mask[0, 0] = False              # read-only: the kernels' plan is derived from it


def test_one_step_by_hand():
    """Layered net, 1 input, 1 hidden, 1 output: the hidden unit reads its own value at t-1, the output
    the hidden unit's value at the same step (and the input)."""
    a = RNNArchitecture(1, 1, 1, "layered", bias=True)
    net = init_rnn(a, np.random.default_rng(0))

    def f(v):
        return 1.0 / (1.0 + np.exp(-v))

    wh_x, wh_h, wh_b = net.W[0, 0], net.W[0, a.cols_prev.start], net.W[0, a.col_bias]
    wo_x, wo_h, wo_b = net.W[1, 0], net.W[1, a.cols_now.start], net.W[1, a.col_bias]
    x = np.array([[0.3], [-1.2], [2.0]])
    h, ys, hs = 0.0, [], []
    for t in range(3):
        h = f(wh_x * x[t, 0] + wh_h * h + wh_b)
        hs.append(h)
        ys.append(f(wo_x * x[t, 0] + wo_h * h + wo_b))
    y, hid = forward(net, x, return_hidden=True)
    np.testing.assert_allclose(y[:, 0], ys, rtol=1e-15)
    np.testing.assert_allclose(hid[:, 0], hs, rtol=1e-15)


# ---- test nets and data --------------------------------------------------------------------

def _full_partial() -> tuple[RNNArchitecture, np.ndarray]:
    """A fully recurrent net in which only hidden units 1, 2 are recurrent: nobody reads the outputs
    or hidden unit 0 at t-1 (so RTRL carries sensitivities for a strict subset of the units)."""
    a = RNNArchitecture(3, 2, 3, "full", bias=True)
    m = a.mask()
    m[:, a.cols_prev.start] = False
    m[:, a.cols_prev.start + a.hidden:a.cols_prev.stop] = False
    return a, m


NETS = {f"{kind}{'_bias' if bias else ''}": (RNNArchitecture(3, 2, 3, kind, bias=bias), None)
        for kind in sorted(KINDS) for bias in (False, True)}
NETS["full_partial"] = _full_partial()


def make_net(name: str, rng, init_range: float = 0.8) -> RNN:
    arch, mask = NETS[name]
    arch = dataclasses.replace(arch, init_range=init_range)
    net = init_rnn(arch, rng)
    if mask is not None:
        net = RNN(arch, np.where(mask, net.W, 0.0), mask)
    return net


def make_sequence(rng, arch, T: int = 6, p_target: float = 0.6):
    """Inputs in [-1, 1]; targets in [0, 1], each present with probability ``p_target`` (NaN otherwise),
    at least one at the last step."""
    x = rng.uniform(-1.0, 1.0, size=(T, arch.n_in))
    d = rng.uniform(size=(T, arch.n_out))
    keep = rng.random(d.shape) < p_target
    keep[-1, 0] = True
    return x, np.where(keep, d, np.nan)


def make_batch(rng, arch, n: int = 4) -> Batch:
    seqs = [make_sequence(rng, arch, T=int(rng.integers(1, 9))) for _ in range(n)]
    return Batch.from_sequences([s[0] for s in seqs], [s[1] for s in seqs])


def fd_gradient(net: RNN, loss_fn, eps: float = EPS) -> np.ndarray:
    """Central finite differences of ``loss_fn(net)`` over every present weight (0 elsewhere)."""
    G = np.zeros_like(net.W)
    for idx in zip(*np.nonzero(net.mask)):
        w0 = net.W[idx]
        net.W[idx] = w0 + eps
        lp = loss_fn(net)
        net.W[idx] = w0 - eps
        lm = loss_fn(net)
        net.W[idx] = w0
        G[idx] = (lp - lm) / (2 * eps)
    return G


def rel_err(g, f) -> float:
    return float(np.max(np.abs(g - f)) / np.max(np.abs(g)))


def train(learner, net: RNN, batch: Batch):
    """(trained copy, outputs, state) of one ``learner.update``."""
    n = net.copy()
    state = learner.init(n)
    Y = learner.update(n, state, batch)
    return n, Y, state


# ---- exact gradients -----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(NETS))
def test_rtrl_per_sequence_is_minus_lr_times_the_exact_gradient(name, rng):
    """RTRL(per_step=False) update == -lr * BPTT gradient == -lr * central FD of the sequence loss
    (NaN targets present), both backends; BPTTRNN makes the same update."""
    net = make_net(name, rng)
    x, d = make_sequence(rng, net.arch)
    assert np.isnan(d).any() and (~np.isnan(d)).sum() > 2
    g = rnn_gradient(net, x, d)
    assert np.all(g[~net.mask] == 0.0)
    f = fd_gradient(net, lambda n: sequence_loss(n, x, d))
    assert np.max(np.abs(g)) > 1e-2 and rel_err(g, f) < FD_TOL, rel_err(g, f)
    lr = 0.7
    batch = Batch.from_sequences([x], [d])
    for learner in (RTRL(lr, per_step=False), RTRL(lr, per_step=False, backend="numpy"),
                    BPTTRNN(lr), BPTTRNN(lr, backend="numpy")):
        trained, _, _ = train(learner, net, batch)
        np.testing.assert_allclose(trained.W - net.W, -lr * g, rtol=1e-10, atol=1e-14, err_msg=repr(learner))
        assert np.all(trained.W[~net.mask] == 0.0)


@pytest.mark.parametrize("name", ["layered", "full_bias", "full_partial", "elman"])
def test_rtrl_sensitivities_are_derivatives_of_the_recurrent_units(name, rng):
    """The state's p[r, w] after a sequence is dy_rec[r](T-1)/dw at the weights it ran with (central FD)."""
    net = make_net(name, rng)
    x, d = make_sequence(rng, net.arch, T=5)
    rec = _plan(net).rec
    assert rec.size == (2 if name == "full_partial" else net.arch.n_units if name.startswith("full") else 3)

    def y_rec_last(n):
        y = np.zeros(n.arch.n_units)
        for t in range(x.shape[0]):
            y = step(n, x[t], y).y
        return y[rec]

    _, _, state = train(RTRL(0.5, per_step=False), net, Batch.from_sequences([x], [d]))
    for r in range(rec.size):
        f = fd_gradient(net, lambda n, r=r: y_rec_last(n)[r])
        assert rel_err(f[net.mask], state.p[r]) < FD_TOL


@pytest.mark.parametrize("name", list(NETS))
def test_elman_is_gradient_descent_on_the_frozen_context_loss(name, rng):
    """Elman's update at every step == -lr * FD gradient of E(t) with the context y(t-1) a constant
    (its forward value, computed with the weights before step t's update)."""
    net = make_net(name, rng)
    x, d = make_sequence(rng, net.arch, T=5)
    lr = 0.6

    ref = net.copy()
    context = np.zeros(net.arch.n_units)
    for t in range(x.shape[0]):
        has = ~np.isnan(d[t])

        def frozen_context_loss(n, t=t, context=context, has=has):
            y = step(n, x[t], context).y[n.arch.rows_out]
            return 0.5 * float(np.sum((d[t][has] - y[has]) ** 2))

        g = fd_gradient(ref, frozen_context_loss)
        next_context = step(ref, x[t], context).y      # forward value before the update
        ref.W -= lr * g
        context = next_context

    batch = Batch.from_sequences([x], [d])
    for learner in (Elman(lr), Elman(lr, backend="numpy")):
        trained, _, _ = train(learner, net, batch)
        assert rel_err(ref.W - net.W, trained.W - net.W) < 1e-6, learner
        assert np.all(trained.W[~net.mask] == 0.0)


@pytest.mark.parametrize("name", ["layered", "full", "elman"])
def test_elman_truncation_is_real(name, rng):
    """With the only target at the last step both Elman and per-step RTRL make one update, at that
    step: RTRL's is the exact gradient, Elman's drops the paths through the context, so they differ
    (in the recurrent hidden weights) while the output weights of the Elman net agree."""
    net = make_net(name, rng)
    x, d = make_sequence(rng, net.arch)
    d[:-1] = np.nan
    batch = Batch.from_sequences([x], [d])
    exact, _, _ = train(RTRL(1.0), net, batch)
    elman, _, _ = train(Elman(1.0), net, batch)
    np.testing.assert_allclose(exact.W - net.W, -rnn_gradient(net, x, d), rtol=1e-10, atol=1e-14)
    a = net.arch
    diff = np.abs(exact.W - elman.W)
    assert diff[a.rows_hidden].max() > 1e-4 * np.abs(exact.W - net.W).max()
    if name == "elman":   # outputs read hidden(t) only: the last step's backprop is all they get
        np.testing.assert_allclose(elman.w_out, exact.w_out, rtol=1e-12, atol=1e-15)


def test_per_step_rtrl_differs_from_per_sequence_with_targets_at_several_steps(rng):
    net = make_net("full_bias", rng)
    x, d = make_sequence(rng, net.arch, T=6, p_target=1.0)
    batch = Batch.from_sequences([x], [d])
    for backend in ("numba", "numpy"):
        a, _, _ = train(RTRL(0.8, per_step=True, backend=backend), net, batch)
        b, _, _ = train(RTRL(0.8, per_step=False, backend=backend), net, batch)
        assert not np.allclose(a.W, b.W, rtol=1e-6, atol=0)
        # with the only target at the last step the two are the same update
        d_end = np.where(np.arange(6)[:, None] == 5, d, np.nan)
        final_only = Batch.from_sequences([x], [d_end])
        a, _, _ = train(RTRL(0.8, per_step=True, backend=backend), net, final_only)
        b, _, _ = train(RTRL(0.8, per_step=False, backend=backend), net, final_only)
        np.testing.assert_allclose(a.W, b.W, rtol=1e-13, atol=1e-15)


# ---- compiled kernels ----------------------------------------------------------------------

LEARNERS = {
    "rtrl_per_step": lambda backend: RTRL(0.7, per_step=True, backend=backend),
    "rtrl_per_sequence": lambda backend: RTRL(0.7, per_step=False, backend=backend),
    "bptt": lambda backend: BPTTRNN(0.7, backend=backend),
    "elman": lambda backend: Elman(0.7, backend=backend),
}


@pytest.mark.parametrize("learner", list(LEARNERS))
@pytest.mark.parametrize("name", list(NETS))
def test_kernel_equals_numpy_reference(name, learner, rng):
    net = make_net(name, rng)
    batch = make_batch(rng, net.arch)
    fast, Yf, sf = train(LEARNERS[learner]("numba"), net, batch)
    slow, Ys, ss = train(LEARNERS[learner]("numpy"), net, batch)
    # every output of every step agrees, so every intermediate weight state agreed as well
    np.testing.assert_allclose(Yf, Ys, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fast.W, slow.W, rtol=1e-12, atol=1e-13)
    assert np.max(np.abs(fast.W - net.W)) > 1e-3, "training changed nothing"
    assert np.all(fast.W[~net.mask] == 0.0)
    assert (sf.sequences, sf.steps) == (ss.sequences, ss.steps) == (len(batch), batch.n_steps)
    if learner.startswith("rtrl"):
        np.testing.assert_allclose(sf.p, ss.p, rtol=1e-11, atol=1e-13)


def task2a_batch(rng, p: int, n: int) -> Batch:
    """Task 2a sequences (spec §5.2) one-hot: (y, a_1..a_{p-1}, y) or (x, a_1..a_{p-1}, x); the inputs
    are the first p symbols, the targets the next symbol at every step."""
    syms, targets = [], []
    for c in rng.integers(p - 1, p + 1, size=n):   # index p-1 = x, p = y
        s = np.concatenate([[c], np.arange(p - 1), [c]])
        syms.append(s[:-1])
        targets.append(np.eye(p + 1)[s[1:]])
    offsets = np.concatenate([[0], np.cumsum([p] * n)])
    return Batch.one_hot(np.concatenate(syms), p + 1, np.concatenate(targets), offsets)


@pytest.mark.parametrize("learner", list(LEARNERS))
def test_table2_net_kernel_equals_reference_on_task2a(learner, rng):
    """Table 2's layout (p = 6: one self-recurrent hidden unit, outputs see x(t) and hidden(t)) on one-hot
    Task-2a data: the only recurrent unit is the hidden one, and the kernel follows the reference."""
    net = init_rnn(table2(6, init_range=0.2), rng)
    plan = _plan(net)
    assert plan.rec.tolist() == [0] and plan.infl.tolist() == [0]
    batch = task2a_batch(rng, 6, 3)
    fast, Yf, _ = train(LEARNERS[learner]("numba"), net, batch)
    slow, Ys, _ = train(LEARNERS[learner]("numpy"), net, batch)
    np.testing.assert_allclose(Yf, Ys, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fast.W, slow.W, rtol=1e-12, atol=1e-13)


def test_table2_p100_rtrl_carries_one_row_of_sensitivities():
    """For p = 100 (10404 weights) RTRL keeps 1 x n_weights sensitivities, only those of the hidden
    unit's own 102 weights non-zero: a step costs O(weights), not O(units x weights)."""
    rng = np.random.default_rng(7)
    net = init_rnn(table2(100, init_range=0.2), rng)
    learner = RTRL(1.0)
    state = learner.init(net)
    assert state.p.shape == (1, 10404)
    learner.update(net, state, task2a_batch(rng, 100, 2))
    nz = np.nonzero(state.p[0])[0]
    assert nz.size > 0 and nz.max() < net.mask[0].sum() == 102
    assert state.sequences == 2 and state.steps == 200


@pytest.mark.parametrize("learner", list(LEARNERS))
@pytest.mark.parametrize("name", ["layered", "full_bias", "elman", "full_partial"])
def test_one_hot_batches_are_bit_for_bit_the_dense_batches(name, learner, rng):
    arch = NETS[name][0]
    net = make_net(name, rng)
    n_in = arch.n_in
    lengths = rng.integers(1, 8, size=4)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sym = rng.integers(0, n_in, size=offsets[-1])
    d = np.where(rng.random((offsets[-1], arch.n_out)) < 0.7, rng.random((offsets[-1], arch.n_out)), np.nan)
    one_hot = Batch.one_hot(sym, n_in, d, offsets)
    dense = Batch(one_hot.inputs, d, offsets)
    a, Ya, sa = train(LEARNERS[learner]("numba"), net, one_hot)
    b, Yb, sb = train(LEARNERS[learner]("numba"), net, dense)
    np.testing.assert_array_equal(Ya, Yb)
    np.testing.assert_array_equal(a.W, b.W)
    assert not np.array_equal(a.W, net.W)
    if learner.startswith("rtrl"):
        np.testing.assert_array_equal(sa.p, sb.p)
    np.testing.assert_array_equal(predict_rnn(a, one_hot), predict_rnn(a, dense))


@pytest.mark.parametrize("name", list(NETS))
def test_predict_equals_numpy_forward(name, rng):
    net = make_net(name, rng)
    batch = make_batch(rng, net.arch, n=3)
    Y = predict_rnn(net, batch)
    np.testing.assert_allclose(Y, np.concatenate([forward(net, batch[i][0]) for i in range(len(batch))]),
                               rtol=1e-13, atol=1e-15)


def test_training_is_deterministic_and_splits_like_one_batch(rng):
    net = make_net("full_bias", rng)
    batch = make_batch(rng, net.arch, n=6)
    for make in LEARNERS.values():
        learner = make("numba")
        a, Ya, _ = train(learner, net, batch)
        b = net.copy()
        sb = learner.init(b)
        Yb = np.concatenate([learner.update(b, sb, batch[0:2]), learner.update(b, sb, batch[2:6])])
        np.testing.assert_array_equal(Ya, Yb)
        np.testing.assert_array_equal(a.W, b.W)
        assert (sb.sequences, sb.steps) == (6, batch.n_steps)


def test_kernels_compile_one_signature_each(rng):
    from lstm1997._kernels import rnn as k

    dense_net = make_net("layered", rng)
    one_hot_net = init_rnn(table2(2), rng)
    for net, b in ((dense_net, make_batch(rng, dense_net.arch, n=2)), (one_hot_net, task2a_batch(rng, 2, 2))):
        predict_rnn(net, b)
        for make in LEARNERS.values():
            learner = make("numba")
            learner.update(net, learner.init(net), b)
    for kernel in (k.rnn_forward, k.rnn_rtrl, k.rnn_bptt, k.rnn_elman):
        if hasattr(kernel, "signatures"):   # absent when NUMBA_DISABLE_JIT=1
            assert len(kernel.signatures) == 1, kernel


# ---- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("learner", list(LEARNERS))
def test_divergence_names_the_sequence(learner, backend):
    """Input 0 reaches no net input (its weights are 0) but its huge value makes the gradient of those
    weights overflow: sequences 0 and 1 have no targets, sequence 2 diverges."""
    net = init_rnn(RNNArchitecture(2, 1, 2, "full", bias=True, init_range=0.5), np.random.default_rng(0))
    net.W[:, 0] = 0.0
    x = np.zeros((3, 2))
    x[:, 0] = 1e307
    batch = Batch.from_sequences([np.zeros((4, 2)), np.zeros((4, 2)), x],
                                 [np.full((4, 1), np.nan), np.full((4, 1), np.nan), np.full((3, 1), 0.9)])
    L = dataclasses.replace(LEARNERS[learner](backend), lr=1e6)
    state = L.init(net)
    with pytest.raises(DivergenceError, match="sequence 2 ") as e:
        L.update(net, state, batch)
    assert e.value.sequence == 2 and state.sequences == 3 and state.steps == 11


@pytest.mark.parametrize("lr", [0, 0.0, -0.1, float("nan"), float("inf"), "0.1", None, True])
@pytest.mark.parametrize("cls", [RTRL, BPTTRNN, Elman])
def test_bad_learning_rate(cls, lr):
    with pytest.raises(ValueError, match="learning rate"):
        cls(lr)


def test_bad_inputs_are_clear_errors(rng):
    net = make_net("layered", rng)
    a = net.arch
    wrong_in = Batch(np.zeros((4, a.n_in + 1)), np.zeros((4, a.n_out)), np.array([0, 4]))
    wrong_out = Batch(np.zeros((4, a.n_in)), np.zeros((4, a.n_out + 1)), np.array([0, 4]))
    for learner in (RTRL(0.1), BPTTRNN(0.1), Elman(0.1), RTRL(0.1, backend="numpy")):
        state = learner.init(net)
        with pytest.raises(ValueError, match=f"{a.n_in + 1} input.*network has {a.n_in}"):
            learner.update(net, state, wrong_in)
        with pytest.raises(ValueError, match=f"{a.n_out + 1} target.*{a.n_out} output"):
            learner.update(net, state, wrong_out)
        with pytest.raises(TypeError):
            learner.update(net, state, (np.zeros((4, a.n_in)), np.zeros((4, a.n_out))))
    with pytest.raises(ValueError, match=f"{a.n_in + 1} input"):
        predict_rnn(net, wrong_in)
    with pytest.raises(ValueError, match="backend"):
        RTRL(0.1, backend="torch")
    other = make_net("full", rng)
    with pytest.raises(ValueError, match="state does not belong"):
        RTRL(0.1).update(net, RTRL(0.1).init(other), make_batch(rng, a, 1))
    with pytest.raises(TypeError, match="RNNRTRLState"):
        RTRL(0.1).update(net, BPTTRNNState(), make_batch(rng, a, 1))
    with pytest.raises(TypeError, match="ElmanState"):
        Elman(0.1).update(net, RNNRTRLState(np.zeros((3, net.n_weights))), make_batch(rng, a, 1))
    with pytest.raises(ValueError, match=r"x must have shape \(T, 3\)"):
        forward(net, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="d must have shape"):
        rnn_gradient(net, np.zeros((4, 3)), np.zeros((3, 2)))
    assert isinstance(BPTTRNN(0.1).init(net), BPTTRNNState) and isinstance(Elman(0.1).init(net), ElmanState)


def test_empty_and_target_free_sequences(rng):
    net = make_net("full_bias", rng)
    x, _ = make_sequence(rng, net.arch)
    no_targets = np.full((len(x), net.arch.n_out), np.nan)
    assert not rnn_gradient(net, x, no_targets).any() and not rnn_gradient(net, x[:0], no_targets[:0]).any()
    batch = Batch.from_sequences([x[:0], x, x[:0]], [no_targets[:0], no_targets, no_targets[:0]])
    for make in LEARNERS.values():
        for backend in ("numba", "numpy"):
            trained, Y, state = train(make(backend), net, batch)
            np.testing.assert_array_equal(trained.W, net.W)
            np.testing.assert_allclose(Y, forward(net, x), rtol=1e-13)
            assert (state.sequences, state.steps) == (3, len(x))
