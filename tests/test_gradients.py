"""Gradient oracles (lstm1997.learners.bptt) against finite differences, and the paper's learning
rule (TruncatedRTRL) against the truncated-graph gradient (paper-spec §2.4, §2.6).

Every topology of spec §1.5 is covered (inputs/outputs shrunk for 2a/2b and 2c), plus nets with
conventional hidden units and with g1/id squashing in connectivity F. Weights are drawn from a
larger range than the paper's so that all gradients are clearly non-zero. float64 throughout.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lstm1997 import Architecture, Batch, TruncatedRTRL, forward, init
from lstm1997.learners.bptt import BPTT, BPTTState, bptt_gradient
from lstm1997.learners.truncated_rtrl import DivergenceError
from lstm1997.network import step

GATES = ("in_gate", "out_gate")
ALL = ("in_gate", "out_gate", "cell", "hidden", "output")

# The paper's topologies (spec §1.5 table, Table 10), with their paper weight counts. 2a/2b is
# shrunk from p+1 = 101 to 5 inputs/outputs, 2c from p = 50.. to p = 4 (8 inputs).
PAPER = {
    "exp1_4x1": (Architecture(7, 7, blocks=4, cells=1, bias=GATES, init_range=0.2), 264),
    "exp1_3x2": (Architecture(7, 7, blocks=3, cells=2, bias=GATES, init_range=0.2), 276),
    "exp2ab": (Architecture(5, 5, blocks=1, cells=1, connectivity="B", output_gates=False,
                            outputs_see_inputs=True, bias=(), g="g1", h="id", init_range=0.2),
               5 * 5 + 3 * 5),                     # (p+1)^2 + (p+1) + 2(p+1), p+1 = 5
    "exp2c": (Architecture(8, 2, blocks=2, cells=1, bias=(), init_range=0.2), 6 * (8 + 6) + 2 * 2),
    "exp3": (Architecture(1, 1, blocks=3, cells=1, bias=("in_gate", "out_gate", "cell")), 102),
    "exp4": (Architecture(2, 1, blocks=2, cells=2, bias=ALL), 93),
    "exp6a": (Architecture(8, 4, blocks=2, cells=2, bias=ALL), 156),
    "exp6b": (Architecture(8, 8, blocks=3, cells=2, bias=ALL), 308),
}
EXTRA = {
    "F_hidden2": Architecture(3, 2, blocks=2, cells=2, hidden=2, bias=ALL),
    "F_g1_id": Architecture(3, 2, blocks=2, cells=1, g="g1", h="id", bias=ALL),
    # corners Architecture can also describe
    "F_noog_seein_hidden": Architecture(3, 2, blocks=2, cells=2, hidden=1, output_gates=False,
                                        outputs_see_inputs=True, bias=("cell", "hidden", "output"),
                                        g="g1"),
    "B_og_hidden": Architecture(3, 2, blocks=2, cells=1, hidden=1, connectivity="B", h="id",
                                bias=("in_gate", "out_gate", "output")),
}
ARCHS = {name: a for name, (a, _) in PAPER.items()} | EXTRA
F_NAMES = [n for n, a in ARCHS.items() if a.connectivity == "F"]
B_NAMES = [n for n, a in ARCHS.items() if a.connectivity == "B"]

T = 7            # steps per test sequence
EPS = 1e-6       # central finite-difference step
FD_TOL = 1e-7    # max |grad - fd| / max |grad|
MAX_REL_ERR: dict[str, float] = {}   # filled by the FD tests, printed by the last test


def _seed(name: str, extra: int = 0) -> int:
    return sum(map(ord, name)) * 1000 + extra


def make_case(name: str, pattern: str, init_range: float = 0.8, T: int = T):
    """A random network of topology ``name`` and one sequence ``(x, d)``.

    pattern "sparse": each target present with probability 1/2 (NaN otherwise), at least one
    present at the last step; "final": targets only at the final step.
    """
    rng = np.random.default_rng(_seed(name, {"sparse": 1, "final": 2}[pattern]))
    arch = dataclasses.replace(ARCHS[name], init_range=init_range)
    net = init(arch, rng)
    x = rng.uniform(-1.0, 1.0, size=(T, arch.n_in))
    d = rng.uniform(0.0, 1.0, size=(T, arch.n_out))
    if pattern == "sparse":
        keep = rng.random((T, arch.n_out)) < 0.5
        keep[-1, 0] = True
    else:
        keep = np.zeros((T, arch.n_out), dtype=bool)
        keep[-1, :] = True
    d = np.where(keep, d, np.nan)
    return net, x, d


def full_loss(net, x, d) -> float:
    """1/2 sum (d - y)^2 over present targets, with lstm1997.forward."""
    y = forward(net, x)
    has = ~np.isnan(d)
    return 0.5 * float(np.sum((d[has] - y[has]) ** 2))


def frozen_trajectory(net, x) -> list[np.ndarray]:
    """y_hidden(t-1) for t = 0..T-1 at the given weights (the recurrent inputs)."""
    y_prev, s = np.zeros(net.arch.n_hidden), np.zeros(net.arch.n_cells)
    out = []
    for t in range(x.shape[0]):
        out.append(y_prev)
        o = step(net, x[t], y_prev, s)
        y_prev, s = o.y_hidden, o.s_c
    return out


def frozen_loss(net, x, d, y_frozen) -> float:
    """The loss of the truncated graph, as a function of the weights: every hidden unit reads
    its recurrent inputs from the frozen trajectory ``y_frozen``, while the CEC states s_c chain
    live and the outputs read the live y_c(t) (and y_i(t)) of the same step (spec §2.6)."""
    s = np.zeros(net.arch.n_cells)
    loss = 0.0
    for t in range(x.shape[0]):
        o = step(net, x[t], y_frozen[t], s)
        s = o.s_c
        has = ~np.isnan(d[t])
        loss += 0.5 * float(np.sum((d[t][has] - o.y_k[has]) ** 2))
    return loss


def fd_gradient(net, loss_fn, eps: float = EPS):
    """Central finite differences of ``loss_fn(net)`` over every existing weight."""
    g_h = np.zeros_like(net.W_h)
    g_k = np.zeros_like(net.W_k)
    for W, G, M in ((net.W_h, g_h, net.mask_h), (net.W_k, g_k, net.mask_k)):
        for idx in zip(*np.nonzero(M)):
            w0 = W[idx]
            W[idx] = w0 + eps
            lp = loss_fn(net)
            W[idx] = w0 - eps
            lm = loss_fn(net)
            W[idx] = w0
            G[idx] = (lp - lm) / (2 * eps)
    return g_h, g_k


def rel_err(g_h, g_k, f_h, f_k) -> float:
    g = np.concatenate([g_h.ravel(), g_k.ravel()])
    f = np.concatenate([f_h.ravel(), f_k.ravel()])
    return float(np.max(np.abs(g - f)) / np.max(np.abs(g)))


def weight_change(learner, net, x, d):
    """(ΔW_h, ΔW_k, W_h after, W_k after) of one learner.update on the single sequence (x, d)."""
    n = net.copy()
    learner.update(n, learner.init(n), Batch.from_sequences([x], [d]))
    return n.W_h - net.W_h, n.W_k - net.W_k, n.W_h, n.W_k


# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(PAPER))
def test_topologies_are_the_papers(name):
    arch, n_weights = PAPER[name]
    assert arch.n_weights == n_weights


@pytest.mark.parametrize("pattern", ["sparse", "final"])
@pytest.mark.parametrize("name", list(ARCHS))
def test_full_gradient_matches_finite_differences(name, pattern):
    """(a) full BPTT == central FD of the loss computed with lstm1997.forward."""
    net, x, d = make_case(name, pattern)
    loss, g_h, g_k = bptt_gradient(net, x, d, truncated=False)
    assert loss == pytest.approx(full_loss(net, x, d), rel=1e-13)
    assert np.all(g_h[~net.mask_h] == 0.0) and np.all(g_k[~net.mask_k] == 0.0)
    f_h, f_k = fd_gradient(net, lambda n: full_loss(n, x, d))
    err = rel_err(g_h, g_k, f_h, f_k)
    MAX_REL_ERR[f"full/{name}/{pattern}"] = err
    assert np.max(np.abs(g_h)) > 1e-3 and err < FD_TOL, err


@pytest.mark.parametrize("pattern", ["sparse", "final"])
@pytest.mark.parametrize("name", list(ARCHS))
def test_truncated_gradient_matches_frozen_recurrence_fd(name, pattern):
    """(b) truncated BPTT == central FD of the loss with the recurrent hidden inputs frozen at
    their base-weight trajectory (CEC and same-step outputs live)."""
    net, x, d = make_case(name, pattern)
    loss, g_h, g_k = bptt_gradient(net, x, d, truncated=True)
    y_frozen = frozen_trajectory(net, x)
    assert loss == pytest.approx(frozen_loss(net, x, d, y_frozen), rel=1e-13)
    assert loss == pytest.approx(full_loss(net, x, d), rel=1e-13)  # same forward values
    assert np.all(g_h[~net.mask_h] == 0.0) and np.all(g_k[~net.mask_k] == 0.0)
    f_h, f_k = fd_gradient(net, lambda n: frozen_loss(n, x, d, y_frozen))
    err = rel_err(g_h, g_k, f_h, f_k)
    MAX_REL_ERR[f"trunc/{name}/{pattern}"] = err
    assert np.max(np.abs(g_h)) > 1e-3 and err < FD_TOL, err


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("per_step, pattern", [(False, "sparse"), (False, "final"), (True, "final")])
@pytest.mark.parametrize("name", list(ARCHS))
def test_paper_rule_is_truncated_gradient(name, per_step, pattern, backend):
    """(c) TruncatedRTRL(per_step=False) on one sequence changes W by exactly -lr * truncated grad;
    (d) with the only target at the final step, per-step application is the same update."""
    net, x, d = make_case(name, pattern)
    lr = 1.0
    _, g_h, g_k = bptt_gradient(net, x, d, truncated=True)
    dW_h, dW_k, W_h, W_k = weight_change(TruncatedRTRL(lr, per_step=per_step, backend=backend), net, x, d)
    assert np.max(np.abs(dW_h)) > 1e-3
    np.testing.assert_allclose(dW_h, -lr * g_h, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(dW_k, -lr * g_k, rtol=1e-9, atol=1e-13)
    assert np.all(W_h[~net.mask_h] == 0.0) and np.all(W_k[~net.mask_k] == 0.0)


@pytest.mark.parametrize("name", F_NAMES)
def test_truncation_is_real_for_recurrent_nets(name):
    """(e1) connectivity F: truncated and full gradients differ (and the full one is the FD one)."""
    net, x, d = make_case(name, "sparse")
    _, g_h, g_k = bptt_gradient(net, x, d, truncated=False)
    _, t_h, t_k = bptt_gradient(net, x, d, truncated=True)
    diff = max(np.max(np.abs(g_h - t_h)), np.max(np.abs(g_k - t_k)))
    assert diff > 1e-4 * np.max(np.abs(g_h)), diff


@pytest.mark.parametrize("pattern", ["sparse", "final"])
@pytest.mark.parametrize("name", B_NAMES)
def test_truncation_is_exact_without_recurrence(name, pattern):
    """(e2) connectivity B: no recurrence except the CEC, so both gradients agree."""
    net, x, d = make_case(name, pattern)
    l1, g_h, g_k = bptt_gradient(net, x, d, truncated=False)
    l2, t_h, t_k = bptt_gradient(net, x, d, truncated=True)
    assert l1 == l2
    assert np.max(np.abs(g_h)) > 1e-3
    np.testing.assert_allclose(t_h, g_h, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(t_k, g_k, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("per_step", [True, False])
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", ["exp1_3x2", "exp1_4x1", "exp6b", "exp3", "F_hidden2",
                                  "F_noog_seein_hidden"])
def test_every_recurrent_weight_is_trained(name, backend, per_step):
    """(f) guard against the misreading "only the CEC path is recurrent, so recurrent weights are
    fixed": every existing recurrent weight (hidden-unit sources y_hidden(t-1)) gets a non-zero
    update from the paper's rule, and every absent weight stays exactly 0."""
    net, x, _ = make_case(name, "sparse", T=5)
    rng = np.random.default_rng(_seed(name, 7))
    d = rng.uniform(0.0, 1.0, size=(5, net.arch.n_out))
    d[[0, 2], :] = np.nan            # targets at steps 1, 3, 4
    a = net.arch
    rec = np.zeros_like(net.mask_h)
    rec[:, a.n_in:a.n_in + a.n_hidden] = True
    rec &= net.mask_h
    assert rec.sum() == a.n_hidden * a.n_hidden
    dW_h, dW_k, W_h, W_k = weight_change(TruncatedRTRL(0.5, per_step=per_step, backend=backend),
                                         net, x, d)
    assert np.all(np.abs(dW_h[rec]) > 1e-10 * np.max(np.abs(dW_h))), np.argwhere(rec & (dW_h == 0))
    assert np.all(dW_h[net.mask_h] != 0.0) and np.all(dW_k[net.mask_k] != 0.0)
    assert np.all(W_h[~net.mask_h] == 0.0) and np.all(W_k[~net.mask_k] == 0.0)
    # the oracle agrees: the truncated gradient of every recurrent weight is non-zero
    _, g_h, _ = bptt_gradient(net, x, d, truncated=True)
    assert np.all(g_h[rec] != 0.0)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_absent_weights_stay_zero_in_sparse_nets(backend):
    """(f) also for connectivity B, where most of W_h is absent."""
    for name in B_NAMES:
        net, x, d = make_case(name, "sparse")
        _, _, W_h, W_k = weight_change(TruncatedRTRL(0.5, backend=backend), net, x, d)
        assert np.all(W_h[~net.mask_h] == 0.0) and np.all(W_k[~net.mask_k] == 0.0)
        assert np.all(W_h[net.mask_h] != net.W_h[net.mask_h])


