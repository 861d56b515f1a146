"""The lane kernel (L networks in SIMD lanes) against the one-network kernel: bit for bit, per network."""

import dataclasses
import zlib

import numpy as np
import pytest

from lstm1997 import Architecture, Batch, TruncatedRTRL, init
from lstm1997.learners.lanes import update_lanes

from paper_nets import PAPER_NETS

NETS = {k: v[0] for k, v in PAPER_NETS.items() if not k.startswith("exp2c_p") or k == "exp2c_p50"}
NETS["exp2a"] = dataclasses.replace(NETS["exp2a"], n_in=6, n_out=6)
NETS["hidden_units"] = Architecture(3, 2, 2, 2, hidden=3)
NETS["g1_id_F"] = Architecture(3, 2, 2, 1, g="g1", h="id")


def _batch(rng, arch, n, one_hot, every_step):
    lens = [int(rng.integers(0 if rng.random() < 0.1 else 1, 15)) for _ in range(n)]
    ds = []
    for t in lens:
        d = rng.random((t, arch.n_out))
        if not every_step:
            d[rng.random(t) < 0.6] = np.nan
            d[rng.random(d.shape) < 0.2] = np.nan
        ds.append(d)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    targets = np.concatenate(ds) if ds else np.zeros((0, arch.n_out))
    if one_hot:
        return Batch.one_hot(rng.integers(0, arch.n_in, offsets[-1]), arch.n_in, targets, offsets)
    return Batch(rng.normal(size=(offsets[-1], arch.n_in)), targets, offsets)


def _alone(net, learner, batch):
    st = learner.init(net)
    try:
        Y = learner.update(net, st, batch)
    except Exception as e:           # noqa: BLE001 - compared with the lane's outcome
        Y = e
    return Y, st


@pytest.mark.parametrize("per_step", [True, False])
@pytest.mark.parametrize("one_hot", [True, False])
@pytest.mark.parametrize("name", sorted(NETS))
def test_every_lane_equals_its_network_trained_alone(name, one_hot, per_step):
    rng = np.random.default_rng(zlib.crc32(f"{name}{one_hot}{per_step}".encode()))
    arch = dataclasses.replace(NETS[name], init_range=0.8)
    for L in (1, 3, 5, 9):          # blocks of 4 lanes per kernel call, the last one padded
        nets = [init(arch, rng) for _ in range(L)]
        for net in nets[::2]:          # masks that differ between lanes (as after growth in Exp. 2a)
            net.W_h[0, 0] = 0.0
            mh = net.mask_h.copy()
            mh[0, 0] = False
            type(net).__init__(net, arch, net.W_h, net.W_k, mh, net.mask_k)
        learners = [TruncatedRTRL(float(rng.uniform(0.1, 1.0)), per_step) for _ in range(L)]
        batches = [_batch(rng, arch, int(rng.integers(0, 6)), one_hot, name.startswith("exp1")) for _ in range(L)]
        alone = [net.copy() for net in nets]
        expect = [_alone(a, lr, b) for a, lr, b in zip(alone, learners, batches)]
        states = [lr.init(net) for lr, net in zip(learners, nets)]
        got = update_lanes(learners, nets, states, batches)
        for l in range(L):
            (Y, st), net = expect[l], nets[l]
            assert net.W_h.tobytes() == alone[l].W_h.tobytes(), (L, l)
            assert net.W_k.tobytes() == alone[l].W_k.tobytes(), (L, l)
            assert states[l].dS_in.tobytes() == st.dS_in.tobytes()
            assert states[l].dS_c.tobytes() == st.dS_c.tobytes()
            assert (states[l].sequences, states[l].steps) == (st.sequences, st.steps)
            assert got[l].tobytes() == Y.tobytes()


def test_a_diverging_lane_stops_where_its_network_alone_stops_and_the_others_go_on():
    rng = np.random.default_rng(5)
    arch = NETS["exp4"]
    nets = [init(arch, rng) for _ in range(4)]
    for net in nets[1::2]:           # sums of +-1e308 overflow: inf - inf = NaN reaches the weights
        net.W_h[net.mask_h] *= 1e308 / 0.1
    learners = [TruncatedRTRL(0.5) for _ in range(4)]
    batches = [_batch(rng, arch, 6, False, True) for _ in range(4)]
    alone = [net.copy() for net in nets]
    expect = [_alone(a, lr, b) for a, lr, b in zip(alone, learners, batches)]
    states = [lr.init(net) for lr, net in zip(learners, nets)]
    got = update_lanes(learners, nets, states, batches)
    for l in range(4):
        Y, st = expect[l]
        if l % 2:
            assert type(got[l]).__name__ == "DivergenceError" == type(Y).__name__
            assert got[l].sequence == Y.sequence
        else:
            assert got[l].tobytes() == Y.tobytes()
        np.testing.assert_array_equal(nets[l].W_h, alone[l].W_h)
        assert states[l].sequences == st.sequences and states[l].steps == st.steps


