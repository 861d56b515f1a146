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
weights, the training sequences, the checks and probes, the final test, the network's growth
(sequential construction) and data fixed for the whole trial (``Trial.prepare``), so the training data do not depend on how often the network is tested. The
chunk size fixes which sequences are drawn, so it is part of an experiment's config.

This module knows nothing of processes, databases or screens: progress goes to a callback.
"""

from __future__ import annotations

import io
import math
import json
import time
from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np

from ..batch import Batch
from ..learners import DivergenceError, TruncatedRTRL
from ..learners.lanes import BLOCK, lanes_supported, update_lanes
from ..network import LSTM, Architecture, init, predict
from ..rnn import RNN, predict_rnn
from .criteria import Check, Window, end_errors

__all__ = ["Trial", "TrialResult", "TrialRun", "run_trial", "evaluate"]


def outputs(net, batch: Batch) -> np.ndarray:
    """The outputs of ``net`` (an :class:`~lstm1997.LSTM` or a baseline :class:`~lstm1997.rnn.RNN`) on
    every step of ``batch``, at compiled speed, weights frozen."""
    if isinstance(net, RNN):
        return predict_rnn(net, batch)
    return predict(net, batch)


def evaluate(net, batch: Batch, tol: float, errors: Callable = end_errors) -> dict:
    """Test figures on ``batch``: sequences wrong (some output's error >= tol), MAE and MSE of the errors."""
    err = errors(outputs(net, batch), batch)
    return {"wrong": int((~(err < tol).all(axis=1)).sum()), "total": len(batch),
            "mae": float(err.mean()), "mse": float((err ** 2).mean())}


@dataclass
class Trial:
    """Everything an experiment specifies for one trial (the protocol is the same for all).

    A trial must be resumable from a checkpoint, so the callables keep no state of their own, except:
    fixed data drawn once per trial, which ``prepare`` draws from a stream of its own at the start (and
    again, identically, on resume); and an ``on_chunk`` hook with ``state_dict``/``load_state_dict``.
    """

    arch: Architecture                                      # or an RNNArchitecture (baselines)
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
    init_net: Callable | None = None                        # (arch, rng) -> net (default: LSTM init)
    learner: object | None = None                           # init/update pair (default: the paper's
                                                            # TruncatedRTRL(lr, per_step, delta=delta))
    delta: str = "logistic"                                 # the default learner's output error (eq. 19;
                                                            # others are diagnostics, see readings.py)
    on_chunk: Callable | None = None                        # (net, info, rng) -> None (growth)
    curve_every: int = 1000                                 # learning-curve sampling period (sequences)
    prepare: Callable | None = None                         # (rng) -> None: draw the trial's fixed data


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
    net: LSTM | RNN | None = None

    _FIELDS = ("success", "status", "sequences", "seconds", "steps", "stages", "test", "quality_at", "message",
               "curve", "events")

    def to_dict(self) -> dict:
        """Everything but the network, JSON-ready (floats round-trip exactly through ``json``)."""
        d = {k: getattr(self, k) for k in self._FIELDS}
        d["curve"], d["events"] = [list(c) for c in self.curve], [list(e) for e in self.events]
        return d

    @classmethod
    def from_dict(cls, d: dict, net: LSTM | RNN | None = None) -> "TrialResult":
        """The inverse of :meth:`to_dict`; :class:`DamagedResult` (a ``ValueError`` saying what is wrong) for
        anything :meth:`to_dict` cannot have written: not a dict, a key missing, a value of the wrong type
        or range (the one check of a stored result: every view reads results through it)."""
        _check_result(d)
        kw = {k: d[k] for k in cls._FIELDS}
        kw["curve"], kw["events"] = [tuple(c) for c in d["curve"]], [tuple(e) for e in d["events"]]
        return cls(**kw, net=net)


class DamagedResult(ValueError):
    """A stored trial result that :meth:`TrialResult.to_dict` cannot have written."""


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_result(d) -> None:
    if not isinstance(d, dict):
        raise DamagedResult(f"the result is {type(d).__name__}, not an object")
    missing = [k for k in TrialResult._FIELDS if k not in d]
    if missing:
        raise DamagedResult(f"the result lacks {', '.join(missing)}")
    bad = []
    if not isinstance(d["success"], bool):
        bad.append("success is not true/false")
    if d["status"] not in ("solved", "cap", "diverged"):
        bad.append(f"status {d['status']!r} is not solved, cap or diverged")
    for k in ("sequences", "steps"):
        if not _is_count(d[k]):
            bad.append(f"{k} {d[k]!r} is not a count")
    if not (_is_number(d["seconds"]) and d["seconds"] >= 0):
        bad.append(f"seconds {d['seconds']!r} is not a non-negative number")
    if d["quality_at"] is not None and not _is_count(d["quality_at"]):
        bad.append(f"quality_at {d['quality_at']!r} is not a count")
    if not isinstance(d["message"], str):
        bad.append("message is not text")
    if not isinstance(d["stages"], dict) or not all(
            isinstance(v, dict) and _is_count(v.get("sequences")) for v in d["stages"].values()):
        bad.append("stages are not stage names with their sequences")
    if not isinstance(d["test"], dict) or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in d["test"].values()):
        bad.append("test figures are not numbers")
    for k in ("curve", "events"):
        if not isinstance(d[k], list) or not all(isinstance(c, list) for c in d[k]):
            bad.append(f"{k} is not a list of lists")
    if bad:
        raise DamagedResult("; ".join(bad))


