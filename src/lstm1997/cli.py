"""The ``lstm1997`` command: parses, prints, exits. The work is done by the library.

    lstm1997 run adding --T 100 --seed 0 [--max-sequences N] [--json PATH]
    lstm1997 fit DATA.npz --blocks C --cells S [--lr A] [--epochs E] [--init MODEL] --out MODEL
    lstm1997 predict MODEL DATA.npz --out OUT.npz
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from . import __version__

EXPERIMENT_ALIASES = {"4": "adding", "adding": "adding"}


class _Progress:
    """Progress lines on stderr: rewritten in place on a terminal, a plain line every 15 s otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.5 if self.tty else 15.0
        self.last = -math.inf

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.last > -math.inf:
            self.stream.write("\n")
            self.stream.flush()


def _warm_kernels(progress: _Progress) -> None:
    """Compile (or load from the on-disk cache) the kernel once, and say so if it took a while."""
    from .learners import TruncatedRTRL
    from .network import Architecture, init
    from .batch import Batch

    t0 = time.perf_counter()
    net = init(Architecture(1, 1, 1), np.random.default_rng(0))
    learner = TruncatedRTRL(0.1)
    learner.update(net, learner.init(net), Batch(np.zeros((1, 1)), np.zeros((1, 1)), np.array([0, 1])))
    dt = time.perf_counter() - t0
    if dt > 1.0:
        progress.stream.write(f"compiled kernels in {dt:.1f} s (cached on disk for later runs)\n")


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _write_json(path: str, obj: dict) -> None:
    with open(path, "w") as f:
        json.dump(_jsonable(obj), f, indent=2)
        f.write("\n")


# ---- run -----------------------------------------------------------------------------------

