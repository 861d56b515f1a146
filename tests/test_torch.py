"""The PyTorch module of the 1997 cell (lstm1997.torch) against the Numba forward pass and the BPTT oracles."""

import dataclasses
import importlib
import io
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstm1997 import Architecture, Batch, bptt_gradient, init, predict  # noqa: E402
from lstm1997.io import load_model, save_model  # noqa: E402
from lstm1997.tasks.adding import adding  # noqa: E402
from lstm1997.torch import LSTM1997, pad_batch, squared_error  # noqa: E402

from paper_nets import PAPER_NETS  # noqa: E402

# every paper topology, the big ones shrunk as in test_kernels.py, plus what the paper's nets lack
NETS = {k: v[0] for k, v in PAPER_NETS.items() if not k.startswith("exp2c_p") or k == "exp2c_p50"}
NETS["exp2a"] = dataclasses.replace(NETS["exp2a"], n_in=6, n_out=6)
NETS["hidden_units"] = Architecture(3, 2, 2, 2, hidden=3)
NETS["g1_id_F"] = Architecture(3, 2, 2, 1, g="g1", h="id")
NETS["B_gates_bias_none"] = Architecture(3, 2, 2, 2, connectivity="B", bias=("cell",), hidden=1)


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny matrices: intra-op threads only cost time (and a lot of it on a loaded machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _random_batch(rng, arch, n=4, max_len=9):
    xs = [rng.normal(size=(int(rng.integers(1, max_len + 1)), arch.n_in)) for _ in range(n)]
    ds = []
    for x in xs:
        d = rng.random((len(x), arch.n_out))
        d[rng.random(len(x)) < 0.5] = np.nan          # steps without a target
        d[rng.random(d.shape) < 0.2] = np.nan         # some outputs without a target at a step
        ds.append(d)
    return Batch.from_sequences(xs, ds)


def _net(rng, name):
    return init(dataclasses.replace(NETS[name], init_range=0.8), rng)


def _unpad(y, lengths):
    return np.concatenate([y[i, :n] for i, n in enumerate(lengths.tolist())])


@pytest.mark.parametrize("name", sorted(NETS))
def test_outputs_equal_numba_predict_on_ragged_batches(name, rng):
    net = _net(rng, name)
    batch = _random_batch(rng, net.arch)
    x, d, lengths = pad_batch(batch)
    x[torch.arange(x.shape[1])[None, :] >= lengths[:, None]] = float("nan")    # garbage in the padding
    model = LSTM1997.from_lstm1997(net)
    with torch.no_grad():
        y = model(x, lengths).numpy()
    assert y.shape == (len(batch), int(lengths.max()), net.arch.n_out)
    np.testing.assert_allclose(_unpad(y, lengths), predict(net, batch), rtol=0, atol=1e-12)
    pad = np.arange(y.shape[1])[None, :] >= lengths.numpy()[:, None]
    assert np.all(y[pad] == 0.0)
    # each sequence alone, without padding, gives the same outputs
    for i in range(len(batch)):
        xi, _ = batch[i]
        with torch.no_grad():
            yi = model(torch.tensor(xi)[None]).numpy()[0]
        np.testing.assert_allclose(yi, y[i, :len(xi)], rtol=0, atol=1e-14)


@pytest.mark.parametrize("truncated", [True, False])
@pytest.mark.parametrize("name", sorted(NETS))
def test_gradient_equals_bptt_oracle(name, truncated, rng):
    net = _net(rng, name)
    batch = _random_batch(rng, net.arch)
    want_h, want_k, want_loss = np.zeros_like(net.W_h), np.zeros_like(net.W_k), 0.0
    for i in range(len(batch)):
        loss, gh, gk = bptt_gradient(net, *batch[i], truncated=truncated)
        want_h, want_k, want_loss = want_h + gh, want_k + gk, want_loss + loss
    x, d, lengths = pad_batch(batch)
    model = LSTM1997.from_lstm1997(net, truncated=truncated)
    loss = squared_error(model(x, lengths), d)
    loss.backward()
    assert abs(loss.item() - want_loss) <= 1e-12 * max(1.0, want_loss)
    for got, want, mask in ((model.W_h.grad.numpy(), want_h, net.mask_h), (model.W_k.grad.numpy(), want_k, net.mask_k)):
        assert np.abs(got - want).max() <= 1e-10 * np.abs(want).max()
        assert np.all(got[~mask] == 0.0)
    # the forward keyword overrides the constructor's flag
    other = LSTM1997.from_lstm1997(net, truncated=not truncated)
    squared_error(other(x, lengths, truncated=truncated), d).backward()
    np.testing.assert_array_equal(other.W_h.grad.numpy(), model.W_h.grad.numpy())


def test_truncation_changes_the_gradient_only_where_the_paper_truncates(rng):
    net = _net(rng, "exp4")
    x, d = rng.normal(size=(12, 2)), rng.random((12, 1))
    grads = {}
    for tr in (True, False):
        m = LSTM1997.from_lstm1997(net)
        squared_error(m(torch.tensor(x)[None], truncated=tr), torch.tensor(d)[None]).backward()
        grads[tr] = (m.W_h.grad.numpy(), m.W_k.grad.numpy())
    np.testing.assert_array_equal(grads[True][1], grads[False][1])     # outputs: same-step, never truncated
    assert np.abs(grads[True][0] - grads[False][0]).max() > 1e-6         # hidden units: recurrent paths cut


def test_step_by_step_equals_forward(rng):
    net = _net(rng, "hidden_units")
    model = LSTM1997.from_lstm1997(net)
    x = torch.tensor(rng.normal(size=(3, 7, net.arch.n_in)))
    with torch.no_grad():
        y = model(x)
        state, ys = None, []
        for t in range(x.shape[1]):
            y_t, state = model.step(x[:, t], state)
            ys.append(y_t)
    np.testing.assert_allclose(torch.stack(ys, 1).numpy(), y.numpy(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", sorted(NETS))
def test_round_trip_and_model_files(name, rng):
    net = _net(rng, name)
    model = LSTM1997.from_lstm1997(net)
    back = model.to_lstm1997()
    assert back.arch == net.arch
    for k, v in net.arrays().items():
        np.testing.assert_array_equal(back.arrays()[k], v)
    f = io.BytesIO()
    save_model(model.to_lstm1997(), f)
    f.seek(0)
    again = LSTM1997.from_lstm1997(load_model(f))
    assert again.arch == net.arch
    for k in ("W_h", "W_k", "mask_h", "mask_k"):
        assert torch.equal(getattr(again, k), getattr(model, k))


def test_save_and_load_methods(tmp_path, rng):
    model = LSTM1997.from_lstm1997(_net(rng, "exp6a"))
    model.save(tmp_path / "m.npz")
    again = LSTM1997.load(tmp_path / "m.npz")
    assert torch.equal(again.W_h, model.W_h) and torch.equal(again.W_k, model.W_k)


def test_absent_weights_get_zero_gradient_and_stay_zero(rng):
    arch = NETS["exp2a"]                 # connectivity B, no output gates, no biases: many absent weights
    net = init(arch, rng)
    mask_h = arch.mask_h()
    mask_h[arch.rows_c, 2:4] = False     # and a few more absent, as in sequential construction
    net = type(net)(arch, np.where(mask_h, net.W_h, 0.0), net.W_k, mask_h, arch.mask_k())
    model = LSTM1997.from_lstm1997(net)
    assert (~model.mask_h).sum() > 0
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    x, d, lengths = pad_batch(_random_batch(rng, arch))
    for _ in range(3):
        opt.zero_grad()
        squared_error(model(x, lengths), d).backward()
        assert torch.all(model.W_h.grad[~model.mask_h] == 0.0)
        opt.step()
    assert torch.all(model.W_h[~model.mask_h] == 0.0)
    assert torch.any(model.W_h[model.mask_h] != torch.tensor(net.W_h)[model.mask_h])   # present ones trained
    after = model.to_lstm1997()
    np.testing.assert_array_equal(after.mask_h, mask_h)


def test_float32_close_to_float64(rng):
    net = _net(rng, "exp6b")
    batch = _random_batch(rng, net.arch)
    x, d, lengths = pad_batch(batch)
    m64 = LSTM1997.from_lstm1997(net)
    m32 = LSTM1997.from_lstm1997(net, dtype=torch.float32)
    y64 = m64(x, lengths)
    y32 = m32(x.float(), lengths)
    assert y32.dtype == torch.float32
    np.testing.assert_allclose(y32.detach().double().numpy(), y64.detach().numpy(), rtol=0, atol=1e-5)
    squared_error(y32, d.float()).backward()
    assert m32.W_h.grad.dtype == torch.float32 and torch.isfinite(m32.W_h.grad).all()
    # .float() converts the weights, never the boolean masks
    m64.float()
    assert m64.W_h.dtype == torch.float32 and m64.mask_h.dtype == torch.bool


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_the_parameters_device(rng):
    net = _net(rng, "exp4")
    batch = _random_batch(rng, net.arch)
    x, d, lengths = pad_batch(batch)
    model = LSTM1997.from_lstm1997(net).to("cuda")
    y = model(x.cuda(), lengths.cuda())
    squared_error(y, d.cuda()).backward()
    assert y.device.type == "cuda" and model.W_h.grad.device.type == "cuda"
    np.testing.assert_allclose(_unpad(y.detach().cpu().numpy(), lengths), predict(net, batch), atol=1e-12)


def test_paper_topologies_by_name():
    for name, (arch, weights) in PAPER_NETS.items():
        exp = {"exp1_4x1": ("1", {}), "exp1_3x2": ("reber", {"blocks": 3, "cells": 2}), "exp2a": ("2a", {}),
               "exp3": ("3a", {}), "exp4": ("adding", {}), "exp5": ("5", {}), "exp6a": ("6a", {}),
               "exp6b": ("6b", {})}.get(name) or ("2c", {"p": int(name.split("_p")[1])})
        if weights > 1000:
            continue                       # the same code path; keeps the test fast
        model = LSTM1997.paper(exp[0], generator=0, **exp[1])
        assert model.arch == arch and model.arch.n_weights == weights
    assert LSTM1997.paper("2b").arch == PAPER_NETS["exp2a"][0]
    m = LSTM1997.from_arch(PAPER_NETS["exp4"][0], generator=np.random.default_rng(5))
    ref = init(PAPER_NETS["exp4"][0], np.random.default_rng(5))        # same seed, same weights as init
    np.testing.assert_array_equal(m.W_h.detach().numpy(), ref.W_h)
    np.testing.assert_array_equal(m.W_h.detach().numpy()[:2, -1], [-3.0, -6.0])     # Table 10's gate biases
    with pytest.raises(ValueError, match="not an LSTM"):
        LSTM1997.paper("2a", method="RTRL", p=4)
    with pytest.raises(ValueError, match="unknown experiment"):
        LSTM1997.paper("7z")


def test_bad_input_is_refused(rng):
    model = LSTM1997.from_lstm1997(_net(rng, "exp4"))
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        model(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="lengths must lie in 0..5"):
        model(torch.zeros(2, 5, 2), lengths=torch.tensor([5, 6]))
    with pytest.raises(ValueError, match="lengths must be 2 integers"):
        model(torch.zeros(2, 5, 2), lengths=torch.tensor([5.0, 1.0]))
    with pytest.raises(ValueError, match="non-zero weights on absent"):
        a = Architecture(2, 1, 1, bias=())
        W_h = np.ones((a.n_hidden, a.n_src))
        LSTM1997(a, W_h, np.zeros((a.n_out, a.n_osrc)))
    y = model(torch.zeros(2, 5, 2), lengths=torch.tensor([0, 3]))
    assert torch.all(y[0] == 0.0) and torch.all(y[1, 3:] == 0.0) and torch.all(y[1, :3] > 0.0)


def test_clear_import_error_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # "import torch" now fails
    monkeypatch.delitem(sys.modules, "lstm1997.torch")
    with pytest.raises(ImportError, match=r'pip install "lstm1997\[torch\]"'):
        importlib.import_module("lstm1997.torch")


def test_training_on_the_adding_problem_reduces_the_loss():
    rng = np.random.default_rng(0)
    model = LSTM1997.paper("adding", generator=rng)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    x_test, d_test, len_test = pad_batch(adding(rng, 20, 100))

    def test_mse():
        with torch.no_grad():
            return 2 * squared_error(model(x_test, len_test), d_test).item() / len(len_test)

    before = test_mse()
    for _ in range(200):
        x, d, lengths = pad_batch(adding(rng, 20, 16))
        opt.zero_grad()
        (squared_error(model(x, lengths), d) / 16).backward()
        opt.step()
    after = test_mse()
    assert after < 0.2 * before, (before, after)     # about 0.035 -> 0.002 here
