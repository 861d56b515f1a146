"""Benchmark: microseconds per time step of *training* (forward + traces + online update).

Measures, for the paper's 93-, 156- and 308-weight networks (adding problem; temporal order 6a, 6b):

1. the compiled Numba kernel, ``TruncatedRTRL(lr=0.1)`` (first-call time reported apart; then
   best of 3 timed runs of at least ~1 s each),
2. the plain NumPy reference, ``TruncatedRTRL(lr=0.1, backend="numpy")``, on a few sequences,
3. PyTorch ``nn.LSTM`` + ``nn.Linear`` + sigmoid trained online with SGD, one update per sequence,
   in float32 and float64, single-threaded (only if ``import torch`` works; torch is optional),
4. ns per weight-step (us/step divided by the number of weights: the O(W) scaling check),
5. us/step of the 93-weight net on sequences of length 100 vs 1000 (same total steps).

Every sequence has 100 steps and a target only at its last step. Run::

    python benchmarks/bench_kernel.py            # full run
    python benchmarks/bench_kernel.py --quick    # smoke test (< 30 s including compile)
    python benchmarks/bench_kernel.py --json results.json

It is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from lstm1997 import Architecture, Batch, TruncatedRTRL, init

LR = 0.1
SEQ_LEN = 100

#: (name, architecture, expected number of weights, input kind)
NETS = [
    ("adding (Exp. 4)", Architecture(n_in=2, n_out=1, blocks=2, cells=2, in_gate_bias=(-3.0, -6.0)), 93,
     "uniform"),
    ("temporal order 6a", Architecture(8, 4, 2, 2, in_gate_bias=(-2.0, -4.0)), 156, "onehot"),
    ("temporal order 6b", Architecture(8, 8, 3, 2, in_gate_bias=(-2.0, -4.0, -6.0)), 308, "onehot"),
]


def print_columns(head: list, lines: list) -> None:
    """A plain-text table: the first column left-aligned, the others right-aligned, a rule under the head."""
    widths = [max(len(h), *(len(ln[i]) for ln in lines)) for i, h in enumerate(head)]
    sep = "  "

    def row(cells):
        return sep.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    print(row(head))
    print(sep.join("-" * w for w in widths))
    for ln in lines:
        print(row(ln))


# ---- data ---------------------------------------------------------------------------------

def make_batch(arch: Architecture, kind: str, n_seq: int, seq_len: int, rng: np.random.Generator) -> Batch:
    """``n_seq`` random sequences of ``seq_len`` steps, one target (uniform in [0, 1]) at the end."""
    steps = n_seq * seq_len
    if kind == "uniform":
        x = rng.uniform(-1.0, 1.0, size=(steps, arch.n_in))
    else:  # one-hot random symbols
        x = np.zeros((steps, arch.n_in))
        x[np.arange(steps), rng.integers(0, arch.n_in, size=steps)] = 1.0
    d = np.full((steps, arch.n_out), np.nan)
    last = np.arange(1, n_seq + 1) * seq_len - 1
    d[last] = rng.uniform(0.0, 1.0, size=(n_seq, arch.n_out))
    return Batch(x, d, np.arange(n_seq + 1, dtype=np.int64) * seq_len)


# ---- our learner --------------------------------------------------------------------------

def time_train(net0, learner: TruncatedRTRL, batch: Batch):
    """Train a fresh copy of ``net0`` on ``batch``; return (seconds, trained net)."""
    net = net0.copy()
    state = learner.init(net)
    t0 = time.perf_counter()
    learner.update(net, state, batch)
    return time.perf_counter() - t0, net


def bench_numba(arch, kind, net0, rng, n_seq, min_s, repeats):
    """First-call time, then best of ``repeats`` runs on >= ``min_s`` seconds of training."""
    learner = TruncatedRTRL(lr=LR)
    first_call_s, _ = time_train(net0, learner, make_batch(arch, kind, 2, SEQ_LEN, rng))
    batch = make_batch(arch, kind, n_seq, SEQ_LEN, rng)
    t, _ = time_train(net0, learner, batch)
    if t < min_s:  # too short to time well: grow the workload
        n_seq = int(np.ceil(n_seq * 1.15 * min_s / max(t, 1e-6)))
        batch = make_batch(arch, kind, n_seq, SEQ_LEN, rng)
        t, _ = time_train(net0, learner, batch)
    times = [t] + [time_train(net0, learner, batch)[0] for _ in range(repeats - 1)]
    best = min(times)
    return dict(first_call_s=first_call_s, n_seq=n_seq, seq_len=SEQ_LEN, steps=batch.n_steps,
                times_s=times, best_s=best, us_per_step=1e6 * best / batch.n_steps)


def bench_lengths(arch, kind, net0, rng, total_steps, repeats, lengths=(100, 1000)):
    """Numba us/step on sequences of each length, same total steps; the repeats are interleaved
    (100, 1000, 100, 1000, ...) so that a drift in machine load hits both lengths alike."""
    learner = TruncatedRTRL(lr=LR)
    batches = {T: make_batch(arch, kind, total_steps // T, T, rng) for T in lengths}
    times = {T: [] for T in lengths}
    for _ in range(repeats):
        for T in lengths:
            times[T].append(time_train(net0, learner, batches[T])[0])
    return {T: dict(n_seq=len(batches[T]), seq_len=T, steps=batches[T].n_steps, times_s=times[T],
                    best_s=min(times[T]), us_per_step=1e6 * min(times[T]) / batches[T].n_steps)
            for T in lengths}


def bench_numpy(arch, kind, net0, rng, target_s, min_seq, max_seq):
    """The NumPy reference on a few sequences; also checks it ends at the kernel's weights."""
    learner = TruncatedRTRL(lr=LR, backend="numpy")
    t, _ = time_train(net0, learner, make_batch(arch, kind, 1, SEQ_LEN, rng))  # calibration
    n_seq = int(np.clip(np.ceil(target_s / max(t, 1e-6)), min_seq, max_seq))
    batch = make_batch(arch, kind, n_seq, SEQ_LEN, rng)
    t, net_np = time_train(net0, learner, batch)
    _, net_nb = time_train(net0, TruncatedRTRL(lr=LR), batch)
    diff = max(np.abs(net_np.W_h - net_nb.W_h).max(), np.abs(net_np.W_k - net_nb.W_k).max())
    return dict(n_seq=n_seq, steps=batch.n_steps, time_s=t, us_per_step=1e6 * t / batch.n_steps,
                max_abs_weight_diff_vs_numba=float(diff))