def _two_sequences(name: str):
    net, x0, d0 = make_case(name, "sparse")
    rng = np.random.default_rng(_seed(name, 11))
    x1 = rng.uniform(-1.0, 1.0, size=(4, net.arch.n_in))
    d1 = np.where(rng.random((4, net.arch.n_out)) < 0.5, rng.uniform(size=(4, net.arch.n_out)), np.nan)
    d1[-1] = 0.3
    return net, [x0, x1], [d0, d1]


@pytest.mark.parametrize("truncated", [False, True])
@pytest.mark.parametrize("name", ["exp1_3x2", "exp2ab", "F_hidden2"])
def test_bptt_learner_is_sequential_gradient_descent(name, truncated):
    """(g) BPTT(lr).update on 2 sequences == -lr * grad applied after each sequence."""
    net, xs, ds = _two_sequences(name)
    lr = 0.7
    learner = BPTT(lr, truncated=truncated)
    trained = net.copy()
    state = learner.init(trained)
    assert isinstance(state, BPTTState)
    Y = learner.update(trained, state, Batch.from_sequences(xs, ds))

    ref = net.copy()
    Y_ref = []
    for x, d in zip(xs, ds):
        Y_ref.append(forward(ref, x))
        _, g_h, g_k = bptt_gradient(ref, x, d, truncated=truncated)
        ref.W_h -= lr * g_h
        ref.W_k -= lr * g_k
    assert np.max(np.abs(trained.W_h - net.W_h)) > 1e-3
    np.testing.assert_allclose(trained.W_h, ref.W_h, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(trained.W_k, ref.W_k, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(Y, np.concatenate(Y_ref), rtol=1e-13, atol=0)
    assert (state.sequences, state.steps) == (2, sum(len(x) for x in xs))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_bptt_truncated_learner_equals_paper_rule_per_sequence(backend):
    """(g) on a batch of 2, BPTT(truncated=True) == TruncatedRTRL(per_step=False)."""
    net, xs, ds = _two_sequences("exp6a")
    batch = Batch.from_sequences(xs, ds)
    a, b = net.copy(), net.copy()
    Ya = BPTT(0.5, truncated=True).update(a, BPTTState(), batch)
    rule = TruncatedRTRL(0.5, per_step=False, backend=backend)
    Yb = rule.update(b, rule.init(b), batch)
    np.testing.assert_allclose(a.W_h, b.W_h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.W_k, b.W_k, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Ya, Yb, rtol=1e-12, atol=0)


@pytest.mark.parametrize("lr", [0, 0.0, -0.1, float("nan"), float("inf"), -np.inf, "0.1", None, True])
def test_bptt_rejects_bad_learning_rate(lr):
    with pytest.raises(ValueError):
        BPTT(lr)


def test_bptt_validates_inputs_and_handles_empty_sequences():
    net, x, d = make_case("exp4", "sparse")
    with pytest.raises(ValueError):
        bptt_gradient(net, x[:, :1], d)
    with pytest.raises(ValueError):
        bptt_gradient(net, x, d[:-1])
    with pytest.raises(ValueError):   # wrong number of inputs in the batch
        BPTT(0.1).update(net, BPTTState(), Batch.from_sequences([x[:, :1]], [d]))
    with pytest.raises(TypeError):
        BPTT(0.1).update(net, BPTTState(), (x, d))
    loss, g_h, g_k = bptt_gradient(net, x[:0], d[:0])
    assert loss == 0.0 and not g_h.any() and not g_k.any()
    # an all-NaN target sequence: no loss, no gradient, but the outputs are returned
    n = net.copy()
    Y = BPTT(0.1).update(n, BPTTState(), Batch.from_sequences([x], [np.full_like(d, np.nan)]))
    np.testing.assert_array_equal(n.W_h, net.W_h)
    np.testing.assert_allclose(Y, forward(net, x), rtol=1e-13)


def test_bptt_divergence_raises():
    """A learning rate so large that lr * grad overflows makes a weight infinite."""
    net, x, d = make_case("exp2ab", "final")
    n_in = net.arch.n_in
    net.W_h[:, :n_in] *= 1e-3          # the same net inputs, but with 1000x larger inputs the
    net.W_k[:, :n_in] *= 1e-3          # gradients of the input weights are 1000x larger
    x = x * 1e3
    learner = BPTT(1e308)
    _, g_h, g_k = bptt_gradient(net, x, d)
    assert max(np.max(np.abs(g_h)), np.max(np.abs(g_k))) > np.finfo(float).max / 1e308  # precondition
    state = learner.init(net)
    with pytest.raises(DivergenceError) as exc:
        learner.update(net, state, Batch.from_sequences([x, x], [d, d]))
    assert exc.value.sequence == 0 and state.sequences == 1 and state.steps == len(x)


def test_report_max_relative_errors():
    """Not a check: prints the worst FD errors measured above (run with -s to see them)."""
    if MAX_REL_ERR:
        worst = sorted(MAX_REL_ERR.items(), key=lambda kv: -kv[1])[:5]
        print("\nmax relative FD errors:", ", ".join(f"{k}={v:.1e}" for k, v in worst))
        assert worst[0][1] < FD_TOL
