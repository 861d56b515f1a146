"""Benchmark: net-steps per second of *training* for L networks in SIMD lanes vs one network at a time.

Measures, for the paper's 93-, 156- and 308-weight networks (adding problem, Exp. 4, uniform inputs;
temporal order 6a, 6b, one-hot inputs via ``Batch.one_hot``), the training throughput (forward +
traces + online update, ``TruncatedRTRL(lr=0.1)``) in net-steps per second per core of:

1. one network, the one-network kernel, ``learner.update(net, state, batch)`` (also given as us/step),
2. ``update_lanes`` with L = 4, 8 and 16 independent networks (own initial weights) on L independent
   batches (throughput = total net-steps of all lanes / seconds, everything ``update_lanes`` does
   included); the kernel trains them in blocks of 4 (one AVX2 register of float64 per quantity), so L = 8
   and 16 are 2 and 4 kernel calls,
3. PyTorch ``nn.LSTM`` + ``nn.Linear`` + sigmoid trained with SGD, one update per sequence, float32,
   ``torch.set_num_threads(1)`` (only if ``import torch`` works; torch is optional),

and the ratios lanes / one network and one network (and 16 lanes) / torch. Every sequence has 100
steps and a target only at its last step; one network and the lanes are given their sequences in calls
of ``CHUNK`` = 1000 sequences per network, as ``reproduce`` trains (outputs at every step, as
``learner.update`` returns them).

Timing rules (the machine may be shared): every figure is CPU time of the calling thread
(``time.thread_time()``, not wall time; the kernels and torch, at one thread, run in the caller); all
variants are compiled / warmed up first; each timed run is at least ~0.3 s of work (the number of
sequences is scaled from a calibration run); the variants run round-robin (one net, L4, L8, L16,
torch, one net, ...) over several repetitions and the best run of each is kept, so that a change in
machine load hits all of them alike. Run::

    python benchmarks/bench_lanes.py                 # full run (a few minutes)
    python benchmarks/bench_lanes.py --quick         # smoke test (< 1 minute)
    python benchmarks/bench_lanes.py --json results.json

It is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_kernel import LR, NETS, SEQ_LEN, import_torch, machine_info, print_columns  # noqa: E402

from lstm1997 import Batch, DivergenceError, TruncatedRTRL, init  # noqa: E402
from lstm1997.learners.lanes import update_lanes  # noqa: E402

LANES = (4, 8, 16)
CHUNK = 1000          # sequences per update call (per network), as the experiments' chunks
TIMER = "thread CPU time"


# ---- data ---------------------------------------------------------------------------------

def make_batch(arch, kind: str, n_seq: int, rng: np.random.Generator) -> Batch:
    """``n_seq`` random sequences of ``SEQ_LEN`` steps, one target (uniform in [0, 1]) at the end;
    uniform inputs in [-1, 1] (adding) or one-hot random symbols (``Batch.one_hot``, as the
    experiments build them)."""
    steps = n_seq * SEQ_LEN
    d = np.full((steps, arch.n_out), np.nan)
    d[np.arange(1, n_seq + 1) * SEQ_LEN - 1] = rng.uniform(0.0, 1.0, size=(n_seq, arch.n_out))
    offsets = np.arange(n_seq + 1, dtype=np.int64) * SEQ_LEN
    if kind == "uniform":
        return Batch(rng.uniform(-1.0, 1.0, size=(steps, arch.n_in)), d, offsets)
    return Batch.one_hot(rng.integers(0, arch.n_in, size=steps), arch.n_in, d, offsets)


def _chunks(batch: Batch) -> list:
    """The batch in chunks of ``CHUNK`` sequences, one update call each, as the protocol trains (a call per
    chunk of every trial; a whole long run in one call would measure page faults on its output array)."""
    return [batch[i:i + CHUNK] for i in range(0, len(batch), CHUNK)]


# ---- variants ---------------------------------------------------------------------------------
# Each variant has prepare(n_seq) -> workload (built outside the timer) and run(workload) ->
# (thread CPU seconds, net-steps, number of diverged networks).

class OneNet:
    label = "one net"

    def __init__(self, arch, kind, net0, rng):
        self.arch, self.kind, self.net0, self.rng = arch, kind, net0, rng
        self.learner = TruncatedRTRL(lr=LR)

    def prepare(self, n_seq):
        return _chunks(make_batch(self.arch, self.kind, n_seq, self.rng))

    def run(self, chunks):
        net = self.net0.copy()
        state = self.learner.init(net)
        diverged = 0
        t0 = time.thread_time()
        try:
            for batch in chunks:
                self.learner.update(net, state, batch)
        except DivergenceError:
            diverged = 1
        return time.thread_time() - t0, sum(b.n_steps for b in chunks), diverged


class Lanes:
    def __init__(self, L, arch, kind, net0s, rng):
        self.L, self.arch, self.kind, self.net0s, self.rng = L, arch, kind, net0s[:L], rng
        self.label = f"L{L}"
        self.learners = [TruncatedRTRL(lr=LR) for _ in range(L)]

    def prepare(self, n_seq):
        """``n_seq`` sequences per lane, each lane its own batch, in chunks."""
        per_lane = [_chunks(make_batch(self.arch, self.kind, n_seq, self.rng)) for _ in range(self.L)]
        return list(zip(*per_lane))

    def run(self, rounds):
        nets = [n.copy() for n in self.net0s]
        states = [lr_.init(n) for lr_, n in zip(self.learners, nets)]
        diverged = [False] * self.L
        t0 = time.thread_time()
        for batches in rounds:
            out = update_lanes(self.learners, nets, states, batches)
            diverged = [d or isinstance(o, DivergenceError) for d, o in zip(diverged, out)]
        t = time.thread_time() - t0
        return t, sum(b.n_steps for r in rounds for b in r), sum(diverged)


class TorchF32:
    """``nn.LSTM(n_in, number of cells)`` + ``nn.Linear`` + sigmoid, SGD(lr=0.1), one update per
    sequence (batch size 1), loss 0.5 * squared error at the last step, float32 (as bench_kernel.py)."""

    label = "torch f32"

    def __init__(self, torch, arch, kind, rng):
        self.torch, self.arch, self.kind, self.rng = torch, arch, kind, rng

    def prepare(self, n_seq):
        torch = self.torch
        b = make_batch(self.arch, self.kind, n_seq, self.rng)
        x = torch.tensor(b.inputs, dtype=torch.float32)
        d = torch.tensor(b.targets[b.offsets[1:] - 1], dtype=torch.float32)
        xs = [x[b.offsets[i]:b.offsets[i + 1]].unsqueeze(1).contiguous() for i in range(n_seq)]  # (T, 1, n_in)
        return xs, [d[i] for i in range(n_seq)]

    def run(self, work):
        torch = self.torch
        xs, ds = work
        torch.manual_seed(0)
        lstm = torch.nn.LSTM(self.arch.n_in, self.arch.n_cells)
        head = torch.nn.Linear(self.arch.n_cells, self.arch.n_out)
        opt = torch.optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=LR)
        t0 = time.thread_time()
        for x, d in zip(xs, ds):
            out, _ = lstm(x)
            y = torch.sigmoid(head(out[-1, 0]))
            loss = 0.5 * ((y - d) ** 2).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        t = time.thread_time() - t0
        return t, len(xs) * SEQ_LEN, int(not all(torch.isfinite(p).all() for p in lstm.parameters()))


def calibrate(variant, n_cal, target_s, per_run_steps):
    """Warm up (compile), then size the workload (sequences per network) to ~``target_s`` seconds."""
    variant.run(variant.prepare(2))                               # compile / warm up
    t, steps, _ = variant.run(variant.prepare(n_cal))
    rate = steps / max(t, 1e-6)                                   # net-steps per second
    return max(n_cal, int(np.ceil(1.2 * target_s * rate / per_run_steps)))


# ---- output -------------------------------------------------------------------------------------

def fmt(v, spec):
    return "null" if v is None else format(v, spec)


def print_table(rows):
    head = ["net", "W", "one net steps/s", "us/step"]
    head += [f"L{L} steps/s (x one)" for L in LANES]
    head += ["torch f32 steps/s", "one/torch", "L16/torch"]
    lines = []
    for r in rows:
        ln = [r["name"], str(r["weights"]), fmt(r["one_net_steps_per_s"], ",.0f"),
              fmt(1e6 / r["one_net_steps_per_s"], ".3f")]
        for L in LANES:
            la = r["lanes"][str(L)]
            ln.append(f"{la['steps_per_s']:,.0f} ({la['ratio']:.2f}x)")
        ln += [fmt(r["torch_f32_steps_per_s"], ",.0f"),
               fmt(r["torch_f32_ratio"], ".1f") + ("x" if r["torch_f32_ratio"] is not None else ""),
               fmt(r["lanes16_over_torch"], ".1f") + ("x" if r["lanes16_over_torch"] is not None else "")]
        lines.append(ln)
    print_columns(head, lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short runs, 2 repetitions (smoke test, < 1 minute)")
    ap.add_argument("--json", metavar="PATH", help="also write the numbers as JSON to PATH")
    args = ap.parse_args(argv)
    cfg = dict(target_s=0.1, repeats=2, n_cal=20, torch_cal=5) if args.quick else \
        dict(target_s=0.4, repeats=5, n_cal=100, torch_cal=20)

    t_start = time.perf_counter()
    rng = np.random.default_rng(0)
    torch, torch_err = import_torch()
    if torch is not None:
        torch.set_num_threads(1)
    info = machine_info(torch)

    print("lstm1997 lane benchmark: training net-steps per second per core, one network vs L networks in "
          "SIMD lanes (update_lanes)")
    print(f"mode: {'quick' if args.quick else 'full'}; sequences of {SEQ_LEN} steps, target at the last step "
          f"only; lr = {LR}; timer: {TIMER} (time.thread_time() of the calling thread, not wall time); "
          f"~{cfg['target_s']} s per timed run, variants round-robin, best of {cfg['repeats']}")
    print(f"CPU: {info['cpu']} ({info['logical_cpus']} logical CPUs); {info['platform']}; "
          f"load average at start {info['load_average_at_start'] or 'n/a'}")
    print(f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
          f"torch {info['torch'] or 'not installed'}; {info['date']}")
    if torch is None:
        print(f"torch not installed ({torch_err}): torch columns are null")
    print()

    rows = []
    for name, arch, expect_w, kind in NETS:
        assert arch.n_weights == expect_w, (name, arch.n_weights, expect_w)
        net0s = [init(arch, rng) for _ in range(max(LANES))]
        variants = [OneNet(arch, kind, net0s[0], rng)] + [Lanes(L, arch, kind, net0s, rng) for L in LANES]
        if torch is not None:
            variants.append(TorchF32(torch, arch, kind, rng))
        work, times, n_div = {}, {v.label: [] for v in variants}, {v.label: 0 for v in variants}
        for v in variants:
            n_lanes = getattr(v, "L", 1)
            n_cal = cfg["torch_cal"] if isinstance(v, TorchF32) else cfg["n_cal"]
            n_seq = calibrate(v, n_cal, cfg["target_s"], n_lanes * SEQ_LEN)
            work[v.label] = (v.prepare(n_seq), n_seq * n_lanes)
        steps = {}
        for _ in range(cfg["repeats"]):                 # round-robin: one net, L4, L8, L16, torch, one net, ...
            for v in variants:
                t, s, d = v.run(work[v.label][0])
                times[v.label].append(t)
                steps[v.label] = s
                n_div[v.label] += d
        rate = {k: steps[k] / min(ts) for k, ts in times.items()}
        one = rate["one net"]
        tr = rate.get("torch f32")
        r = dict(weights=arch.n_weights, name=name, one_net_steps_per_s=one,
                 lanes={str(L): dict(steps_per_s=rate[f"L{L}"], ratio=rate[f"L{L}"] / one) for L in LANES},
                 torch_f32_steps_per_s=tr, torch_f32_ratio=(one / tr if tr else None),
                 lanes16_over_torch=(rate["L16"] / tr if tr else None))
        rows.append(r)
        print(f"[{name}, {arch.n_weights} weights] one net {1e6 / one:.3f} us/step")
        for v in variants:
            n_seqs = work[v.label][1]
            print(f"    {v.label:9s}: {n_seqs:6d} seqs ({steps[v.label]} net-steps) per run, runs "
                  + ", ".join(f"{t:.3f}" for t in times[v.label]) + " s (best taken)"
                  + (f"; {n_div[v.label]} diverged" if n_div[v.label] else ""))

    print()
    print(f"net-steps per second per core ({TIMER}; L lanes: total net-steps of all L networks / seconds;")
    print("x one = over one network; one/torch, L16/torch = over PyTorch nn.LSTM float32 per-sequence SGD)")
    print_table(rows)
    if torch is None:
        print("torch columns: torch not installed")
    else:
        print("Note: torch.nn.LSTM is a different model (forget gates, 4 gates per unit, full BPTT), hidden size")
        print("= number of cells; this compares per-sequence online trainers' cost per net-step, not algorithms.")
    print()
    print(f"total wall time of this benchmark: {time.perf_counter() - t_start:.1f} s")

    result = dict(nets=rows, machine=info, timer=TIMER)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