# ---- PyTorch (optional) -----------------------------------------------------------------------

def import_torch():
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return None, f"{type(exc).__name__}: {exc}"
    return torch, None


def bench_torch(torch, arch, kind, rng, dtype_name, target_s, min_seq, max_seq):
    """``nn.LSTM(n_in, C*S)`` + ``nn.Linear`` + sigmoid, SGD(lr=0.1), one update per sequence
    (batch size 1), loss 0.5 * squared error at the last step."""
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    hidden = arch.n_cells
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(arch.n_in, hidden).to(dtype)
    head = torch.nn.Linear(hidden, arch.n_out).to(dtype)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=LR)
    n_params = int(sum(p.numel() for p in params))

    def make(n):
        b = make_batch(arch, kind, n, SEQ_LEN, rng)
        xs = [torch.tensor(b[i][0], dtype=dtype).unsqueeze(1) for i in range(n)]  # (T, 1, n_in)
        ds = [torch.tensor(b[i][1][-1], dtype=dtype) for i in range(n)]           # (K,)
        return xs, ds

    def train(xs, ds):
        t0 = time.perf_counter()
        for x, d in zip(xs, ds):
            out, _ = lstm(x)
            y = torch.sigmoid(head(out[-1, 0]))
            loss = 0.5 * ((y - d) ** 2).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    train(*make(5))                      # warm-up
    t = train(*make(min_seq))            # calibration
    n_seq = int(np.clip(np.ceil(target_s * min_seq / max(t, 1e-6)), min_seq, max_seq))
    xs, ds = make(n_seq)
    t = train(xs, ds)
    steps = n_seq * SEQ_LEN
    return dict(hidden_size=hidden, n_params=n_params, n_seq=n_seq, steps=steps, time_s=t,
                us_per_step=1e6 * t / steps)


