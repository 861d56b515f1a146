"""The protocol of one online trial with end-of-sequence targets (paper-spec §4):

1. draw the initial weights;
2. repeatedly draw fresh training sequences ("generated on-line", Table 11 t3), train on them one
   by one with the learning rule, and feed each sequence's end error to the stopping criterion;
3. stop at the first sequence after which the criterion holds (exactly: if it holds in the middle of a
   chunk of sequences, the chunk is replayed from a snapshot up to that sequence), or at the cap;
4. test the final network on a fresh test set.

Alongside the paper's criterion, the trial probes the network on fresh test sets every
``probe_every`` sequences (only while at most ``probe_gate`` of the criterion window's sequences are
wrong, to save time) and records the first probe whose test quality reaches the paper's reported one
(``quality_wrong`` wrong sequences or fewer): the secondary figure of spec §9, reading 24.

Random streams: one ``numpy.random.SeedSequence(seed)`` is split into independent streams for the
initial weights, the training sequences, the probes and the final test, so the training data do not
depend on how often the network is probed. Training data are drawn ``chunk`` sequences at a time; the
chunk size is part of the protocol (it fixes which sequences are drawn), so it is a config field.

This module knows nothing of processes, databases or screens: progress goes to a callback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..batch import Batch
from ..learners import DivergenceError, TruncatedRTRL
from ..network import LSTM, Architecture, init, predict
from .criteria import ST3, end_errors

__all__ = ["TrialResult", "online_trial", "evaluate"]


@dataclass
class TrialResult:
    """Outcome of one trial. ``sequences``: training sequences presented until the stopping
    criterion held (or until the trial ended without it)."""

    success: bool
    status: str                      # "solved", "cap" (cap reached), "diverged"
    sequences: int
    test_wrong: int
    test_total: int
    test_mae: float
    test_mse: float
    seconds: float
    steps: int
    quality_at: int | None = None    # first probe reaching the paper's reported test quality
    message: str = ""
    curve: list = field(default_factory=list)   # (sequences, window MAE, window MSE, window wrong)
    net: LSTM | None = None


def evaluate(net: LSTM, batch: Batch, tol: float) -> dict:
    """Test figures on ``batch``: sequences wrong (some output's end error >= tol), MAE and MSE."""
    err = end_errors(predict(net, batch), batch)
    return {"wrong": int((~(err < tol).all(axis=1)).sum()), "total": len(batch),
            "mae": float(err.mean()), "mse": float((err ** 2).mean())}


def online_trial(arch: Architecture, lr: float, sample: Callable[[np.random.Generator, int], Batch],
                 seed: int, *, criterion: ST3, tol: float, test_size: int, max_sequences: int,
                 chunk: int = 1000, probe_every: int = 10_000, probe_gate: int = 20,
                 quality_wrong: int = 3, progress: Callable[[dict], None] | None = None) -> TrialResult:
    """Run one trial; see the module docstring. ``sample(rng, n)`` draws ``n`` task sequences."""
    if max_sequences < 1:
        raise ValueError(f"max_sequences must be at least 1, got {max_sequences}")
    s_init, s_train, s_probe, s_test = np.random.SeedSequence(seed).spawn(4)
    rng_train, rng_probe = np.random.default_rng(s_train), np.random.default_rng(s_probe)
    net = init(arch, np.random.default_rng(s_init))
    learner = TruncatedRTRL(lr)
    state = learner.init(net)
    t0 = time.perf_counter()
    done, status, quality_at, message, curve = 0, "cap", None, "", []
    next_probe = probe_every
    while done < max_sequences:
        batch = sample(rng_train, chunk)
        if done + len(batch) > max_sequences:
            batch = batch[: max_sequences - done]
        W_h, W_k, steps0 = net.W_h.copy(), net.W_k.copy(), state.steps
        try:
            Y = learner.update(net, state, batch)
        except DivergenceError as e:
            status, message, done = "diverged", str(e), e.sequence + 1
            break
        hit = criterion.push(end_errors(Y, batch))
        if hit is not None:
            if hit < len(batch) - 1:   # replay the chunk exactly up to the sequence where it held
                net.W_h[:], net.W_k[:] = W_h, W_k
                state.sequences, state.steps = done, steps0
                learner.update(net, state, batch[: hit + 1])
            done += hit + 1
            status = "solved"
        else:
            done += len(batch)
        stats = criterion.window_stats()
        curve.append((done, stats["mae"], stats["mse"], stats["wrong"]))
        if quality_at is None and (status == "solved" or done >= next_probe):
            next_probe = (done // probe_every + 1) * probe_every
            if status == "solved" or stats["wrong"] <= probe_gate:
                probe = evaluate(net, sample(rng_probe, test_size), tol)
                if probe["wrong"] <= quality_wrong:
                    quality_at = done
        if progress is not None:
            el = time.perf_counter() - t0
            progress({"sequences": done, "seconds": el, "rate": done / el if el > 0 else 0.0,
                      "steps": state.steps, **{f"window_{k}": v for k, v in stats.items()}})
        if status == "solved":
            break
    test = evaluate(net, sample(np.random.default_rng(s_test), test_size), tol) if status != "diverged" \
        else {"wrong": test_size, "total": test_size, "mae": float("nan"), "mse": float("nan")}
    return TrialResult(success=status == "solved", status=status, sequences=done,
                       test_wrong=test["wrong"], test_total=test["total"], test_mae=test["mae"],
                       test_mse=test["mse"], seconds=time.perf_counter() - t0, steps=state.steps,
                       quality_at=quality_at, message=message, curve=curve, net=net)