def run_trial(tr: Trial, seed: int, progress: Callable[[dict], None] | None = None) -> TrialResult:
    """Run one trial of ``tr`` with ``seed`` to its end; see the module docstring."""
    run = TrialRun(tr, seed)
    run.advance(progress)
    return run.result()


class TrialRun:
    """One trial in progress, resumable: :meth:`advance` trains chunk by chunk until the trial ends or
    the callback asks for a pause; :meth:`checkpoint` returns its complete state as bytes (weights and
    masks, the learner's traces and counters, every criterion's window, the stages passed, the random
    streams, the figures so far); ``TrialRun(tr, seed, checkpoint)`` continues from such bytes.

    Chunk boundaries are the only places a trial can pause, and everything that decides what happens
    next is in the checkpoint, so a trial paused and resumed any number of times (in any process) gives
    bit for bit the result of one uninterrupted :func:`run_trial`; only ``seconds`` differ. The trial
    description ``tr`` is not in the checkpoint: resume with the same experiment config.
    """

    def __init__(self, tr: Trial, seed: int, checkpoint: bytes | None = None):
        if tr.max_sequences < 1:
            raise ValueError(f"max_sequences must be at least 1, got {tr.max_sequences}")
        self.tr, self.seed = tr, seed
        s_init, s_train, s_check, s_test, s_grow, s_fixed = np.random.SeedSequence(seed).spawn(6)
        if tr.prepare is not None:
            tr.prepare(np.random.default_rng(s_fixed))
        self.rngs = {"train": np.random.default_rng(s_train), "check": np.random.default_rng(s_check),
                     "test": np.random.default_rng(s_test),    # every test of the trial draws from it
                     "grow": np.random.default_rng(s_grow)}
        self.net = (tr.init_net or init)(tr.arch, np.random.default_rng(s_init))
        self.learner = tr.learner if tr.learner is not None else TruncatedRTRL(tr.lr, tr.per_step, delta=tr.delta)
        self.state = self.learner.init(self.net)
        self.recent = Window(window=2000, tol=tr.tol)   # training statistics for progress, gates and probes
        self.res = TrialResult(False, "cap", 0, 0.0, 0)
        self.pending = list(tr.stages)
        self.done = 0
        self.run_correct = 0                            # consecutive most recent correct training sequences
        self.next_probe = tr.probe_every
        self.next_check = min((s.every for s in tr.stages if isinstance(s, Check)), default=0)
        self.next_curve = 0
        self.finished = False
        self.seconds = 0.0                              # compute time before this process's share
        if checkpoint is not None:
            self._restore(checkpoint)

    # ---- running ---------------------------------------------------------------------------

    def advance(self, progress: Callable[[dict], object] | None = None) -> bool:
        """Train until the trial ends (returns True) or ``progress``, called after every chunk with the
        trial's figures so far, returns a true value (a pause: returns False; call again to go on)."""
        t0 = time.perf_counter()
        while not self.finished:
            if self._ends_now():
                self._finish()
                break
            self._chunk()
            if progress is not None:
                if progress(self._figures(self.seconds + time.perf_counter() - t0)) and not self._ends_now():
                    break
        self.seconds += time.perf_counter() - t0
        self.res.seconds = self.seconds
        return self.finished

    @staticmethod
    def advance_group(runs: list, progress: Callable[[list], object] | None = None) -> list:
        """Advance several trials together, one chunk each per round, until every one has ended or
        ``progress``, called after every round with a list of figures (per run, those :meth:`advance` passes
        to its callback, plus ``"finished"``), returns a true value (a pause). Returns per run whether it
        has ended.

        Each trial's numbers are those of :meth:`advance` alone: a round is, per trial, the three steps of
        one chunk (:meth:`_prepare`, the learner's update, :meth:`_conclude`), only the updates of trials
        that can share the lane kernel (:func:`~lstm1997.learners.lanes.update_lanes`: the paper's rule on
        1997 LSTMs of one architecture, with the same ``per_step`` and ``delta``) are made together, in
        calls of :data:`LANE_WIDTH` networks; every other update (a baseline net, another learner, a cell
        variant, the few trials left over) is the one-network ``learner.update``. A replay of a prefix of a
        chunk (a window stage held inside it), checks, growth, probes and divergence stay per trial, and a
        trial that ends leaves the group, which goes on with the others. A run's ``seconds`` is its own
        compute time plus an equal share of each lane call it took part in.
        """
        runs = list(runs)
        if len({id(r) for r in runs}) != len(runs) or len({id(r.tr) for r in runs}) != len(runs):
            raise ValueError("every trial of a group needs a TrialRun and a Trial of its own (stages and "
                             "hooks keep per-trial state)")
        clock = time.perf_counter
        while True:
            for r in runs:
                if not r.finished and r._ends_now():
                    t = clock()
                    r._finish()
                    r.seconds += clock() - t
            active = [r for r in runs if not r.finished]
            if not active:
                break
            chunks = []
            for r in active:
                t = clock()
                chunks.append((r, *r._prepare()))
                r.seconds += clock() - t
            outs = _train_together(chunks, clock)
            for (r, batch, snap), out in zip(chunks, outs):
                t = clock()
                r._conclude(batch, snap, out)
                if r._ends_now():
                    r._finish()
                r.seconds += clock() - t
            if progress is not None and progress([{**r._figures(r.seconds), "finished": r.finished} for r in runs]):
                break
        for r in runs:
            r.res.seconds = r.seconds
        return [r.finished for r in runs]

    def _figures(self, seconds: float) -> dict:
        """The figures passed to a progress callback after a chunk."""
        stats = self.recent.stats()
        return {"sequences": self.done, "seconds": seconds, "rate": self.done / seconds if seconds > 0 else 0.0,
                "steps": self.state.steps, "stage": self.pending[0].name if self.pending else "done",
                **{f"window_{k}": v for k, v in stats.items()}}

    def _ends_now(self) -> bool:
        return self.done >= self.tr.max_sequences or not self.pending or self.res.status == "diverged"

    def _held(self, stage, at: int) -> None:
        if getattr(stage, "count_from", "end") == "start":    # a window reported at its first sequence
            at -= stage.window
        fig = {"sequences": at}
        if stage.name in self.tr.stage_tests and self.tr.final_test is not None:
            fig.update(self.tr.final_test(self.net, self.rngs["test"]))
        if isinstance(stage, Check):
            fig.update(stage.figures)
        self.res.stages[stage.name] = fig

    def _chunk(self) -> None:
        """One chunk: :meth:`_prepare`, the learner's update, :meth:`_conclude` (a group of trials runs the
        same three steps, with the update of many trials in one call of the lane kernel: :meth:`advance_group`)."""
        batch, snap = self._prepare()
        try:
            out = self.learner.update(self.net, self.state, batch)
        except DivergenceError as e:
            out = e
        self._conclude(batch, snap, out)

    def _prepare(self) -> tuple:
        """Draw the chunk's training sequences and, while a window stage is pending, snapshot what a replay
        needs; returns ``(batch, snapshot or None)``."""
        tr, net, state, done = self.tr, self.net, self.state, self.done
        # chunks stay aligned to multiples of `chunk` (after a replay the next one is shorter), so checks
        # fall exactly on multiples of their period
        batch = tr.sample(self.rngs["train"], min(tr.chunk - done % tr.chunk, tr.max_sequences - done))
        # traces are reset at every sequence start: weights and counters are the whole state between sequences
        windows = any(isinstance(s, Window) for s in self.pending)
        snap = ({k: v.copy() for k, v in _weights(net).items()}, state.sequences, state.steps) if windows else None
        return batch, snap

    def _conclude(self, batch, snap, out) -> None:
        """Everything after the learner's update of a chunk: ``out`` is what ``learner.update(net, state,
        batch)`` returned (the outputs) or the :class:`DivergenceError` it raised. Replays a prefix of the
        chunk (one network, ``learner.update``) if a window stage first holds inside it, then errors,
        criteria, checks, learning curve, growth hook, probes."""
        tr, net, state, learner, res, pending = self.tr, self.net, self.state, self.learner, self.res, self.pending
        done = self.done
        if isinstance(out, DivergenceError):
            res.status, res.message, self.done = "diverged", str(out), out.sequence + 1
            return
        Y = out
        windows = [s for s in pending if isinstance(s, Window)]
        err = tr.errors(Y, batch)
        # the first sequence after which the first pending stage, if a Window, holds
        hit = pending[0].first_hit(err) if isinstance(pending[0], Window) else None
        if hit is not None and hit < len(batch) - 1:      # replay exactly up to that sequence
            for k, v in _weights(net).items():
                v[...] = snap[0][k]
            state.sequences, state.steps = snap[1], snap[2]
            learner.update(net, state, batch[: hit + 1])
            err = err[: hit + 1]
        n = len(err)
        for w in windows:
            w.extend(err)
        self.recent.extend(err)
        ok = (err < tr.tol).all(axis=1)
        self.run_correct = n - 1 - int(np.flatnonzero(~ok)[-1]) if (~ok).any() else self.run_correct + n
        done = self.done = done + n
        if hit is not None:      # the first pending stage (a Window) holds after the last sequence of err
            self._held(pending.pop(0), done)
            while pending and isinstance(pending[0], Window) and _holds_now(pending[0]):
                self._held(pending.pop(0), done)
        if pending and isinstance(pending[0], Check) and done >= self.next_check:
            self.next_check = (done // pending[0].every + 1) * pending[0].every
            while pending and isinstance(pending[0], Check) and self.run_correct >= pending[0].gate:
                ok_check, pending[0].figures = pending[0].test(net, self.rngs["check"])
                if not ok_check:
                    break
                self._held(pending.pop(0), done)
        stats = self.recent.stats()
        if done >= self.next_curve or not pending:
            res.curve.append((done, stats["mae"], stats["mse"], stats["wrong"]))
            self.next_curve = (done // tr.curve_every + 1) * tr.curve_every
        if tr.on_chunk is not None:
            ev = tr.on_chunk(net, {"sequences": done, "outputs": Y[: batch.offsets[n]], "batch": batch[:n],
                                   **stats}, self.rngs["grow"])
            if ev:
                res.events.append((ev, done))
        if tr.probe is not None and res.quality_at is None and (not pending or done >= self.next_probe):
            self.next_probe = (done // tr.probe_every + 1) * tr.probe_every
            if not pending or stats["wrong"] <= tr.probe_gate:
                if tr.probe(net, self.rngs["check"]):
                    res.quality_at = done

    def _finish(self) -> None:
        tr, res = self.tr, self.res
        if res.curve and res.curve[-1][0] != self.done and res.status != "diverged":
            s = self.recent.stats()
            res.curve.append((self.done, s["mae"], s["mse"], s["wrong"]))
        if not self.pending and res.status != "diverged":
            res.status, res.success = "solved", True
        res.sequences = self.done
        if res.success and tr.stages and getattr(tr.stages[-1], "count_from", "end") == "start":
            res.sequences = res.stages[tr.stages[-1].name]["sequences"]
        if res.status != "diverged" and tr.final_test is not None:
            last = tr.stages[-1].name if tr.stages else None
            res.test = res.stages.get(last, {}) if last in tr.stage_tests and res.success else {}
            if not res.test:
                res.test = tr.final_test(self.net, self.rngs["test"])
            res.test = {k: v for k, v in res.test.items() if k != "sequences"}
        res.steps, res.net = self.state.steps, self.net
        self.finished = True

    def result(self) -> TrialResult:
        """The outcome (complete once :meth:`advance` returned True)."""
        self.res.seconds, self.res.steps, self.res.net = self.seconds, self.state.steps, self.net
        return self.res

    def outcome(self) -> tuple[dict, bytes]:
        """The finished trial as (``TrialResult.to_dict()``, the final network as model-file bytes)."""
        from ..io import save_model

        buf = io.BytesIO()
        if self.net.is_finite():
            save_model(self.net, buf)
        return self.result().to_dict(), buf.getvalue()

    # ---- checkpoints -------------------------------------------------------------------------

    def checkpoint(self) -> bytes:
        """The complete state of the trial between two chunks, as bytes (an ``.npz`` archive)."""
        net, st, res = self.net, self.state, self.res
        arrays = {**{f"net_{k}": v for k, v in net.arrays().items()},
                  **{f"learner_{k}": v for k, v in _learner_arrays(st).items()}, **_window_arrays("recent", self.recent)}
        n_passed = len(self.tr.stages) - len(self.pending)
        stages = []
        for i, s in enumerate(self.pending):
            if isinstance(s, Window):
                arrays.update(_window_arrays(f"stage{i}", s))
            stages.append({"name": s.name, "figures": getattr(s, "figures", None)})
        meta = {"format": "lstm1997-trial-checkpoint", "format_version": 2, "seed": self.seed,
                "network": type(net).__name__, "learner_type": type(st).__name__,
                "done": self.done, "run_correct": self.run_correct,
                "next_probe": self.next_probe, "next_check": self.next_check, "next_curve": self.next_curve,
                "finished": self.finished, "seconds": self.seconds, "passed": n_passed, "pending": stages,
                "learner": {"sequences": st.sequences, "steps": st.steps},
                "rngs": {k: r.bit_generator.state for k, r in self.rngs.items()},
                "result": {"success": res.success, "status": res.status, "message": res.message,
                           "stages": res.stages, "quality_at": res.quality_at, "curve": res.curve,
                           "events": res.events, "test": res.test},
                "on_chunk": self.tr.on_chunk.state_dict() if hasattr(self.tr.on_chunk, "state_dict") else None}
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        return buf.getvalue()

    def _restore(self, blob: bytes) -> None:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays.pop("meta")))
        except Exception as e:   # any damage to the bytes: say so, never resume from garbage
            raise ValueError(f"not a readable trial checkpoint ({type(e).__name__}: {e})") from None
        if meta.get("format") != "lstm1997-trial-checkpoint" or meta.get("format_version") not in (1, 2):
            raise ValueError("not a trial checkpoint of this version of lstm1997")
        if meta["format_version"] == 1:     # 0.2.0: LSTM and truncated RTRL only, arrays under their own names
            arrays = {("net_" if k in ("W_h", "W_k", "mask_h", "mask_k") else "learner_" if k in ("dS_in", "dS_c")
                       else "") + k: v for k, v in arrays.items()}
            meta.update(network="LSTM", learner_type="RTRLState")
        net, st = self.net, self.state
        mine = {f"net_{k}": v for k, v in net.arrays().items()}
        mine.update({f"learner_{k}": v for k, v in _learner_arrays(st).items()})
        if (meta["seed"] != self.seed or meta.get("network") != type(net).__name__
                or meta.get("learner_type") != type(st).__name__
                or any(k not in arrays or arrays[k].shape != v.shape for k, v in mine.items())
                or meta["passed"] + len(meta["pending"]) != len(self.tr.stages)
                or [s["name"] for s in meta["pending"]] != [s.name for s in self.tr.stages[meta["passed"]:]]):
            raise ValueError("the checkpoint belongs to another trial (seed, network or stages differ)")
        type(net).__init__(net, net.arch, **{k: arrays[f"net_{k}"] for k in net.arrays()})
        for k, v in _learner_arrays(st).items():
            v[...] = arrays[f"learner_{k}"]
        st.sequences, st.steps = meta["learner"]["sequences"], meta["learner"]["steps"]
        _load_window("recent", self.recent, arrays)
        self.pending = list(self.tr.stages[meta["passed"]:])
        for i, (s, m) in enumerate(zip(self.pending, meta["pending"])):
            if isinstance(s, Window):
                _load_window(f"stage{i}", s, arrays)
            if isinstance(s, Check) and m["figures"] is not None:
                s.figures = m["figures"]
        for k, r in self.rngs.items():
            r.bit_generator.state = meta["rngs"][k]
        for k in ("done", "run_correct", "next_probe", "next_check", "next_curve", "finished", "seconds"):
            setattr(self, k, meta[k])
        r = meta["result"]
        self.res = TrialResult(r["success"], r["status"], self.done, self.seconds, st.steps, stages=r["stages"],
                               test=r["test"], quality_at=r["quality_at"], message=r["message"],
                               curve=[tuple(c) for c in r["curve"]], events=[tuple(e) for e in r["events"]])
        if meta["on_chunk"] is not None:
            self.tr.on_chunk.load_state_dict(meta["on_chunk"])


def _weights(net) -> dict:
    """The trainable weight arrays of a net (its arrays but the masks)."""
    return {k: v for k, v in net.arrays().items() if not k.startswith("mask")}


def _learner_arrays(state) -> dict:
    """The array fields of a learner's state (traces), by name; its counters are kept in the meta."""
    return {f.name: getattr(state, f.name) for f in fields(state) if isinstance(getattr(state, f.name), np.ndarray)}


def _window_arrays(prefix: str, w: Window) -> dict:
    return {f"{prefix}_{k}": v for k, v in w.state_arrays().items()}


def _load_window(prefix: str, w: Window, arrays: dict) -> None:
    w.load_state_arrays({k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "_")})