def test_lane_groups_are_checked():
    rng = np.random.default_rng(0)
    a, b = init(NETS["exp4"], rng), init(NETS["exp5"], rng)
    lr = TruncatedRTRL(0.1)
    batch = _batch(rng, NETS["exp4"], 2, False, True)
    with pytest.raises(ValueError, match="same architecture"):
        update_lanes([lr, lr], [a, b], [lr.init(a), lr.init(b)], [batch, batch])
    with pytest.raises(ValueError, match="per_step and delta"):
        update_lanes([lr, TruncatedRTRL(0.1, per_step=False)], [a, a.copy()], [lr.init(a), lr.init(a)], [batch, batch])
    with pytest.raises(ValueError, match="of its own"):
        s = lr.init(a)
        update_lanes([lr, lr], [a, a], [s, s], [batch, batch])
    with pytest.raises(TypeError, match="numba"):
        update_lanes([TruncatedRTRL(0.1, backend="numpy")], [a], [lr.init(a)], [batch])


@pytest.mark.parametrize("delta", ["linear", "flat-spot"])
def test_lanes_with_another_output_error_equal_networks_alone(delta):
    rng = np.random.default_rng(11)
    arch = dataclasses.replace(NETS["exp1_3x2"], init_range=0.8)
    nets = [init(arch, rng) for _ in range(5)]
    learners = [TruncatedRTRL(0.3, delta=delta) for _ in range(5)]
    batches = [_batch(rng, arch, 4, True, True) for _ in range(5)]
    alone = [net.copy() for net in nets]
    expect = [_alone(a, lr, b) for a, lr, b in zip(alone, learners, batches)]
    states = [lr.init(net) for lr, net in zip(learners, nets)]
    got = update_lanes(learners, nets, states, batches)
    for l in range(5):
        assert got[l].tobytes() == expect[l][0].tobytes()
        assert nets[l].W_h.tobytes() == alone[l].W_h.tobytes()


@pytest.mark.parametrize("one_hot", [True, False])
def test_outputs_only_at_target_steps_train_the_same(one_hot):
    """``all_outputs=False`` (what the protocol asks for) changes no weight or state; the outputs are those
    of the networks alone wherever they are computed, and every step with a target has them."""
    rng = np.random.default_rng(3)
    arch = dataclasses.replace(NETS["exp6b"], init_range=0.8)
    nets = [init(arch, rng) for _ in range(6)]
    learners = [TruncatedRTRL(0.5) for _ in range(6)]
    batches = [_batch(rng, arch, 5, one_hot, False) for _ in range(6)]
    alone = [net.copy() for net in nets]
    expect = [_alone(a, lr, b) for a, lr, b in zip(alone, learners, batches)]
    states = [lr.init(net) for lr, net in zip(learners, nets)]
    got = update_lanes(learners, nets, states, batches, all_outputs=False)
    skipped = 0
    for l in range(6):
        Y, st = expect[l]
        assert nets[l].W_h.tobytes() == alone[l].W_h.tobytes() and nets[l].W_k.tobytes() == alone[l].W_k.tobytes()
        assert states[l].dS_in.tobytes() == st.dS_in.tobytes() and states[l].steps == st.steps
        has = ~np.isnan(batches[l].targets).all(axis=1)
        assert not np.isnan(got[l][has]).any()
        seen = ~np.isnan(got[l]).all(axis=1)
        assert got[l][seen].tobytes() == Y[seen].tobytes()
        skipped += int((~seen).sum())
    assert skipped > 0, "some steps without a target were skipped"


@pytest.mark.parametrize("name", sorted(NETS))
def test_predict_in_lanes_equals_the_one_network_kernel(name):
    from lstm1997 import predict
    from lstm1997.learners.lanes import predict_lanes
    from lstm1997.network import _run_kernel

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arch = dataclasses.replace(NETS[name], init_range=0.8)
    net = init(arch, rng)
    for one_hot in (True, False):
        for n in (0, 1, 3, 6, 21, 200):
            b = _batch(rng, arch, n, one_hot, False)
            Y = np.empty((b.n_steps, arch.n_out))
            _run_kernel(net, b, Y, np.zeros((0, 0)), np.zeros((0, 0)), 0.0, False, True)
            assert predict_lanes(net, b).tobytes() == Y.tobytes(), (one_hot, n)
            assert predict(net, b).tobytes() == Y.tobytes()
    with pytest.raises(TypeError, match="1997"):
        predict_lanes(init(dataclasses.replace(arch, forget_gate=True), rng), b)


def test_predict_of_a_long_batch_goes_through_the_lanes(monkeypatch):
    import lstm1997.learners.lanes as lanes_mod
    from lstm1997 import predict
    from lstm1997.network import _run_kernel

    calls = []
    real = lanes_mod.predict_lanes
    monkeypatch.setattr(lanes_mod, "predict_lanes", lambda net, b: calls.append(len(b)) or real(net, b))
    rng = np.random.default_rng(2)
    net = init(NETS["exp4"], rng)
    long_batch = Batch(rng.normal(size=(3000, 2)), np.full((3000, 1), np.nan), np.arange(0, 3001, 100))
    short = long_batch[:3]
    for b in (long_batch, short):
        Y = np.empty((b.n_steps, 1))
        _run_kernel(net, b, Y, np.zeros((0, 0)), np.zeros((0, 0)), 0.0, False, True)
        assert predict(net, b).tobytes() == Y.tobytes()
    assert calls == [30], "only the long batch runs in lanes"