def cmd_run(args) -> int:
    from .experiments.adding import PAPER_TABLE7, AddingConfig, run

    name = EXPERIMENT_ALIASES.get(args.experiment)
    if name is None:
        raise ValueError(f"unknown experiment {args.experiment!r}; available: adding (4)")
    overrides = {k: v for k, v in (("T", args.T), ("lr", args.lr), ("max_sequences", args.max_sequences))
                 if v is not None}
    cfg = AddingConfig(**overrides)
    if cfg.max_sequences < 1:
        raise ValueError("--max-sequences must be at least 1")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ValueError(f"--lr must be a positive number, got {cfg.lr}")
    arch = cfg.architecture()
    out = sys.stdout
    out.write(f"Experiment 4 (adding problem), T={cfg.T}, seed {args.seed}: {arch.describe()}\n"
              f"stop: ST3({cfg.beta}) over the last {cfg.window} training sequences (|error| < {cfg.tol}), "
              f"cap {cfg.max_sequences:,} sequences; test on {cfg.test_size} fresh sequences\n")
    out.flush()
    prog = _Progress()
    _warm_kernels(prog)

    def progress(p):
        prog.show(f"sequences {p['sequences']:>10,}  {p['rate']:>8,.0f} seq/s  "
                  f"window: MAE {p['window_mae']:.4f}  wrong {p['window_wrong']}/{p['window_window']}  "
                  f"[{p['seconds']:.0f} s]")

    res = run(cfg, args.seed, progress)
    prog.close()
    paper = PAPER_TABLE7.get(cfg.T)
    verdict = {"solved": "SOLVED (ST3 criterion held)", "cap": "NOT solved (cap reached)",
               "diverged": "NOT solved (diverged)"}[res.status]
    out.write(f"\n{verdict}\n"
              f"  training sequences until the criterion held: "
              f"{res.sequences:,}" + ("" if res.success else " (no: stopped at the cap)") + "\n"
              f"  first probe with <= {cfg.quality_wrong} wrong of {cfg.test_size} (paper's test quality): "
              + (f"{res.quality_at:,} sequences" if res.quality_at is not None else "not reached") + "\n"
              f"  test: {res.test_wrong} wrong out of {res.test_total}, mean absolute error {res.test_mae:.4f}, "
              f"MSE {res.test_mse:.2e}\n"
              f"  wall time {res.seconds:.1f} s ({res.steps / max(res.seconds, 1e-9) / 1e6:.2f} M steps/s)\n")
    if res.message:
        out.write(f"  {res.message}\n")
    if paper:
        out.write(f"  paper (Table 7, mean of 10 trials): {paper[3]:,} sequences, {paper[2]} wrong of 2560\n")
    if args.json:
        _write_json(args.json, {
            "experiment": "4", "name": "adding", "version": __version__, "params": cfg.params(),
            "seed": args.seed, "weights": arch.n_weights, "success": res.success, "status": res.status,
            "sequences": res.sequences, "quality_at": res.quality_at, "test_wrong": res.test_wrong,
            "test_total": res.test_total, "test_mae": res.test_mae, "test_mse": res.test_mse,
            "seconds": res.seconds, "steps": res.steps, "message": res.message,
            "paper": None if paper is None else {"sequences": paper[3], "test_wrong": paper[2],
                                                 "test_total": 2560, "trials": 10},
            "curve": [list(c) for c in res.curve[:: max(1, len(res.curve) // 200)]],
        })
        out.write(f"  wrote {args.json}\n")
    return 0


# ---- fit / predict ---------------------------------------------------------------------------

def cmd_fit(args) -> int:
    from .io import load_data, load_model, save_model
    from .learners import TruncatedRTRL
    from .network import init
    from .training import default_architecture, train

    if not (math.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"--lr must be a positive number, got {args.lr}")
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    batch = load_data(args.data)
    if args.init:
        net = load_model(args.init)
        if batch.n_in != net.arch.n_in or batch.n_out != net.arch.n_out:
            raise ValueError(f"{args.data} has {batch.n_in} inputs and {batch.n_out} targets per step but "
                             f"model {args.init} has {net.arch.n_in} inputs and {net.arch.n_out} outputs")
    else:
        if args.blocks is None or args.cells is None:
            raise ValueError("--blocks and --cells are required unless --init MODEL is given")
        if args.blocks < 1 or args.cells < 1:
            raise ValueError("--blocks and --cells must be positive")
        arch = default_architecture(batch.n_in, batch.n_out, args.blocks, args.cells)
        net = init(arch, np.random.default_rng(np.random.SeedSequence(args.seed).spawn(2)[0]))
    rng = np.random.default_rng(np.random.SeedSequence(args.seed).spawn(2)[1])
    print(f"training on {len(batch)} sequences ({batch.n_steps:,} steps) from {args.data}: "
          f"{net.arch.describe()}; lr {args.lr}, {args.epochs} epoch(s)")
    _warm_kernels(_Progress())

    def progress(st):
        sys.stderr.write(f"epoch {st.epoch}/{args.epochs}: training MAE {st.mae:.5f}  MSE {st.mse:.3e}  "
                         f"({st.seconds:.1f} s)\n")

    hist = train(net, batch, TruncatedRTRL(args.lr), args.epochs, rng, progress)
    save_model(net, args.out)
    print(f"final epoch: training MAE {hist[-1].mae:.5f}, MSE {hist[-1].mse:.3e}; wrote {args.out}")
    return 0


def cmd_predict(args) -> int:
    from .io import load_data, load_model
    from .network import predict

    net = load_model(args.model)
    batch = load_data(args.data, require_targets=False, n_out=net.arch.n_out)
    if batch.n_in != net.arch.n_in:
        raise ValueError(f"{args.data} has {batch.n_in} inputs per step but model {args.model} expects "
                         f"{net.arch.n_in}")
    Y = predict(net, batch)
    tmp = args.out if args.out.endswith(".npz") else args.out + ".npz"
    np.savez(tmp, outputs=Y, lengths=batch.lengths)
    if tmp != args.out:
        import os
        os.replace(tmp, args.out)
    print(f"wrote outputs of {len(batch)} sequences ({batch.n_steps:,} steps x {net.arch.n_out}) to {args.out}")
    return 0


# ---- main -------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm1997", description="The 1997 LSTM (Hochreiter & Schmidhuber) and "
                                "its experiments.")
    p.add_argument("--version", action="version", version=f"lstm1997 {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run one trial of a paper experiment")
    r.add_argument("experiment", help="experiment id or name: 4 / adding")
    r.add_argument("--T", type=int, help="sequence length parameter T (default: the paper's first row)")
    r.add_argument("--lr", type=float, help="learning rate (default: the paper's)")
    r.add_argument("--seed", type=int, default=0, help="trial seed (default 0)")
    r.add_argument("--max-sequences", type=int, help="cap on training sequences (default: the protocol's)")
    r.add_argument("--json", metavar="PATH", help="also write the result as JSON")
    r.set_defaults(func=cmd_run)

    f = sub.add_parser("fit", help="train an LSTM on sequences from a data file")
    f.add_argument("data", help="data file (.npz, see docs/model-format.md)")
    f.add_argument("--blocks", type=int, help="memory cell blocks C")
    f.add_argument("--cells", type=int, help="cells per block S")
    f.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    f.add_argument("--epochs", type=int, default=10, help="passes over the data (default 10)")
    f.add_argument("--seed", type=int, default=0, help="seed for the initial weights and the order")
    f.add_argument("--init", metavar="MODEL", help="start from this model instead of random weights")
    f.add_argument("--out", metavar="MODEL", required=True, help="where to write the trained model")
    f.set_defaults(func=cmd_fit)

    q = sub.add_parser("predict", help="write a model's outputs for the sequences of a data file")
    q.add_argument("model")
    q.add_argument("data")
    q.add_argument("--out", required=True, metavar="OUT.npz")
    q.set_defaults(func=cmd_predict)
    return p


def main(argv=None) -> int:
    from .io import FormatError
    from .learners import DivergenceError
    from .training import TrainingDiverged

    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FormatError, TrainingDiverged, DivergenceError, FileNotFoundError,
            IsADirectoryError, PermissionError) as e:
        sys.stderr.write(f"lstm1997: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\nlstm1997: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