# ---- machine info -----------------------------------------------------------------------------

def machine_info(torch) -> dict:
    cpu, n_logical = "unknown", 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() == "model name" and cpu == "unknown":
                    cpu = val.strip()
                if key.strip() == "processor":
                    n_logical += 1
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = None
    import numba  # only for its version (the kernel's compiler)

    return dict(cpu=cpu, logical_cpus=n_logical or None, platform=platform.platform(),
                python=platform.python_version(), numpy=np.__version__, numba=numba.__version__,
                torch=(torch.__version__ if torch is not None else None),
                date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), load_average_at_start=load)


# ---- output -------------------------------------------------------------------------------------

def fmt(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def print_table(rows, torch_note):
    head = ["net", "weights", "numba us/step", "ns/weight-step", "numpy us/step", "numpy/numba",
            "torch f32 us/step", "f32/numba", "torch f64 us/step", "f64/numba"]
    lines = []
    for r in rows:
        nb = r["numba"]["us_per_step"]
        line = [r["name"], str(r["n_weights"]), fmt(nb, ".3f"), fmt(r["ns_per_weight_step"], ".2f"),
                fmt(r["numpy"]["us_per_step"], ".1f"), fmt(r["numpy"]["us_per_step"] / nb, ".0f") + "x"]
        for key in ("torch_float32", "torch_float64"):
            tr = r.get(key)
            if tr is None:
                line += ["n/a", "n/a"]
            else:
                line += [fmt(tr["us_per_step"], ".1f"), fmt(tr["us_per_step"] / nb, ".0f") + "x"]
        lines.append(line)
    print_columns(head, lines)
    if torch_note:
        print(f"torch columns: {torch_note}")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer sequences (smoke test, < 30 s)")
    ap.add_argument("--json", metavar="PATH", help="also write all numbers as JSON to PATH")
    args = ap.parse_args(argv)

    if args.quick:
        cfg = dict(numba_seq=300, numba_min_s=0.1, repeats=3, np_target_s=0.2, np_min=2, np_max=20,
                   torch_target_s=0.2, torch_min=3, torch_max=200, len_steps=100_000)
    else:
        cfg = dict(numba_seq=5000, numba_min_s=1.0, repeats=3, np_target_s=1.5, np_min=5, np_max=200,
                   torch_target_s=1.5, torch_min=10, torch_max=2000, len_steps=3_000_000)

    t_start = time.perf_counter()
    rng = np.random.default_rng(0)
    torch, torch_err = import_torch()
    if torch is not None:
        torch.set_num_threads(1)
    info = machine_info(torch)

    print("lstm1997 training benchmark: us per time step of training (forward + traces + online update)")
    print(f"mode: {'quick' if args.quick else 'full'}; sequences of {SEQ_LEN} steps, target at the last step "
          f"only; lr = {LR}; single-threaded")
    print(f"CPU: {info['cpu']} ({info['logical_cpus']} logical CPUs); {info['platform']}; "
          f"load average at start {info['load_average_at_start'] or 'n/a'}")
    print(f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
          f"torch {info['torch'] or 'not installed'}; {info['date']}")
    print()

    rows = []
    for name, arch, expect_w, kind in NETS:
        assert arch.n_weights == expect_w, (name, arch.n_weights, expect_w)
        net0 = init(arch, rng)
        r = dict(name=name, n_weights=arch.n_weights, architecture=arch.to_dict())
        r["numba"] = bench_numba(arch, kind, net0, rng, cfg["numba_seq"], cfg["numba_min_s"], cfg["repeats"])
        r["ns_per_weight_step"] = 1e3 * r["numba"]["us_per_step"] / arch.n_weights
        r["numpy"] = bench_numpy(arch, kind, net0, rng, cfg["np_target_s"], cfg["np_min"], cfg["np_max"])
        if torch is not None:
            for dt in ("float32", "float64"):
                r[f"torch_{dt}"] = bench_torch(torch, arch, kind, rng, dt, cfg["torch_target_s"],
                                               cfg["torch_min"], cfg["torch_max"])
        rows.append(r)
        nb, npy = r["numba"], r["numpy"]
        print(f"[{name}, {arch.n_weights} weights] numba: first call {nb['first_call_s']:.2f} s, "
              f"{nb['n_seq']} seqs x {nb['seq_len']} steps, runs "
              + ", ".join(f"{t:.3f}" for t in nb["times_s"]) + " s (best taken); "
              f"numpy: {npy['n_seq']} seqs in {npy['time_s']:.2f} s, "
              f"max |W_numpy - W_numba| = {npy['max_abs_weight_diff_vs_numba']:.1e}")
        for dt in ("float32", "float64"):
            tr = r.get(f"torch_{dt}")
            if tr is not None:
                print(f"    torch {dt}: nn.LSTM(hidden={tr['hidden_size']}) + Linear, {tr['n_params']} "
                      f"parameters, {tr['n_seq']} seqs in {tr['time_s']:.2f} s")

    # sequence-length independence: 93-weight net, same total steps
    name, arch, _, kind = NETS[0]
    by_len = bench_lengths(arch, kind, init(arch, rng), rng, cfg["len_steps"], cfg["repeats"])

    print()
    print_table(rows, None if torch is not None else f"n/a (torch not installed: {torch_err})")
    print()
    print("Compile: 'first call' is the first update() of each net: JIT compile (or a load from numba's")
    print("on-disk cache when an earlier run compiled it); it is excluded from every us/step above.")
    W = np.array([r["n_weights"] for r in rows], dtype=float)
    us = np.array([r["numba"]["us_per_step"] for r in rows])
    slope, intercept = np.polyfit(W, us, 1)
    print("O(W) check: ns/weight-step = 1000 x (numba us/step) / (number of weights). A least-squares line")
    print(f"through the three nets, us/step = {intercept:.3f} + {1e3 * slope:.3f} ns x W, splits the cost into a")
    print("fixed per-step part and a part linear in the number of weights (ns/weight-step falls with W")
    print("by as much as the fixed part weighs).")
    if torch is not None:
        print("Note: torch.nn.LSTM is a different model (forget gates, 4 gates per unit, two bias vectors,")
        print("trained by full BPTT); hidden size = number of LSTM cells (4 / 4 / 6), parameter counts "
              + " / ".join(str(r["torch_float32"]["n_params"]) for r in rows) + ".")
        print("This compares the cost of a per-sequence online trainer (one SGD step per sequence, batch")
        print("size 1, torch.set_num_threads(1)), not the two learning algorithms.")
    print()
    print(f"Sequence-length independence ({arch.n_weights}-weight net, numba, same total steps):")
    for T, b in by_len.items():
        print(f"  length {T:5d}: {b['n_seq']:6d} seqs, {b['steps']} steps, runs "
              + ", ".join(f"{t:.3f}" for t in b["times_s"]) + f" s, best {b['best_s']:.3f} s -> "
              f"{b['us_per_step']:.3f} us/step")
    ratio = by_len[1000]["us_per_step"] / by_len[100]["us_per_step"]
    print(f"  ratio length-1000 / length-100: {ratio:.3f}  (1.0 = cost per step independent of length)")

    wall = time.perf_counter() - t_start
    print()
    print(f"total wall time of this benchmark: {wall:.1f} s")

    result = dict(machine=info, mode="quick" if args.quick else "full", config=cfg, lr=LR, seq_len=SEQ_LEN,
                  torch_available=torch is not None, torch_error=torch_err, nets=rows,
                  o_w_fit=dict(us_per_step_intercept=float(intercept), ns_per_weight_slope=float(1e3 * slope)),
                  seq_length_independence=dict(net_weights=arch.n_weights,
                                               runs={str(T): b for T, b in by_len.items()},
                                               ratio_1000_over_100=ratio),
                  wall_time_s=wall)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