def _holds_now(w: Window) -> bool:
    """Whether a window criterion holds on its committed window (after ``extend``)."""
    s = w.stats()
    return s["window"] >= w.window and s["wrong"] <= w.max_wrong and (w.beta is None or s["mae"] < w.beta)


# ---- trials in lanes -------------------------------------------------------------------------

#: networks per call block of the lane kernel (``learners.lanes.BLOCK``): a group's lane-ready trials
#: go to ``update_lanes`` in calls of this many. Measured (thread CPU time, the paper's nets of 93 to
#: 6064 weights but Exp. 2a's, 2-core AVX2 machine): a block of 4 trains 1.9-4.6x as many net-steps per
#: second as one network, a block with 2 trials 1.25-2.4x, with 1 trial 0.66-1.23x (docs/decisions.md, D43)
LANE_WIDTH = BLOCK
#: a group's left-over trials (fewer than LANE_WIDTH) still go to the lane kernel, padded with idle lanes,
#: if at least this many (one left over trains alone)
LANE_PAD_FROM = 2
#: the lane kernel does not skip the zero inputs of one-hot data at the output units: nets whose output
#: units see more inputs than this gain little in lanes (Exp. 2a, 101 inputs: 1.1x at 4 lanes, 0.3-0.8x with
#: 1-3 trials in a block) and train alone
_LANE_OUTPUT_INPUTS = 16


