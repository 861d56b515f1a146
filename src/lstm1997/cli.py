"""The ``lstm1997`` command: parses, prints, exits. The work is done by the library.

    lstm1997 run EXPERIMENT [--T --N --p --q --lr --blocks --cells --method] --seed S [--max-sequences N] [--json PATH]
    lstm1997 list [--json]
    lstm1997 reproduce TABLE [--rows ...] [--trials K] [--budget quick|paper] [--json PATH]
                       [--db PATH] [--jobs N] [--lanes N] [--scheduler ADDRESS] [--checkpoint-every SECONDS]
    lstm1997 status [--db PATH]
    lstm1997 report [--db PATH] --out DIR
    lstm1997 guess 3a|3b|parity [--T --N --arch --noise] [--trials K] [--seed S] [--max-guesses N]
    lstm1997 fit DATA.npz --blocks C --cells S [--lr A] [--epochs E] [--init MODEL] --out MODEL
    lstm1997 predict MODEL DATA.npz --out OUT.npz
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import sys
import time

import numpy as np

from . import __version__



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


def _kernel_cache_counts() -> tuple[int, int]:
    """(signatures compiled, signatures loaded from numba's on-disk cache) so far, over the kernels."""
    compiled = loaded = 0
    for mod in ("lstm", "rnn"):
        m = sys.modules.get(f"{__package__}._kernels.{mod}")
        for v in vars(m).values() if m is not None else ():
            stats = getattr(v, "stats", None)
            if stats is not None and hasattr(stats, "cache_misses") and hasattr(stats, "cache_hits"):
                compiled += sum(stats.cache_misses.values())
                loaded += sum(stats.cache_hits.values())
    return compiled, loaded


def _kernel_message(dt: float, compiled: int, loaded: int) -> str | None:
    """What to say about getting the kernels ready: compiled, or only loaded from the on-disk cache."""
    if dt <= 1.0:
        return None
    if compiled:
        return f"compiled kernels in {dt:.1f} s (cached on disk for later runs)"
    if loaded:
        return f"loaded compiled kernels from the on-disk cache in {dt:.1f} s"
    return f"kernels ready in {dt:.1f} s"


def _warm_kernels(progress: _Progress) -> None:
    """Compile (or load from the on-disk cache) the kernel once, and say which if it took a while."""
    from .learners import TruncatedRTRL
    from .network import Architecture, init
    from .batch import Batch

    from .interrupt import deferred

    t0 = time.perf_counter()
    c0, l0 = _kernel_cache_counts()
    net = init(Architecture(1, 1, 1), np.random.default_rng(0))
    learner = TruncatedRTRL(0.1)
    with deferred():         # Numba's compiler is not to be cut by an exception: a signal waits for it
        learner.update(net, learner.init(net), Batch(np.zeros((1, 1)), np.zeros((1, 1)), np.array([0, 1])))
    dt = time.perf_counter() - t0
    c1, l1 = _kernel_cache_counts()
    msg = _kernel_message(dt, c1 - c0, l1 - l0)
    if msg:
        progress.stream.write(msg + "\n")


# ---- memory: refuse what cannot fit, before allocating it --------------------------------------

from ._memory import available_memory as _available_memory  # noqa: E402
from ._memory import check_memory as _check_memory  # noqa: E402
from ._memory import fmt_bytes as _bytes  # noqa: E402
from ._memory import net_bytes as _net_bytes  # noqa: E402


def _seq_bytes(n_seq: float, mean_length: float, n_in: int, n_out: int) -> float:
    """Estimated bytes for a batch of ``n_seq`` sequences (inputs, targets, outputs, errors, temporaries)."""
    return 16.0 * n_seq * max(mean_length, 1.0) * (n_in + 2 * n_out + 1)


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
    """Write ``obj`` as JSON to exactly ``path``, atomically (never a partial file; never replacing a
    folder, device or FIFO)."""
    from .interrupt import deferred
    from .io import write_text

    text = json.dumps(_jsonable(obj), indent=2) + "\n"
    with deferred():                 # a signal now is raised once the file is written (or not at all)
        write_text(path, text)


def _check_out(path, what: str, inputs=()) -> None:
    """Before any work: ``path`` can be written (see :func:`lstm1997.io.check_destination`)."""
    from .io import check_destination

    if path is not None:
        check_destination(path, inputs=inputs, what=what)


# ---- run / list / reproduce -------------------------------------------------------------------

_SYMBOLS = ("T", "N", "p", "q", "lr", "blocks", "cells", "method")


def _overrides(args) -> dict:
    return {k: getattr(args, k) for k in _SYMBOLS if getattr(args, k, None) is not None}


def _check_options_apply(exp, args) -> None:
    """Refuse, in the command line's terms, options of ``run`` that the experiment does not take (or that
    its name already fixes, as ``2a`` fixes the task)."""
    from dataclasses import fields

    names = {f.name for f in fields(exp.config)}
    takes = [k for k in _SYMBOLS if k in names]
    given = [k for k in _SYMBOLS if getattr(args, k, None) is not None]
    bad = [k for k in given if k not in names]
    if bad:
        opts = " and ".join(f"--{k}" for k in bad)
        raise ValueError(f"{opts} {'do' if len(bad) > 1 else 'does'} not apply to experiment {args.experiment} "
                         f"({exp.title}); its options are {', '.join('--' + k for k in takes) or 'none'} "
                         "(lstm1997 list shows every experiment's rows)")


def _matching_row(exp, cfg):
    """The paper's row whose parameters the config has (for the paper's figures beside ours)."""
    from dataclasses import asdict

    d = asdict(cfg)
    for row in exp.rows:
        if not row.cited and all(d.get(k) == v for k, v in row.params.items()) and row.stage is None:
            return row
    return None


def _duration(sec: float) -> str:
    from .runner.progress import duration

    return duration(sec)


def _est(sec: float) -> str:
    """An estimated duration: never "0 s" for a real trial ("<1 s" below a second, "-" when unknown)."""
    if sec is None or not math.isfinite(sec) or sec <= 0:
        return "-"
    return "<1 s" if sec < 1.0 else _duration(sec)


def _fmt(v, fmt="{:,.0f}"):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return fmt.format(v)


def _trial_progress(prog: "_Progress", label: str = ""):
    def progress(p):
        prog.show(f"{label}sequences {p['sequences']:>10,}  {p['rate']:>8,.0f} seq/s  "
                  f"[{p['stage']}]  last {p['window_window']:,}: MAE {p['window_mae']:.4f}  wrong {p['window_wrong']}/"
                  f"{p['window_window']}  [{p['seconds']:.0f} s]")
    return progress


def cmd_readings(args) -> int:
    from .experiments import lookup
    from .experiments.readings import BEST_SUPPORTED, READINGS, applicable, task_of

    if args.verdicts:
        if args.experiment is not None:
            raise ValueError("--verdicts lists every table; it takes no experiment")
        if args.json:
            print(json.dumps({"verdicts": [{"table": t, "readings": list(v.readings), "verdict": v.verdict}
                                           for t, v in BEST_SUPPORTED.items()]}, indent=1))
            return 0
        print("The best-supported reading of each table (the study of readings: docs/results.md; "
              "`reproduce TABLE --best` runs it beside the spec's):\n")
        for t, v in BEST_SUPPORTED.items():
            print(f"Table {t:<3} {' + '.join(v.readings) if v.readings else 'spec':<22} {v.verdict}")
        return 0
    if args.experiment is None:
        chosen = list(READINGS.values())
        task = None
    else:
        exp, fixed = lookup(args.experiment)
        cfg = exp.config_for(None, **fixed)
        chosen, task = applicable(exp, cfg), task_of(exp, cfg)
    if args.json:
        print(json.dumps({"task": task, "readings": [r.to_dict() for r in chosen]}, indent=1))
        return 0
    print(f"Readings of the paper{f' that apply to task {task}' if task else ''} (the default of every "
          "experiment is the spec's reading; docs/decisions.md):\n")
    for r in chosen:
        tag = "  DIAGNOSTIC (contradicts the paper's text)" if r.diagnostic else ""
        print(f"{r.name}{tag}\n  tasks: {', '.join(r.tasks)}\n  the paper: {r.paper}\n  changes: {r.change}\n"
              f"  weights: {r.weights}\n")
    return 0


def cmd_run(args) -> int:
    from dataclasses import asdict

    from .experiments import lookup, trial_figures

    exp, fixed = lookup(args.experiment)
    over = {**fixed, **_overrides(args)}
    _check_options_apply(exp, args)
    if args.max_sequences is not None:
        if args.max_sequences < 1:
            raise ValueError("--max-sequences must be at least 1")
        over["max_sequences"] = args.max_sequences
    if "lr" in over and not (math.isfinite(over["lr"]) and over["lr"] > 0):
        raise ValueError(f"--lr must be a positive number, got {over['lr']}")
    if exp.per_trial is not None:
        over = {**exp.per_trial(args.seed), **over}
    cfg = exp.config_for(None, **over)
    from .experiments.readings import build_trial, resolve, weight_count

    readings = resolve(exp, cfg, args.reading or ())
    variant = args.variant
    _check_out(args.json, "--json")
    arch = cfg.architecture()
    cap = min(getattr(cfg, "max_sequences", 1) or 1, getattr(cfg, "chunk", 1000) or 1000)
    n_seq = max([cap] + [getattr(cfg, k, 0) or 0 for k in ("test_size", "check_size")])
    _check_memory(_net_bytes(arch, exact_rtrl=getattr(cfg, "method", "LSTM") == "RTRL")
                  + _seq_bytes(n_seq, cfg.mean_length, arch.n_in, arch.n_out),
                  f"this trial ({arch.n_in} input(s), {arch.n_out} output(s), sequences of mean length "
                  f"{cfg.mean_length:,.0f})", "choose smaller sizes (--blocks, --cells, --T, --p, --q)")
    trial = build_trial(exp, cfg, readings, variant)
    n_weights = weight_count(exp, cfg, readings, variant)
    out = sys.stdout
    shown = ", ".join(f"{k}={v}" for k, v in over.items() if k != "max_sequences")
    out.write(f"{exp.title}, {shown or 'paper defaults'}, seed {args.seed}\n"
              f"  reading: {_readings_text(readings)}\n"
              + (f"  cell: {_variant_text(exp, cfg, readings, variant)}\n" if variant else "")
              + f"  network: {_net_text(trial, n_weights)}\n"
              f"  stages: {', '.join(s.name for s in trial.stages)}; cap {trial.max_sequences:,} training sequences\n")
    out.flush()
    prog = _Progress()
    _warm_kernels(prog)
    run, signum = _run_stoppable(trial, args.seed, _trial_progress(prog), prog)
    prog.close()
    res = run.result()
    interrupted = signum is not None and not run.finished
    if interrupted:
        res.sequences = run.done
        stage = run.pending[0].name if run.pending else "done"
        name = signal.Signals(signum).name
        out.write(f"\nINTERRUPTED ({name}) after {run.done:,} training sequences, in stage {stage}"
                  f" ({res.seconds:.1f} s); not tested\n")
        for nm, st in res.stages.items():
            out.write(f"  stage {nm} held after {st['sequences']:,} sequences\n")
        if args.json:
            _write_json(args.json, {
                "experiment": exp.id, "name": args.experiment, "version": __version__, "params": asdict(cfg),
                "readings": list(readings), "variant": variant, "seed": args.seed, "weights": n_weights,
                "success": False,
                "status": "interrupted",
                "signal": name, "sequences": run.done, "stage": stage, "seconds": res.seconds,
                "steps": res.steps, "stages": res.stages, "events": res.events,
                "curve": [list(c) for c in res.curve[:: max(1, len(res.curve) // 200)]],
            })
            out.write(f"  wrote the partial result to {args.json} (status \"interrupted\")\n")
        out.flush()
        sys.stderr.write(f"lstm1997: interrupted ({name}) after {run.done:,} training sequences in stage {stage}. "
                         "`run` keeps no checkpoint: run the same command again to start over, or use "
                         "`lstm1997 reproduce`, which saves checkpoints and resumes.\n")
        return 130
    figs = trial_figures(res)
    verdict = {"solved": "SOLVED (the paper's criterion held)", "cap": "NOT solved (cap reached)",
               "diverged": "NOT solved (diverged)"}[res.status]
    out.write(f"\n{verdict}\n  training sequences: {res.sequences:,}\n")
    for name, st in res.stages.items():
        extra = ", ".join(f"{k} {_fmt(v, '{:.4g}')}" for k, v in st.items() if k != "sequences")
        out.write(f"  stage {name} held after {st['sequences']:,} sequences{(': ' + extra) if extra else ''}\n")
    for ev, at in res.events:
        out.write(f"  {ev} after {at:,} sequences\n")
    if res.test:
        t = res.test
        out.write(f"  test: {t.get('wrong')} wrong out of {t.get('total')}, mean absolute error "
                  f"{_fmt(t.get('mae'), '{:.4f}')}, MSE {_fmt(t.get('mse'), '{:.2e}')}\n")
    if trial.probe is not None:
        out.write("  first probe at the paper's test quality: "
                  + (f"{res.quality_at:,} sequences" if res.quality_at is not None else "not reached") + "\n")
    out.write(f"  wall time {res.seconds:.1f} s ({res.steps / max(res.seconds, 1e-9) / 1e6:.2f} M steps/s)\n")
    if res.message:
        out.write(f"  {res.message}\n")
    row = _matching_row(exp, cfg)
    if row is not None:
        paper = ", ".join(f"{k.removesuffix('_text')} {v if isinstance(v, str) else _fmt(v, '{:,.6g}')}"
                          for k, v in row.paper.items())
        out.write(f"  paper ({row.label}, mean of {exp.trials_for(row)} trials): {paper}\n")
    if args.json:
        _write_json(args.json, {
            "experiment": exp.id, "name": args.experiment, "version": __version__, "params": asdict(cfg),
            "readings": list(readings), "variant": variant, "seed": args.seed, "weights": n_weights,
            "success": res.success,
            "status": res.status,
            "sequences": res.sequences, "quality_at": res.quality_at,
            "test_wrong": res.test.get("wrong"), "test_total": res.test.get("total"),
            "test_mae": res.test.get("mae"), "test_mse": res.test.get("mse"),
            "seconds": res.seconds, "steps": res.steps, "message": res.message,
            "stages": res.stages, "events": res.events, "figures": figs,
            "paper": None if row is None else {**row.paper, "trials": exp.trials_for(row), "row": row.label},
            "curve": [list(c) for c in res.curve[:: max(1, len(res.curve) // 200)]],
        })
        out.write(f"  wrote {args.json}\n")
    return 0


def _readings_text(readings) -> str:
    from .experiments.readings import READINGS

    if not readings:
        return "the spec's (every default as the paper's text is read in docs/decisions.md)"
    return ", ".join(n + (" (DIAGNOSTIC: contradicts the paper's text)" if READINGS[n].diagnostic else "")
                     for n in readings)


def _variant_text(exp, cfg, readings, variant) -> str:
    """The cell variant of a trial, with its weight count beside the 1997 cell's."""
    from .experiments.readings import weight_count

    return (f"{variant} (not the 1997 cell: D40); {weight_count(exp, cfg, readings, variant)} weights, the 1997 "
            f"cell's {weight_count(exp, cfg, readings)}")


def _net_text(trial, weights: int) -> str:
    text = trial.arch.describe()
    if weights != trial.arch.n_weights:
        text += f"; {weights} under this reading ({trial.arch.n_weights - weights} absent)"
    return text


def _run_stoppable(trial, seed: int, show, prog):
    """Run ``trial`` to its end, or until SIGINT/SIGTERM: the first signal stops it at the next chunk of
    sequences, a second one quits at once (KeyboardInterrupt). Returns (the TrialRun, the signal or None)."""
    import threading

    from .experiments.protocol import TrialRun

    got: list[int] = []

    def handler(signum, frame):
        if got:
            raise KeyboardInterrupt
        got.append(signum)
        try:
            prog.close()
            sys.stderr.write(f"\nlstm1997: {signal.Signals(signum).name}: stopping at the next chunk of "
                             "sequences (again to quit at once)\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    try:
        run = TrialRun(trial, seed)

        def progress(p):
            show(p)
            return bool(got)

        if not got:
            run.advance(progress)
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    return run, (got[0] if got else None)


def _estimate(exp, row) -> tuple[int, float]:
    """Paper-mean steps per trial and an estimate of its seconds on this machine (benchmark fit:
    ~0.14 us + 1.1 ns per weight touched per step; one-hot inputs touch one input column)."""
    cfg = exp.config_for(row)
    arch = cfg.architecture()
    # a row the paper reports as never solved runs to the cap
    seqs = row.paper.get("sequences") or (cfg.max_sequences if row.paper.get("success_rate") == 0 else 0)
    steps = int(seqs * cfg.mean_length)
    touched = arch.n_weights
    # one-hot inputs: the truncated LSTM learner touches one input column a step; the exact baselines
    # (RTRL's sensitivities, BPTT's backward pass) touch every weight every step
    if hasattr(arch, "n_hidden") and exp.make_trial(cfg).sample(np.random.default_rng(0), 1).symbols is not None:
        touched -= (arch.n_in - 1) * arch.n_hidden
    return steps, steps * (0.14 + 0.0011 * touched) * 1e-6


def cmd_list(args) -> int:
    from .experiments import TABLES

    rows = []
    for table, (exp, trs) in TABLES.items():
        for row in trs:
            if row.cited:
                rows.append({"table": table, "experiment": exp.id, "row": row.label, "cited": row.cited,
                             "paper_weights": row.paper.get("weights"), "paper_sequences": row.paper.get("sequences")})
                continue
            cfg = exp.config_for(row)
            w = cfg.architecture().n_weights
            steps, sec = _estimate(exp, row)
            rows.append({"table": table, "experiment": exp.id, "row": row.label, "params": row.params,
                         "weights": w, "paper_weights": row.paper.get("weights"), "trials": exp.trials_for(row),
                         "paper_sequences": row.paper.get("sequences"), "steps_per_trial": steps,
                         "seconds_per_trial": sec, "seconds_all_trials": sec * exp.trials_for(row)})
    if args.json:
        print(json.dumps(_jsonable(rows), indent=2))
        return 0
    print(f"{'table':<6}{'row':<18}{'weights':>8}{'paper':>8}{'trials':>7}{'paper seqs':>12}"
          f"{'est. / trial':>14}{'est. all':>11}")
    for r in rows:
        if r.get("cited"):
            print(f"{r['table']:<6}{r['row']:<18}{'-':>8}{_fmt(r['paper_weights']):>8}  cited, not run: {r['cited']}")
            continue
        ok = "" if r["weights"] == r["paper_weights"] else " !"
        print(f"{r['table']:<6}{r['row']:<18}{r['weights']:>8}{_fmt(r['paper_weights']):>8}{ok}{r['trials']:>7}"
              f"{_fmt(r['paper_sequences']):>12}{_est(r['seconds_per_trial']):>14}"
              f"{_est(r['seconds_all_trials']):>11}")
    print("\nestimates: the paper's mean sequences x mean length x measured cost per step; a faithful run may "
          "need more (see README).")
    return 0


def _plausible(paper: dict, ours: dict) -> bool:
    """Flag a row whose result falls outside a plausible range of the paper's: success rate more than
    0.25 below, or the mean sequences until success outside [1/3, 3] x the paper's."""
    if ours["success_rate"] < paper.get("success_rate", 1.0) - 0.25:
        return False
    if paper.get("sequences") and ours["sequences_mean"]:
        r = ours["sequences_mean"] / paper["sequences"]
        return 1 / 3 <= r <= 3
    return ours["successes"] > 0 or paper.get("success_rate", 1) == 0


DEFAULT_DB = "lstm1997-results.sqlite"

#: `reproduce` and `sensitivity`: trials of a row trained together by one worker, in SIMD lanes
LANES = 4
LANES_HELP = ("up to N trials of a table row run together in one worker, their training updates in calls of "
              "the lane kernel, 4 networks per call in SIMD lanes (2 or 3 left: padded to 4; 1 left: alone, "
              "which is faster then); default 4; 1: one trial at a time per worker. Every trial's result is "
              "identical for any N and any --jobs")


VARIANT_HELP = ("the memory cell: the 1997 cell (default), or a later variant on the same task, topology and "
                "protocol: forget (a forget gate per block, Gers et al. 2000, biases +0.5, +1.0, ...), peepholes "
                "(gates see the cell states, Gers et al. 2002), forget+peepholes, or forget-open (a forget gate "
                "starting at bias +5, open) (D40); its extra weights are counted beside the paper's")


def _db_path(args, must_exist: bool = False) -> str:
    """The results store's path; an existing file there must be an SQLite database (a 0-byte file is not:
    opening it would quietly turn it into one), and never a folder, device, FIFO or socket."""
    import stat

    if args.db is not None and not args.db.strip():
        raise ValueError("--db needs a file name")
    db = args.db or os.environ.get("LSTM1997_DB") or DEFAULT_DB
    try:
        st = os.stat(db)
    except (FileNotFoundError, NotADirectoryError):
        if must_exist:
            raise ValueError(f"{db}: no results store there (lstm1997 reproduce writes one; --db PATH to "
                             "choose)") from None
        return db
    except OSError as e:
        raise ValueError(f"{db}: cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{db}: is a folder, not a results store; give --db the store's file name")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{db}: is not a regular file (a device, FIFO or socket), not a results store; "
                         "give --db a file name")
    if st.st_size == 0 and not os.path.exists(db + "-wal"):
        raise ValueError(f"{db}: is an empty file, not a results store (it is left as it is); delete it "
                         "or give --db another file name")
    try:
        with open(db, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise ValueError(f"{db}: cannot be read ({e.strerror or e})") from None
    if st.st_size and head != b"SQLite format 3\x00":
        raise ValueError(f"{db}: not a results store (not an SQLite database; it is left as it is); give "
                         "--db another file name")
    return db


def _plan(args):
    """The tables, rows and trial specs a reproduce command asks for: [(table, exp, row, cap, [spec])]."""
    from .experiments import OPEN_TRIAL, TABLES, table_rows, trial_args
    from .experiments._base import quick_cap
    from .runner import TrialSpec

    if args.table == "all" and (args.rows or args.json):
        raise ValueError("reproduce all takes no --rows or --json; run the tables one by one for those")
    if args.trials is not None and args.trials < 1:
        raise ValueError("--trials must be at least 1")
    if args.max_sequences is not None and args.max_sequences < 1:
        raise ValueError("--max-sequences must be at least 1")
    quick = args.budget == "quick"
    wanted = None
    if args.rows is not None:
        wanted = [w.strip() for w in args.rows.split(",") if w.strip()]
        if not wanted:
            raise ValueError(f"--rows {args.rows!r} names no row; give row labels or numbers separated by commas, "
                             "or leave out --rows for all rows")
    plan = []
    for table in (TABLES if args.table == "all" else [args.table]):
        exp, rows = table_rows(table, wanted)
        for row in rows:
            if row.cited:           # shown beside ours, never run
                plan.append((str(table), exp, row, None, []))
                continue
            n_trials = args.trials or (1 if quick else exp.trials_for(row))
            specs, cap = [], None
            for k in range(n_trials):
                over = dict(exp.per_trial(k)) if exp.per_trial else {}
                cfg = exp.config_for(row, **over)
                cap = cfg.max_sequences
                if args.max_sequences is not None:
                    cap = min(cap, args.max_sequences)
                if quick:
                    cap = min(cap, quick_cap(cfg.architecture(), cfg.mean_length, row.paper.get("sequences")))
                cfg = exp.config_for(row, **over, max_sequences=cap)
                try:
                    targs = trial_args(exp, cfg, args.reading or (), getattr(args, "variant", None))
                except ValueError as e:
                    hint = " (choose rows with --rows)" if "does not apply" in str(e) else ""
                    raise ValueError(f"table {table}, row {row.label}: {e}{hint}") from None
                specs.append(TrialSpec(OPEN_TRIAL, targs, k, __version__,
                                       f"{table} {row.label}{_readings_suffix(targs)} #{k + 1}"))
            plan.append((str(table), exp, row, cap, specs))
            n_specs = sum(len(e[4]) for e in plan)
            if n_specs > MAX_TRIALS_TOTAL:
                raise ValueError(f"this command would run more than {MAX_TRIALS_TOTAL:,} trials; choose fewer "
                                 "rows (--rows) or a smaller --trials")
    return plan


def _row_tag(table: str, row, cap: int, readings=(), variant: str | None = None) -> str:
    """The store's tag of a row's trials: table, row, cap, version and (if any) the readings and the cell
    variant."""
    t = {"table": table, "row": row.label, "cap": cap, "version": __version__}
    if readings:
        t["readings"] = list(readings)
    if variant:
        t["variant"] = variant
    return json.dumps(t, sort_keys=True)


def _readings_suffix(targs: dict) -> str:
    return ((f" [{', '.join(targs['readings'])}]" if targs.get("readings") else "")
            + (f" <{targs['variant']}>" if targs.get("variant") else ""))


def _row_report(exp, row, records: list, quick: bool) -> dict:
    """Ours beside the paper's for one row, from the trials of the store (finished ones only)."""
    from .experiments import TrialResult, config_from_args, summarize, trial_figures

    if row.cited:
        return {"row": row.label, "cited": row.cited, "paper": row.paper, "paper_trials": exp.trials_for(row),
                "plausible": True}

    from .experiments import read_result

    done = [r for r in records if r["status"] == "done"]
    figs = [trial_figures(read_result(r), row.stage) for r in done]
    ours = summarize(figs)
    cfg = config_from_args(records[0]["args"])[1]
    from dataclasses import asdict

    from .experiments._base import quick_decides

    from .experiments import readings_of, variant_of
    from .experiments.readings import weight_count

    targs = records[0]["args"]
    return {"row": row.label, "params": asdict(cfg), "paper": row.paper, "paper_trials": exp.trials_for(row),
            "readings": list(readings_of(targs)), "variant": variant_of(targs),
            "weights": weight_count(exp, cfg, readings_of(targs), variant_of(targs)),
            "ours": ours, "trials": figs, "trials_planned": len(records),
            "plausible": quick or len(figs) < len(records) or _plausible(row.paper, ours),
            "max_sequences": cfg.max_sequences,
            # a quick row whose cap cannot reach the paper's figure is undecided, unless every trial solved it
            "undecided": (quick and not quick_decides(cfg.max_sequences, row.paper.get("sequences"))
                          and not (figs and ours["successes"] == len(figs)))}


def _check_run_args(args) -> None:
    if args.jobs is not None and args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    if args.lanes < 1:
        raise ValueError("--lanes must be at least 1 (1: one trial at a time per worker)")
    if not (args.checkpoint_every > 0):
        raise ValueError("--checkpoint-every must be a positive number of seconds")
    if args.checkpoint_sequences is not None and args.checkpoint_sequences < 1:
        raise ValueError("--checkpoint-sequences must be at least 1")
    if not (0 < args.scheduler_timeout <= 86400):
        raise ValueError("--scheduler-timeout must be a positive number of seconds, at most 86400 (a day)")


def _run_plan(args, plan, db):
    """Register every trial of ``plan`` in the store ``db`` and run those not finished; returns
    ``(records by id, ids per plan entry, the runner's summary)``."""
    from .runner import Progress, Store, register, run_trials

    with Store(db) as store:
        ids_by_row = [register(store, specs, _row_tag(table, row, cap, specs[0].args.get("readings", ()),
                                                      specs[0].args.get("variant")))
                      if specs else []
                      for table, _, row, cap, specs in plan]
        ids = list(dict.fromkeys(i for ids in ids_by_row for i in ids))
        _rerun_damaged(store, ids)
        prog = Progress()
        if args.scheduler is None:
            _warm_kernels(prog)
        summary = run_trials(store, ids, workers=args.jobs, scheduler=args.scheduler,
                             checkpoint_seconds=args.checkpoint_every,
                             checkpoint_sequences=args.checkpoint_sequences, progress=prog,
                             scheduler_timeout=args.scheduler_timeout, group_size=args.lanes, groups=ids_by_row)
        records = {r["id"]: r for r in store.records(ids=ids)}
        store.check_file()       # the results are where they will be said to be
    return records, ids_by_row, summary


def _rerun_damaged(store, ids) -> None:
    """A finished trial whose stored result cannot be read (:func:`lstm1997.experiments.damage_of`) is put
    back to 'pending', with a line naming it, so that this run runs it again (same seed, same numbers)."""
    from .experiments import damage_of

    for r in store.records(ids=ids):
        why = damage_of(r)
        if why is not None and r["status"] != "running":
            sys.stderr.write(f"lstm1997: trial {r['label'] or r['id']} (seed {r['seed']}) in {store.path}: its stored "
                             f"result is damaged ({why}); it is run again\n")
            store.reset(r["id"], f"damaged result, run again: {why}")


def _end_of_run(summary, records, db) -> int:
    """The common end of reproduce and sensitivity: trials run elsewhere, errors, interruption."""
    pending = [i for i in summary.elsewhere if records[i]["status"] != "done"]
    if pending:
        print(f"{len(pending)} trial(s) are being run by another process on {db}; their results "
              "join the table when it ends (run the command again then)")
    if summary.errors:
        for i, msg in summary.errors.items():
            sys.stderr.write(f"lstm1997: trial {records[i]['label']} failed: {msg}\n")
        return 1
    if summary.interrupted:
        sys.stderr.write(f"lstm1997: interrupted: {len(summary.finished)} trial(s) finished in this run are in "
                         f"{db}; {len(summary.checkpointed)} running trial(s) kept a checkpoint. To resume, run: "
                         f"{_again()}\n")
        return 130
    return 0


def _best_plan(args) -> tuple[list, dict]:
    """``reproduce --best``: the plan of every table's rows under the best-supported reading set of that
    table (``experiments.readings.BEST_SUPPORTED``; none where no reading does better than the spec's),
    and the verdicts by table."""
    import copy

    from .experiments import TABLES
    from .experiments.readings import best_supported

    if args.reading:
        raise ValueError("--best runs the spec's reading and the table's best-supported one; it takes no "
                         "--reading (use --reading alone to choose a reading)")
    verdicts, plan = {}, []
    for table in (TABLES if args.table == "all" else [args.table]):
        v = verdicts[str(table)] = best_supported(str(table))
        if v.readings:
            a = copy.copy(args)
            a.table, a.reading = str(table), list(v.readings)
            if args.table == "all":
                a.rows = None
            plan += [e for e in _plan(a) if e[4]]
    return plan, verdicts


def cmd_reproduce(args) -> int:
    plan = _plan(args)
    best_plan, verdicts = _best_plan(args) if args.best else ([], {})
    _check_run_args(args)
    quick = args.budget == "quick"
    db = _db_path(args)
    _check_out(args.json, "--json", inputs=[db])
    t0 = time.perf_counter()
    records, ids_by_row, summary = _run_plan(args, plan + best_plan, db)
    by_table: dict = {}
    for (table, exp, row, cap, _), row_ids in zip(plan, ids_by_row):
        by_table.setdefault(table, (exp, []))[1].append(_row_report(exp, row, [records[i] for i in row_ids], quick))
    best_by_table: dict = {}
    for (table, exp, row, cap, _), row_ids in zip(best_plan, ids_by_row[len(plan):]):
        best_by_table.setdefault(table, []).append(_row_report(exp, row, [records[i] for i in row_ids], quick))
    for table, (exp, report) in by_table.items():
        _print_table(exp, report, quick, table, _readings_text(tuple(sorted(set(args.reading or ())))))
        if args.best:
            v = verdicts[table]
            if best_by_table.get(table):
                _print_table(exp, best_by_table[table], quick, table,
                             _readings_text(v.readings) + " (the best-supported reading of this table)")
            print(f"verdict of the study of readings (docs/results.md): {v.verdict}")
    caps = sorted({r["max_sequences"] for _, (_, rep) in by_table.items() for r in rep if not r.get("cited")})
    n_new, n_old = len(summary.finished), len(summary.skipped)
    cap_text = f"; cap {', '.join(f'{c:,}' for c in caps)} training sequences per trial" if caps else ""
    n_best = sum(len(rep) for rep in best_by_table.values())
    print(f"\n{sum(len(rep) for _, rep in by_table.values())} row(s)"
          + (f" (and {n_best} under the best-supported reading)" if n_best else "") + f"; {n_new} trial(s) run now, {n_old} taken "
          f"from {db}; wall time {time.perf_counter() - t0:.1f} s{cap_text}"
          + (" (budget quick: 1 trial per row, capped sequences; not a reproduction; rows marked undecided "
             "cannot be judged at this budget)" if quick else ""))
    if args.json and len(by_table) == 1:
        (table, (exp, report)), = by_table.items()
        out = {"table": table, "experiment": exp.id, "title": exp.title, "budget": args.budget,
               "version": __version__, "readings": sorted(set(args.reading or ())), "db": db, "rows": report}
        if args.best:
            out["best_supported"] = {"readings": list(verdicts[table].readings), "verdict": verdicts[table].verdict,
                                     "rows": best_by_table.get(table, [])}
        _write_json(args.json, out)
        print(f"wrote {args.json}")
    return _end_of_run(summary, records, db)


def _reading_sets(text: str | None, plan_rows, diagnostics: bool) -> list[tuple]:
    """The reading sets of a sensitivity study: ``"spec,a,b+c"`` (comma-separated sets, ``+`` combines,
    ``spec`` = none); default: the spec's and every reading that applies to every selected row (diagnostics
    only with ``diagnostics``)."""
    from .experiments.readings import READINGS, applicable

    if text:
        sets = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            names = () if part == "spec" else tuple(sorted(n.strip() for n in part.split("+") if n.strip()))
            if part != "spec" and (not names or any(not n.strip() for n in part.split("+"))):
                raise ValueError(f"--readings: {part!r} is not a reading set: name readings joined by '+' "
                                 "(e.g. error-x2+cells-input-only), or 'spec'; lstm1997 readings lists them")
            if names not in sets:
                sets.append(names)
        if not sets:
            raise ValueError("--readings names no reading set")
        return sets
    common = None
    for exp, row in plan_rows:
        names = {r.name for r in applicable(exp, exp.config_for(row)) if diagnostics or not r.diagnostic}
        common = names if common is None else common & names
    return [()] + [(n,) for n in READINGS if n in (common or set())]


def cmd_sensitivity(args) -> int:
    """Run rows of a table under several readings and print the matrix rows x readings beside the paper."""
    import copy

    from .experiments.readings import weight_count

    _check_run_args(args)
    if args.table == "all":
        raise ValueError("sensitivity runs one table at a time (choose 1 ... 9 or 2b)")
    base = copy.copy(args)
    base.reading, base.budget = None, "paper"
    spec_plan = [e for e in _plan(base) if e[4]]
    if not spec_plan:
        raise ValueError("no row to run (the selected rows are only cited by the paper)")
    sets = _reading_sets(args.readings, [(exp, row) for _, exp, row, _, _ in spec_plan], args.diagnostics)
    plan, where = [], []
    for names in sets:
        a = copy.copy(base)
        a.reading = list(names)
        for entry in _plan(a):
            if entry[4]:
                plan.append(entry)
                where.append(names)
    db = _db_path(args)
    _check_out(args.json, "--json", inputs=[db])
    records, ids_by_row, summary = _run_plan(args, plan, db)
    cells, labels = [], []
    for (table, exp, row, cap, _), names, row_ids in zip(plan, where, ids_by_row):
        rep = _row_report(exp, row, [records[i] for i in row_ids], False)
        o = rep["ours"]
        done = [r for r in (records[i] for i in row_ids) if r["status"] == "done"]
        cells.append({"table": table, "row": row.label, "readings": list(names), "trials": o["trials"],
                      "trials_planned": len(row_ids), "cap": cap, "success_rate": o["success_rate"],
                      "successes": o["successes"], "sequences_mean": o["sequences_mean"],
                      "sequences_std": o["sequences_std"], "sequences_median": o["sequences_median"],
                      "paper_sequences": row.paper.get("sequences"), "paper_success_rate": row.paper.get("success_rate"),
                      "weights": weight_count(exp, exp.config_for(row), names),
                      "seconds": sum(r["seconds"] for r in done), "version": __version__,
                      "within_plausible_range": bool(o["trials"]) and _plausible(row.paper, o)})
        if row.label not in labels:
            labels.append(row.label)
    cols = ["spec" if not n else "+".join(n) for n in sets]
    width = max(14, *(len(c) for c in cols))

    def cell(c) -> str:
        if c["trials"] == 0:
            return "not run"
        txt = f"{c['successes']}/{c['trials']}"
        if c["sequences_mean"] is not None:
            txt += f" {c['sequences_mean'] / 1000:,.0f}k±{(c['sequences_std'] or 0) / 1000:,.0f}k"
        txt += "" if c["trials"] == c["trials_planned"] else "*"
        return txt + (" ✓" if c["within_plausible_range"] else "")

    table = spec_plan[0][0]
    print(f"\nSensitivity of Table {table} to the readings of the paper: successes/trials and mean ± std "
          f"training sequences until success (k = 1,000); cap {max(c['cap'] for c in cells):,}")
    print(f"{'row':<18}{'paper':>16}" + "".join(f"{c:>{width + 2}}" for c in cols))
    for label in labels:
        mine = {tuple(c["readings"]): c for c in cells if c["row"] == label}
        paper = next(c for c in cells if c["row"] == label)
        pr = paper["paper_success_rate"]
        ps = paper["paper_sequences"]
        ptxt = (f"{pr:.0%} " if pr is not None else "") + (f"{ps / 1000:,.0f}k" if ps else "-")
        print(f"{label:<18}{ptxt:>16}" + "".join(f"{cell(mine[n]):>{width + 2}}" for n in sets))
    print("✓: within the plausible range of the paper's figures (success rate at most 25 points lower, mean "
          "sequences within 1/3-3x), as reproduce judges a row")
    if any(c["trials"] != c["trials_planned"] for c in cells):
        print("(* some trials not finished yet: run the same command again)")
    for n in {x for names in sets for x in names}:
        from .experiments.readings import READINGS

        if READINGS[n].diagnostic:
            print(f"{n} is a DIAGNOSTIC: it contradicts the paper's text and can explain, not reproduce")
    if args.json:
        _write_json(args.json, {"version": __version__, "db": db, "cells": cells})
        print(f"wrote {args.json}")
    return _end_of_run(summary, records, db)


def _again() -> str:
    """This command line, to run again (resume)."""
    return "lstm1997 " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "the same command"


def cmd_status(args) -> int:
    from .experiments import TrialResult, table_rows, trial_figures
    from .runner import Store

    from .experiments import damage_of

    db = _db_path(args, must_exist=True)
    damaged_lines = []
    with Store(db, readonly=True) as store:
        groups = [(tag, store.records(tag=tag)) for tag in store.tags()]
        tagged = {r["id"] for _, recs in groups for r in recs}
        untagged = [r for r in store.records() if r["id"] not in tagged]
        if untagged:                      # registered through the Python API without a tag
            groups.append(("(no tag)", untagged))
        rows = []
        for tag, recs in groups:
            try:
                t = json.loads(tag)
                table, label, cap, version = t["table"], t["row"], t["cap"], t["version"]
                row_label = label
                if t.get("readings"):
                    label = f"{label} [{', '.join(t['readings'])}]"
                if t.get("variant"):
                    label = f"{label} <{t['variant']}>"
            except (ValueError, KeyError, TypeError):
                table, label, cap, version = "-", tag, None, "-"
                row_label = label
            try:
                stage = table_rows(table, [row_label])[1][0].stage
            except (ValueError, IndexError):
                stage = None
            paper_trials = table != "-"
            damaged = {r["id"]: damage_of(r) for r in recs} if paper_trials else {
                r["id"]: r.get("damaged") for r in recs}
            for r in recs:
                if damaged[r["id"]]:
                    damaged_lines.append(f"  table {table}, row {label}, seed {r['seed']} ({r['label'] or r['id']}): "
                                         f"{damaged[r['id']]}")
            done = [r for r in recs if r["status"] == "done" and not damaged[r["id"]]]
            try:
                ok = sum(trial_figures(TrialResult.from_dict(r["result"]), stage)["success"] for r in done)
            except (KeyError, TypeError, ValueError):
                ok = None                 # not the paper's trials (the runner's Python API): no success figure
            # 'running' only under a live owner; a dead command's trials are left (they resume)
            alive = {r["id"] for r in store.running_elsewhere([r["id"] for r in recs if r["status"] == "running"])}
            count = {"running": len(alive), "error": sum(r["status"] == "error" for r in recs),
                     "damaged": sum(bool(damaged[r["id"]]) for r in recs),
                     "pending": sum(r["status"] == "pending" or (r["status"] == "running" and r["id"] not in alive)
                                    for r in recs)}
            rows.append((table, label, cap, version, len(recs), len(done), ok, count,
                         sum(r["seconds"] for r in recs), sum(r["sequences"] for r in recs)))
    if not rows:
        print(f"{db}: empty results store")
        return 0
    wv = max([len("version")] + [len(str(r[3])) for r in rows]) + 2
    wr = max([18] + [len(r[1]) + 2 for r in rows])
    print(f"{db}\n{'table':<6}{'row':<{wr}}{'cap':>11}{'version':>{wv}}{'done':>9}{'success':>9}{'running':>8}"
          f"{'left':>6}{'failed':>7}{'time spent':>12}{'sequences':>15}")
    for table, label, cap, version, n, nd, ok, c, sec, seqs in rows:
        print(f"{table:<6}{label:<{wr}}{_fmt(cap):>11}{version:>{wv}}{f'{nd}/{n}':>9}"
              f"{(f'{ok}/{nd}' if nd and ok is not None else '-'):>9}{c['running']:>8}{c['pending']:>6}"
              f"{c['error']:>7}{_duration(sec):>12}{seqs:>15,}"
              + (f"  ({c['damaged']} damaged)" if c["damaged"] else ""))
    if damaged_lines:
        print(f"{len(damaged_lines)} finished trial(s) have a damaged result in the store and are not counted as "
              "done; the reproduce (or sensitivity) command that ran them runs them again:")
        for line in damaged_lines:
            print(line)
    return 0


def _print_table(exp, report, quick: bool, table: str, reading: str | None = None) -> None:
    from .experiments._base import paper_text

    notes = exp.notes_for(table)
    print(f"\n{exp.title}" + (f" — {notes}" if notes else ""))
    if reading:
        print(f"reading: {reading}")
    variants = {r.get("variant") for r in report if not r.get("cited")} - {None}
    if variants:
        print(f"cell: {', '.join(sorted(variants))} (a later variant, not the 1997 cell: D40); weights, ours vs the "
              "paper's: " + "; ".join(f"{r['row']} {r['weights']:,} vs {_fmt(r['paper'].get('weights'))}"
                                      for r in report if not r.get("cited")))
    head = f"{'row':<19}{'trials':>7}{'success paper':>14}{'ours':>7}{'sequences paper':>17}{'ours mean ± std (median)':>32}"
    for c in exp.columns:
        head += f"{c.header + ' paper':>22}{'ours':>10}"
    print(head + "  flag")
    for r in report:
        if r.get("cited"):
            p = r["paper"]
            ps, pq = paper_text(p)
            print(f"{r['row']:<19}{'-':>7}{ps:>14}{'-':>7}{pq:>17}{'cited, not run':>32}  ({r['cited']})")
            continue
        o, p = r["ours"], r["paper"]
        seq = (f"{_fmt(o['sequences_mean'])} ± {_fmt(o['sequences_std'])} ({_fmt(o['sequences_median'])})"
               if o["successes"] else "none solved")
        n = f"{o['trials']}" + (f"/{r['trials_planned']}" if o["trials"] != r.get("trials_planned", o["trials"]) else "")
        ps, pq = paper_text(p)
        line = (f"{r['row']:<19}{n:>7}{ps:>14}{_fmt(o['success_rate'], '{:.0%}'):>7}{pq:>17} {seq:>31}")
        for c in exp.columns:
            line += f"{_fmt(p.get(c.key), c.fmt):>22}{_fmt(c.ours(o), c.fmt):>10}"
        flag = "" if r["plausible"] else "  ! outside plausible range"
        if r.get("undecided"):
            flag += f"  (cap {r['max_sequences']:,} < 1.5x the paper's sequences: undecided at this budget)"
        print(line + flag)


# ---- fit / predict ---------------------------------------------------------------------------

def cmd_guess(args) -> int:
    from dataclasses import asdict

    from .experiments.guessing import GuessConfig, reference, run_guessing, summarize_guessing

    if args.trials < 1:
        raise ValueError("--trials must be at least 1")
    if args.seed < 0:
        raise ValueError(f"--seed must be at least 0, got {args.seed}")
    if args.task == "parity":
        given = [f"--{k}" for k in ("T", "N") if getattr(args, k) is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to 3a/3b only; the parity problem's sequences have "
                             "lengths 25..50 (docs/decisions.md, D34): leave them out")
    elif args.noise is not None:
        raise ValueError(f"--noise applies to the parity problem only; {args.task} has "
                         + ("no input noise" if args.task == "3a" else "its own input noise (Section 5.3)")
                         + ": leave it out")
    if args.noise is not None and not (math.isfinite(args.noise) and 0 <= args.noise < 1):
        raise ValueError(f"--noise must be in [0, 1), got {args.noise}")
    over = {k: getattr(args, k) for k in ("T", "N", "arch", "max_guesses") if getattr(args, k) is not None}
    if args.noise is not None:
        over["parity_noise"] = args.noise
    cfg = GuessConfig(task=args.task, **over)
    _check_out(args.json, "--json")
    length = (cfg.min_length + cfg.max_length) / 2 if cfg.task == "parity" else cfg.T * 1.1
    _check_memory(_net_bytes(cfg.architecture()) + _seq_bytes(2 * cfg.set_size + cfg.final_size, length, 1, 1),
                  f"guessing on {cfg.task} (sequences of mean length {length:,.0f})", "choose a smaller --T")
    ref = reference(cfg)
    print(f"random weight guessing on {args.task} ({', '.join(f'{k}={v}' for k, v in over.items()) or 'defaults'}): "
          f"every weight uniform in [{cfg.low:g}, {cfg.high:g}], up to {cfg.max_guesses:,} guesses a trial, "
          f"{args.trials} trial(s), seed {args.seed}")

    def progress(k, r):
        args.reached = f"after {k + 1} of {args.trials} trial(s)"
        sys.stderr.write(f"  trial {k + 1}: " + (f"solved after {r['guesses']:,} guesses" if r["solved"] else
                         f"not solved in {r['guesses']:,} guesses") + f" ({r['seconds']:.1f} s)\n")

    _warm_kernels(_Progress())
    results = run_guessing(cfg, args.trials, args.seed, progress)
    summ = summarize_guessing(results)
    g = (f"{_fmt(summ['guesses_mean'])} mean, {_fmt(summ['guesses_median'])} median "
         f"({_fmt(summ['guesses_min'])}-{_fmt(summ['guesses_max'])})" if summ["solved"] else "none solved")
    print(f"solved {summ['solved']}/{summ['trials']}; guesses until solved: {g}; "
          f"{_fmt(summ['guesses_per_second'])} guesses/s")
    if summ["test_fraction_mean"] is not None:
        print(f"  solved nets misclassify {summ['test_fraction_mean']:.4f} of {cfg.final_size} fresh sequences")
    if ref["guesses_mean"] is not None:
        print(f"  {ref['source']}: {ref['guesses_mean']:,} guesses (mean)")
    print(f"  paper: {ref['paper']}")
    if args.json:
        _write_json(args.json, {"task": args.task, "version": __version__, "seed": args.seed, "config": asdict(cfg),
                                "summary": summ, "reference": {k: v for k, v in ref.items() if k != "config"},
                                "trials": [{k: v for k, v in r.items() if k != "W"} for r in results]})
        print(f"wrote {args.json}")
    return 0


def _check_out_dir(out: str) -> str:
    """Before any work: ``out`` is a folder that exists and may be written, or can be made (its nearest
    existing parent is a folder that may be written). Returns that existing folder. Leaves nothing behind."""
    import stat

    from .io import check_destination

    if not out.strip():
        raise ValueError("--out needs a folder name")
    try:
        st = os.stat(out)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as e:
        raise ValueError(f"{out}: cannot be written ({e.strerror or e})") from None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        kind = "a regular file" if stat.S_ISREG(st.st_mode) else "a device, FIFO or socket"
        raise ValueError(f"{out}: exists and is {kind}, not a folder; --out names the folder to write "
                         "report.html, report.md and figures/ into (it is made if missing)")
    base = os.path.abspath(out)
    while not os.path.exists(base):
        base = os.path.dirname(base)
    if not os.path.isdir(base):
        raise ValueError(f"{out}: {base} is not a folder; give --out a folder")
    if st is not None:
        for name in ("report.html", "report.md", "figures"):
            p = os.path.join(out, name)
            if os.path.exists(p) and (not os.path.isdir(p) if name == "figures" else not os.path.isfile(p)):
                raise ValueError(f"{p}: exists and is not a {'folder' if name == 'figures' else 'regular file'}; "
                                 "it is never replaced: move it away or choose another --out")
    try:
        check_destination(os.path.join(base, ".lstm1997-report"), what="--out")   # a file can be made there
    except ValueError as e:
        reason = str(e).split(": ", 1)[-1]
        raise ValueError(f"{out}: the report cannot be written there ({base}: {reason})") from None
    return base


def cmd_report(args) -> int:
    """The report is built in a temporary folder beside ``--out`` and moved into place once complete, so
    a failure (full disk, read-only file system, interruption) leaves no partial file."""
    import shutil
    import tempfile

    from .interrupt import deferred
    from .report import build_report

    out = args.out
    base = _check_out_dir(out)
    db = _db_path(args, must_exist=True)
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix=".lstm1997-report-", dir=out if os.path.isdir(out) else base)
    try:
        rep = build_report(db, tmp, progress=lambda msg: sys.stderr.write(f"report: {msg}\n"))
        with deferred():           # all of it moves into place, or a signal stops it before it starts
            if not os.path.isdir(out):
                os.makedirs(out, exist_ok=True)
            figs = os.path.join(tmp, "figures")
            if os.path.isdir(figs):
                os.makedirs(os.path.join(out, "figures"), exist_ok=True)
                for name in sorted(os.listdir(figs)):
                    os.replace(os.path.join(figs, name), os.path.join(out, "figures", name))
            for name in ("report.md", "report.html"):
                os.replace(os.path.join(tmp, name), os.path.join(out, name))
            print(f"wrote {os.path.join(out, 'report.html')} ({len(rep.figures)} figures embedded) and "
                  f"{os.path.join(out, 'report.md')} (figures in {os.path.join(out, 'figures')}) from "
                  f"{rep.trials} finished trials in {db} ({time.perf_counter() - t0:.1f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def cmd_fit(args) -> int:
    from .io import load_data, load_model, save_model
    from .learners import TruncatedRTRL
    from .network import LSTM, init
    from .training import default_architecture, train

    if not (math.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"--lr must be a positive number, got {args.lr}")
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.seed < 0:
        raise ValueError(f"--seed must be at least 0, got {args.seed}")
    for k in ("blocks", "cells"):
        if getattr(args, k) is not None and getattr(args, k) < 1:
            raise ValueError(f"--{k} must be at least 1, got {getattr(args, k)}")
    _check_out(args.out, "--out", inputs=[args.data])
    batch = load_data(args.data)
    _check_targets(batch, args.data)
    if args.init:
        net = load_model(args.init)
        if not isinstance(net, LSTM):
            raise ValueError(f"{args.init} holds a baseline net ({type(net).__name__}); fit trains LSTM models")
        if batch.n_in != net.arch.n_in or batch.n_out != net.arch.n_out:
            raise ValueError(f"{args.data} has {batch.n_in} inputs and {batch.n_out} targets per step but "
                             f"model {args.init} has {net.arch.n_in} inputs and {net.arch.n_out} outputs")
        for k in ("blocks", "cells"):
            if getattr(args, k) is not None and getattr(args, k) != getattr(net.arch, k):
                raise ValueError(f"--{k} {getattr(args, k)} differs from model {args.init}, which has "
                                 f"{getattr(net.arch, k)} {'blocks' if k == 'blocks' else 'cells per block'}; "
                                 f"--init keeps the model's architecture: leave out --blocks and --cells")
    else:
        if args.blocks is None or args.cells is None:
            raise ValueError("--blocks and --cells are required unless --init MODEL is given")
        arch = default_architecture(batch.n_in, batch.n_out, args.blocks, args.cells)
        _check_memory(_net_bytes(arch) + _seq_bytes(len(batch), batch.n_steps / len(batch), batch.n_in,
                                                    batch.n_out),
                      f"a net of {args.blocks} block(s) of {args.cells} cell(s) on {batch.n_in} inputs",
                      "choose smaller --blocks and --cells")
        net = init(arch, np.random.default_rng(np.random.SeedSequence(args.seed).spawn(2)[0]))
    rng = np.random.default_rng(np.random.SeedSequence(args.seed).spawn(2)[1])
    print(f"training on {len(batch)} sequences ({batch.n_steps:,} steps) from {args.data}: "
          f"{net.arch.describe()}; lr {args.lr}, {args.epochs} epoch(s)")
    _warm_kernels(_Progress())

    def progress(st):
        args.reached = f"after epoch {st.epoch} of {args.epochs}"
        sys.stderr.write(f"epoch {st.epoch}/{args.epochs}: training MAE {st.mae:.5f}  MSE {st.mse:.3e}  "
                         f"({st.seconds:.1f} s)\n")

    from .interrupt import deferred

    args.reached = f"in epoch 1 of {args.epochs}"
    hist = train(net, batch, TruncatedRTRL(args.lr), args.epochs, rng, progress)
    with deferred():
        save_model(net, args.out)
        print(f"final epoch: training MAE {hist[-1].mae:.5f}, MSE {hist[-1].mse:.3e}; wrote {args.out}")
    return 0


def _check_targets(batch, name: str) -> None:
    """Targets a net of logistic output units can learn: some are given, and all lie in [0, 1]."""
    t = batch.targets
    given = ~np.isnan(t)
    if not given.any():
        raise ValueError(f"{name}: every target is NaN (no step has a target): nothing to learn; NaN marks "
                         "steps without a target (docs/model-format.md)")
    lo, hi = float(t[given].min()), float(t[given].max())
    if lo < 0.0 or hi > 1.0:
        row, col = np.argwhere(given & ((t < 0.0) | (t > 1.0)))[0]
        i = int(np.searchsorted(batch.offsets, row, side="right")) - 1
        raise ValueError(f"{name}: targets must lie in [0, 1] (the output units are logistic), but they range "
                         f"over [{lo!r}, {hi!r}] (first outside: {float(t[row, col])!r} at sequence {i}, step "
                         f"{int(row - batch.offsets[i])}, target {int(col)}); rescale them into [0, 1], e.g. (d - min) / (max - min), and "
                         "scale the outputs back")


def cmd_predict(args) -> int:
    from .io import load_data, load_model, save_outputs
    from .network import predict
    from .rnn import RNN, predict_rnn

    _check_out(args.out, "--out", inputs=[args.model, args.data])
    net = load_model(args.model)
    batch = load_data(args.data, require_targets=False, n_out=net.arch.n_out)
    if batch.n_in != net.arch.n_in:
        raise ValueError(f"{args.data} has {batch.n_in} inputs per step but model {args.model} expects "
                         f"{net.arch.n_in}")
    from .interrupt import deferred

    outputs = (predict_rnn if isinstance(net, RNN) else predict)(net, batch)
    with deferred():
        save_outputs(args.out, outputs, batch.lengths)
        print(f"wrote outputs of {len(batch)} sequences ({batch.n_steps:,} steps x {net.arch.n_out}) to {args.out}")
    return 0


# ---- main -------------------------------------------------------------------------------------

def _store_files(db: str, what: str = "--db") -> list[tuple[str, str]]:
    """A results store and the files SQLite keeps beside it."""
    return [(what, db)] + [(f"{what}'s {sfx[1:]} file", db + sfx) for sfx in ("-wal", "-shm", "-journal")]


#: the most trials one command runs per row (the paper runs at most 30), and in all
MAX_TRIALS = 10_000
MAX_TRIALS_TOTAL = 100_000
#: the most passes over the data one `fit` makes
MAX_EPOCHS = 1_000_000


def _check_counts(args) -> None:
    """Before any work, for every command: the counts a user gives lie in their ranges, and absurd sizes
    (work that could not end in a lifetime) are refused up front, naming the option and its value."""
    def given(name):
        v = getattr(args, name, None)
        return None if v is None or isinstance(v, bool) else v

    seed = given("seed")
    if seed is not None and seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed}")
    trials = given("trials")
    if trials is not None:
        if trials < 1:
            raise ValueError(f"--trials must be at least 1, got {trials}")
        if trials > MAX_TRIALS:
            raise ValueError(f"--trials {trials:,} is more than {MAX_TRIALS:,} (the paper runs at most 30 trials "
                             "per row); choose a smaller --trials")
    for name, least in (("max_sequences", 1), ("max_guesses", 1), ("checkpoint_sequences", 1), ("jobs", 1),
                        ("lanes", 1), ("epochs", 1)):
        v = given(name)
        if v is not None and v < least:
            raise ValueError(f"--{name.replace('_', '-')} must be at least {least}, got {v}")
    epochs = given("epochs")
    if epochs is not None and epochs > MAX_EPOCHS:
        raise ValueError(f"--epochs {epochs:,} is more than {MAX_EPOCHS:,} passes over the data; choose a "
                         "smaller --epochs")
    jobs = given("jobs")
    most = 8 * (os.cpu_count() or 1)
    if jobs is not None and jobs > most and getattr(args, "scheduler", None) is None:
        raise ValueError(f"--jobs {jobs:,} is more than {most} worker processes (8 per core of this machine, "
                         f"which has {os.cpu_count() or 1}); choose a smaller --jobs, or run on a Dask cluster "
                         "(--scheduler)")
    lanes = given("lanes")
    if lanes is not None and lanes > 1024:
        raise ValueError(f"--lanes {lanes:,} is more than 1,024 trials trained together by one worker; choose "
                         "a smaller --lanes (4, the default, fills one block of the lane kernel)")


def _check_overlaps(args) -> None:
    """Before any work, for every command: no file it writes is one of its inputs or another of its
    outputs (:func:`lstm1997.io.check_overlaps`: by resolved path and by inode, existing or not)."""
    from .io import check_overlaps

    c = args.command
    outs, ins, folders = [], [], []
    js = getattr(args, "json", None)
    if isinstance(js, str):
        outs.append(("--json", js))
    db = getattr(args, "db", None)
    if c in ("reproduce", "sensitivity", "status", "report"):
        db = db if isinstance(db, str) and db.strip() else (os.environ.get("LSTM1997_DB") or DEFAULT_DB)
        if c in ("reproduce", "sensitivity"):      # the store is written
            outs += _store_files(db)
        else:
            ins += _store_files(db)
    if c == "report" and isinstance(args.out, str) and args.out.strip():
        outs += [("--out", os.path.join(args.out, n)) for n in ("report.html", "report.md")]
        folders.append(("--out", os.path.join(args.out, "figures")))
    if c == "fit":
        ins += [("the data file", args.data), ("--init", args.init)]
        outs.append(("--out", args.out))
    if c == "predict":
        ins += [("the model file", args.model), ("the data file", args.data)]
        outs.append(("--out", args.out))
    outs = [(w, p) for w, p in outs if isinstance(p, str) and p.strip()]
    ins = [(w, p) for w, p in ins if isinstance(p, str) and p.strip()]
    check_overlaps(outs, ins, folders)


def _interrupt_in_chain(e: BaseException):
    """The KeyboardInterrupt (a signal) behind exception ``e``, if any: its cause or context, at any depth."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return e
        e = e.__cause__ or e.__context__
    return None


def _interrupted_text(args, e) -> str:
    """What an interrupted command reached, what it left, and how to go on (one line)."""
    name = getattr(e, "name", "SIGINT")
    c = args.command
    if getattr(e, "late", False):
        return (f"interrupted ({name}) as the {c} command was writing its output: the output was completed "
                "and written before it stopped (see the lines above)")
    reached = getattr(args, "reached", None)
    at = f" {reached}" if reached else ""
    if c in ("reproduce", "sensitivity"):
        return (f"interrupted ({name}). Nothing finished is lost: finished trials are in the results store. "
                f"To resume, run: {_again()}")
    if c == "fit":
        return (f"interrupted ({name}) during fit{at}; nothing was written (the model goes to --out only at "
                "the end; fit keeps no checkpoint): run the same command again, with fewer --epochs for a "
                "shorter run")
    if c == "guess":
        return (f"interrupted ({name}){at}; nothing was written (guess writes --json only at the end and "
                f"keeps no partial results): run the same command again, with fewer --trials or a smaller "
                "--max-guesses for a shorter run")
    if c == "report":
        return (f"interrupted ({name}) while building the report; nothing was written to --out (the report is "
                "built in a temporary folder, now removed): run the same command again")
    if c == "predict":
        return f"interrupted ({name}); nothing was written to --out: run the same command again"
    return f"interrupted ({name}); nothing was written"


def _one_line(e) -> str:
    return " ".join(str(e).split())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm1997", description="The 1997 LSTM (Hochreiter & Schmidhuber) and "
                                "its experiments.")
    p.add_argument("--version", action="version", version=f"lstm1997 {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run one trial of a paper experiment")
    r.add_argument("experiment", help="1/reber, 2a, 2b, 2c, 3a, 3b, 3c, 4/adding, 5/multiplication, 6a, 6b")
    for sym, typ, what in (("T", int, "sequence length parameter"), ("N", int, "informative elements (Exp. 3)"),
                           ("p", int, "p (Exp. 2)"), ("q", int, "q (Exp. 2c)"), ("lr", float, "learning rate"),
                           ("blocks", int, "memory cell blocks (Exp. 1)"), ("cells", int, "cells per block (Exp. 1)")):
        r.add_argument(f"--{sym}", type=typ, help=f"{what} (default: the paper's)")
    r.add_argument("--method", choices=("LSTM", "RTRL", "BPTT"),
                   help="2a/2b: LSTM (default) or Table 2's baseline net trained by exact RTRL or full BPTT")
    r.add_argument("--seed", type=int, default=0, help="trial seed (default 0)")
    r.add_argument("--max-sequences", type=int, help="cap on training sequences (default: the protocol's)")
    r.add_argument("--json", metavar="PATH", help="also write the result as JSON")
    r.add_argument("--reading", action="append", metavar="NAME",
                   help="run under this reading of the paper instead of the spec's (repeatable; `lstm1997 "
                        "readings` lists them)")
    r.add_argument("--variant", choices=("forget", "peepholes", "forget+peepholes", "forget-open"), help=VARIANT_HELP)
    r.set_defaults(func=cmd_run)

    rd = sub.add_parser("readings", help="the named alternative readings of the paper: what each reads "
                        "differently, where the paper says it, what it changes")
    rd.add_argument("experiment", nargs="?", help="only those that apply to this experiment or task "
                    "(1, 2a, 2b, 2c, 3a, ..., 6b, or a name such as adding)")
    rd.add_argument("--json", action="store_true", help="print JSON")
    rd.add_argument("--verdicts", action="store_true", help="per table, the best-supported reading and the "
                    "verdict of the study of readings (what `reproduce --best` runs)")
    rd.set_defaults(func=cmd_readings)

    li = sub.add_parser("list", help="every experiment and table row, with weights, trials and cost estimates")
    li.add_argument("--json", action="store_true", help="print JSON")
    li.set_defaults(func=cmd_list)

    g = sub.add_parser("guess", help="random weight guessing (paper Sections 1 and 5.3; docs/decisions.md, D34) "
                       "on 3a, 3b or the parity problem")
    g.add_argument("task", choices=("3a", "3b", "parity"))
    g.add_argument("--T", type=int, help="3a/3b only: sequence length parameter (default 100)")
    g.add_argument("--N", type=int, help="3a/3b only: informative elements (default 3)")
    g.add_argument("--arch", choices=("A1", "A2", "A2-noself"), help="the guessed net (default A1; docs/decisions.md, D34)")
    g.add_argument("--noise", type=float, help="parity only: uniform input noise in [-noise, noise] (default 0)")
    g.add_argument("--trials", type=int, default=10, help="independent trials (default 10)")
    g.add_argument("--seed", type=int, default=0, help="seed of the trials (default 0)")
    g.add_argument("--max-guesses", type=int, help="cap per trial (default 1,000,000)")
    g.add_argument("--json", metavar="PATH", help="also write the summary and every trial as JSON")
    g.set_defaults(func=cmd_guess)

    rr = sub.add_parser("report", help="an HTML page and a Markdown file of a results store: tables ours vs the "
                        "paper's, learning curves, inside trained nets, error flow (needs lstm1997[plot])")
    rr.add_argument("--db", metavar="PATH", help=f"results store (default: $LSTM1997_DB or ./{DEFAULT_DB})")
    rr.add_argument("--out", metavar="DIR", required=True, help="folder to write report.html, report.md, figures/")
    rr.set_defaults(func=cmd_report)

    rp = sub.add_parser("reproduce", help="run the rows of a paper table and print ours beside the paper's")
    rp.add_argument("table", help="1 ... 9, 2b, or all")
    rp.add_argument("--rows", help="comma-separated row labels or numbers (default: all)")
    rp.add_argument("--trials", type=int, help="trials per row (default: the paper's; quick: 1)")
    rp.add_argument("--budget", choices=("quick", "paper"), default="paper",
                    help="quick: 1 trial per row, capped at about 2e9 weight-steps of training (seconds to a "
                         "minute per row on one core) and 3x the paper's sequences: rows the paper solves quickly "
                         "(6a, 3a) solve; unsolved rows whose cap is below 1.5x the paper's sequences are marked "
                         "undecided")
    rp.add_argument("--max-sequences", type=int, help="a smaller cap on training sequences per trial "
                    "(default: the paper's; state it when you report the result)")
    rp.add_argument("--json", metavar="PATH", help="also write the comparison as JSON")
    rp.add_argument("--reading", action="append", metavar="NAME",
                    help="run the rows under this reading of the paper instead of the spec's (repeatable; "
                         "`lstm1997 readings` lists them); such trials are kept apart in the store")
    rp.add_argument("--variant", choices=("forget", "peepholes", "forget+peepholes", "forget-open"), help=VARIANT_HELP)
    rp.add_argument("--best", action="store_true",
                    help="also run the rows under the table's best-supported reading (the study of readings, "
                         "docs/results.md; `lstm1997 readings --verdicts` lists them) and print ours under both "
                         "beside the paper's")
    rp.add_argument("--db", metavar="PATH", help=f"results store (SQLite; default $LSTM1997_DB or ./{DEFAULT_DB}); "
                    "trials already finished there are not run again, interrupted ones resume")
    rp.add_argument("--jobs", type=int, help="trials in parallel on this machine (default: all cores; 1: in "
                    "this process)")
    rp.add_argument("--lanes", type=int, default=LANES, metavar="N", help=LANES_HELP)
    rp.add_argument("--scheduler", metavar="ADDRESS", help="run the trials on this Dask scheduler "
                    "(e.g. tcp://host:8786; needs pip install 'lstm1997[dask]')")
    rp.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="give up connecting to the scheduler after this long (default 10)")
    rp.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                    help="save each running trial's state to the store this often (default 60)")
    rp.add_argument("--checkpoint-sequences", type=int, metavar="N",
                    help="... and also after every N training sequences (default: by time only)")
    rp.set_defaults(func=cmd_reproduce)

    se = sub.add_parser("sensitivity", help="run rows of a table under several readings of the paper and print "
                        "the matrix rows x readings beside the paper's figures")
    se.add_argument("table", help="1 ... 9 or 2b")
    se.add_argument("--rows", help="comma-separated row labels or numbers (default: all)")
    se.add_argument("--readings", metavar="SETS", help="comma-separated reading sets, '+' combines, 'spec' = "
                    "the spec's reading (default: spec and every reading that applies to every selected row)")
    se.add_argument("--diagnostics", action="store_true", help="include the diagnostics in the default sets")
    se.add_argument("--trials", type=int, default=6, help="trials per row and reading set (default 6)")
    se.add_argument("--max-sequences", type=int, help="a smaller cap on training sequences per trial")
    se.add_argument("--json", metavar="PATH", help="also write the cells as JSON")
    se.add_argument("--db", metavar="PATH", help=f"results store (default $LSTM1997_DB or ./{DEFAULT_DB})")
    se.add_argument("--jobs", type=int, help="trials in parallel on this machine (default: all cores)")
    se.add_argument("--lanes", type=int, default=LANES, metavar="N", help=LANES_HELP)
    se.add_argument("--scheduler", metavar="ADDRESS", help="run the trials on this Dask scheduler")
    se.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="give up connecting to the scheduler after this long (default 10)")
    se.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                    help="save each running trial's state to the store this often (default 60)")
    se.add_argument("--checkpoint-sequences", type=int, metavar="N", help="... and after every N sequences")
    se.set_defaults(func=cmd_sensitivity)

    st = sub.add_parser("status", help="summarise a results store: per table row, trials done, success, time")
    st.add_argument("--db", metavar="PATH", help=f"results store (default $LSTM1997_DB or ./{DEFAULT_DB})")
    st.set_defaults(func=cmd_status)

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
    from .runner import RunnerError
    from .training import TrainingDiverged

    from .interrupt import signals_raise

    args = _parser().parse_args(argv)
    try:
        with signals_raise():
            _check_counts(args)
            _check_overlaps(args)
            return args.func(args)
    except (ValueError, FormatError, TrainingDiverged, DivergenceError, RunnerError) as e:
        sys.stderr.write(f"lstm1997: error: {_one_line(e)}\n")
        return 2
    except BrokenPipeError:
        # the reader went away (`| head`): nothing more to say, and nothing for Python to complain about at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        return 1
    except MemoryError:
        sys.stderr.write(f"lstm1997: error: out of memory: the {args.command} command asked for more memory "
                         "than this machine has; choose smaller sizes\n")
        return 2
    except OSError as e:                  # full disk, read-only file system, permission, ...
        from .io import write_error_hint

        where = f"{e.filename}: " if e.filename else ""
        sys.stderr.write(f"lstm1997: error: {where}{write_error_hint(e)}\n")
        return 2
    except Exception as e:       # a bug: said in one line (and exit 70), never a traceback for the user
        stop = _interrupt_in_chain(e)
        if stop is not None:     # a signal that a library (Numba's compiler) turned into its own error
            sys.stderr.write(f"\nlstm1997: {_interrupted_text(args, stop)}\n")
            return 130
        if os.environ.get("LSTM1997_DEBUG"):
            raise
        sys.stderr.write(f"lstm1997: internal error ({type(e).__name__}: {_one_line(e)}); this is a bug in "
                         f"lstm1997 {__version__}: please report it with the command line (LSTM1997_DEBUG=1 shows "
                         "the traceback)\n")
        return 70
    except KeyboardInterrupt as e:
        try:
            sys.stderr.write(f"\nlstm1997: {_interrupted_text(args, e)}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        return 130


if __name__ == "__main__":
    sys.exit(main())
