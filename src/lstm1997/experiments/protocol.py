"""The protocol of one online trial (paper-spec §4), shared by every experiment:

1. draw the initial weights;
2. repeatedly draw training sequences (fresh ones, or from a fixed training set), train on them one by
   one with the paper's learning rule, and pass their errors to the trial's *stages* (criteria, in
   order: e.g. ST1 then ST2, or n_seq=140 then n_seq=13);
3. a :class:`~.criteria.Window` stage is decided after every training sequence, exactly: if it first
   holds in the middle of a chunk of sequences, the chunk is replayed from a snapshot up to that
   sequence; a :class:`~.criteria.Check` stage is tested every ``every`` sequences (chunks are aligned
   to multiples of the chunk size, which divides ``every``);
4. the trial ends when the last stage holds (success), at the cap, or if the weights diverge; a final
   test on fresh sequences follows.

Alongside the paper's criteria the trial can probe the network every ``probe_every`` sequences and
record the first probe at which it reaches the paper's reported test quality (``quality_at``; spec §9,
reading 24). Probes are made only while at most ``probe_gate`` of the last 2000 training sequences are
wrong.

Random streams: ``numpy.random.SeedSequence(seed)`` is split into independent streams for the initial
weights, the training sequences, the checks and probes, the final test, and the network's growth
(sequential construction), so the training data do not depend on how often the network is tested. The
chunk size fixes which sequences are drawn, so it is part of an experiment's config.

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
from .criteria import Check, Window, end_errors

__all__ = ["Trial", "TrialResult", "run_trial", "evaluate"]


def evaluate(net: LSTM, batch: Batch, tol: float, errors: Callable = end_errors) -> dict:
    """Test figures on ``batch``: sequences wrong (some output's error >= tol), MAE and MSE of the errors."""
    err = errors(predict(net, batch), batch)
    return {"wrong": int((~(err < tol).all(axis=1)).sum()), "total": len(batch),
            "mae": float(err.mean()), "mse": float((err ** 2).mean())}


@dataclass
class Trial:
    """Everything an experiment specifies for one trial (the protocol is the same for all)."""

    arch: Architecture
    lr: float
    sample: Callable[[np.random.Generator, int], Batch]     # training sequences
    stages: list                                            # Window / Check criteria, in order
    tol: float                                              # correctness of a training sequence
    max_sequences: int
    chunk: int = 1000
    per_step: bool = True
    errors: Callable = end_errors                           # (outputs, batch) -> (n, K) |errors|
    final_test: Callable | None = None                      # (net, rng) -> dict of figures
    stage_tests: tuple = ()                                 # names of stages followed by final_test
    probe: Callable | None = None                           # (net, rng) -> bool: paper's quality reached
    probe_every: int = 10_000
    probe_gate: int = 20
    init_net: Callable | None = None                        # (arch, rng) -> LSTM (default: init)
    on_chunk: Callable | None = None                        # (net, info, rng) -> None (growth)


@dataclass
class TrialResult:
    """Outcome of one trial. ``sequences``: training sequences presented until the last stage held
    (or until the trial ended without it). ``stages``: per stage that held, the sequences at that
    point and any test figures recorded there."""

    success: bool
    status: str                      # "solved", "cap" (cap reached), "diverged"
    sequences: int
    seconds: float
    steps: int
    stages: dict = field(default_factory=dict)
    test: dict = field(default_factory=dict)
    quality_at: int | None = None
    message: str = ""
    curve: list = field(default_factory=list)   # (sequences, window MAE, window MSE, window wrong)
    events: list = field(default_factory=list)  # e.g. ("grow", sequences)
    net: LSTM | None = None


def run_trial(tr: Trial, seed: int, progress: Callable[[dict], None] | None = None) -> TrialResult:
    """Run one trial of ``tr`` with ``seed``; see the module docstring."""
    if tr.max_sequences < 1:
        raise ValueError(f"max_sequences must be at least 1, got {tr.max_sequences}")
    s_init, s_train, s_check, s_test, s_grow = np.random.SeedSequence(seed).spawn(5)
    rng_train, rng_check = np.random.default_rng(s_train), np.random.default_rng(s_check)
    rng_grow = np.random.default_rng(s_grow)
    rng_test = np.random.default_rng(s_test)   # every test of the trial draws fresh sequences from it
    net = (tr.init_net or init)(tr.arch, np.random.default_rng(s_init))
    learner = TruncatedRTRL(tr.lr, tr.per_step)
    state = learner.init(net)
    recent = Window(window=2000, tol=tr.tol)       # training statistics for progress, gates and probes
    res = TrialResult(False, "cap", 0, 0.0, 0)
    t0 = time.perf_counter()
    pending = list(tr.stages)
    run_correct = 0                                  # consecutive most recent correct training sequences
    next_probe = tr.probe_every
    next_check = min((s.every for s in tr.stages if isinstance(s, Check)), default=0)

    def held(stage, at: int) -> None:
        fig = {"sequences": at}
        if stage.name in tr.stage_tests and tr.final_test is not None:
            fig.update(tr.final_test(net, rng_test))
        if isinstance(stage, Check):
            fig.update(stage.figures)
        res.stages[stage.name] = fig

    done = 0
    while done < tr.max_sequences and pending:
        # chunks stay aligned to multiples of `chunk` (after a replay the next one is shorter), so checks
        # fall exactly on multiples of their period
        batch = tr.sample(rng_train, min(tr.chunk - done % tr.chunk, tr.max_sequences - done))
        windows = [s for s in pending if isinstance(s, Window)]
        snap = (net.W_h.copy(), net.W_k.copy(), state.sequences, state.steps) if windows else None
        try:
            Y = learner.update(net, state, batch)
        except DivergenceError as e:
            res.status, res.message, done = "diverged", str(e), e.sequence + 1
            break
        err = tr.errors(Y, batch)
        # the first sequence after which the first pending stage, if a Window, holds
        hit = pending[0].first_hit(err) if isinstance(pending[0], Window) else None
        if hit is not None and hit < len(batch) - 1:      # replay exactly up to that sequence
            net.W_h[:], net.W_k[:] = snap[0], snap[1]
            state.sequences, state.steps = snap[2], snap[3]
            learner.update(net, state, batch[: hit + 1])
            err = err[: hit + 1]
        n = len(err)
        for w in windows:
            w.extend(err)
        recent.extend(err)
        ok = (err < tr.tol).all(axis=1)
        run_correct = n - 1 - int(np.flatnonzero(~ok)[-1]) if (~ok).any() else run_correct + n
        done += n
        if hit is not None:      # the first pending stage (a Window) holds after the last sequence of err
            held(pending.pop(0), done)
            while pending and isinstance(pending[0], Window) and _holds_now(pending[0]):
                held(pending.pop(0), done)
        if pending and isinstance(pending[0], Check) and done >= next_check:
            next_check = (done // pending[0].every + 1) * pending[0].every
            while pending and isinstance(pending[0], Check) and run_correct >= pending[0].gate:
                ok_check, pending[0].figures = pending[0].test(net, rng_check)
                if not ok_check:
                    break
                held(pending.pop(0), done)
        stats = recent.stats()
        res.curve.append((done, stats["mae"], stats["mse"], stats["wrong"]))
        if tr.on_chunk is not None:
            ev = tr.on_chunk(net, {"sequences": done, "outputs": Y[: batch.offsets[n]], "batch": batch[:n],
                                   **stats}, rng_grow)
            if ev:
                res.events.append((ev, done))
        if tr.probe is not None and res.quality_at is None and (not pending or done >= next_probe):
            next_probe = (done // tr.probe_every + 1) * tr.probe_every
            if not pending or stats["wrong"] <= tr.probe_gate:
                if tr.probe(net, rng_check):
                    res.quality_at = done
        if progress is not None:
            el = time.perf_counter() - t0
            progress({"sequences": done, "seconds": el, "rate": done / el if el > 0 else 0.0,
                      "steps": state.steps, "stage": pending[0].name if pending else "done",
                      **{f"window_{k}": v for k, v in stats.items()}})
    if not pending and res.status != "diverged":
        res.status, res.success = "solved", True
    res.sequences = done
    if res.status != "diverged" and tr.final_test is not None:
        last = tr.stages[-1].name if tr.stages else None
        res.test = res.stages.get(last, {}) if last in tr.stage_tests and res.success else {}
        if not res.test:
            res.test = tr.final_test(net, rng_test)
        res.test = {k: v for k, v in res.test.items() if k != "sequences"}
    res.seconds, res.steps, res.net = time.perf_counter() - t0, state.steps, net
    return res


def _holds_now(w: Window) -> bool:
    """Whether a window criterion holds on its committed window (after ``extend``)."""
    s = w.stats()
    return s["window"] >= w.window and s["wrong"] <= w.max_wrong and (w.beta is None or s["mae"] < w.beta)