def _lane_key(run: TrialRun):
    """Runs with equal keys can train in one call of the lane kernel; ``None``: this run trains alone."""
    net, learner = run.net, run.learner
    if not lanes_supported(learner, net) or not getattr(net.arch, "is_1997", True):
        return None
    a = net.arch
    if a.outputs_see_inputs and a.n_in > _LANE_OUTPUT_INPUTS:
        return None
    return (a, learner.per_step, learner.delta)


def _train_together(chunks: list, clock: Callable[[], float]) -> list:
    """The learner updates of a round of :meth:`TrialRun.advance_group`: ``chunks`` is ``[(run, batch,
    snapshot)]``; returns per chunk what ``run.learner.update(run.net, run.state, batch)`` returns, or the
    :class:`DivergenceError` it raises. Adds each run's compute time to its ``seconds``."""
    outs: list = [None] * len(chunks)
    by_key: dict = {}
    alone = []
    for k, (run, _, _) in enumerate(chunks):
        key = _lane_key(run)
        if key is None:
            alone.append(k)
        else:
            by_key.setdefault(key, []).append(k)
    calls = []
    for ks in by_key.values():
        full = len(ks) - len(ks) % LANE_WIDTH
        calls += [ks[i: i + LANE_WIDTH] for i in range(0, full, LANE_WIDTH)]
        rest = ks[full:]
        if len(rest) >= LANE_PAD_FROM:
            calls.append(rest)
        else:
            alone += rest
    for ks in calls:
        t = clock()
        runs = [chunks[k][0] for k in ks]
        learners, nets, states = [r.learner for r in runs], [r.net for r in runs], [r.state for r in runs]
        batches = [chunks[k][1] for k in ks]
        # outputs only at target steps unless a growth hook reads them all (errors read the target steps only)
        got = update_lanes(learners, nets, states, batches,
                           all_outputs=any(r.tr.on_chunk is not None for r in runs))
        for k, o in zip(ks, got):
            outs[k] = o if isinstance(o, DivergenceError) else np.ascontiguousarray(o)
        share = (clock() - t) / len(ks)
        for r in runs:
            r.seconds += share
    for k in sorted(alone):
        run, batch, _ = chunks[k]
        t = clock()
        try:
            outs[k] = run.learner.update(run.net, run.state, batch)
        except DivergenceError as e:
            outs[k] = e
        run.seconds += clock() - t
    return outs
