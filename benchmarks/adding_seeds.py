"""Experiment 4 (adding problem) under the paper's protocol, over several seeds (a benchmark, not a test).

Runs `lstm1997.experiments.adding.run` for seeds 0..N-1 with the paper's criterion ST3(0.01)
unchanged, and prints per seed: solved or not, training sequences until the criterion held, the first
probe at which the test quality reached the paper's (<= 3 wrong of 2560), the final test figures and
the wall time; then the means beside the paper's Table 7.

    python benchmarks/adding_seeds.py --T 100 --seeds 5 [--max-sequences N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from lstm1997.experiments.adding import ADDING, PAPER_TABLE7, AddingConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--max-sequences", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    kw = {"T": args.T}
    if args.max_sequences:
        kw["max_sequences"] = args.max_sequences
    cfg = AddingConfig(**kw)
    rows = []
    print(f"adding problem T={cfg.T}: ST3({cfg.beta}) over {cfg.window} sequences, cap {cfg.max_sequences:,}")
    print(f"{'seed':>4} {'status':>8} {'sequences':>11} {'quality_at':>11} {'wrong':>6} {'test MAE':>9} "
          f"{'seconds':>8}", flush=True)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        r = ADDING.run(cfg, seed)
        rows.append({"seed": seed, "status": r.status, "success": r.success, "sequences": r.sequences,
                     "quality_at": r.quality_at, "test_wrong": r.test["wrong"], "test_mae": r.test["mae"],
                     "test_mse": r.test["mse"], "seconds": r.seconds, "steps": r.steps})
        q = f"{r.quality_at:,}" if r.quality_at is not None else "-"
        print(f"{seed:>4} {r.status:>8} {r.sequences:>11,} {q:>11} {r.test['wrong']:>6} {r.test['mae']:>9.4f} "
              f"{r.seconds:>8.1f}", flush=True)
    ok = [r for r in rows if r["success"]]
    qs = [r["quality_at"] for r in rows if r["quality_at"] is not None]
    paper = PAPER_TABLE7.get(cfg.T)
    print(f"\nsolved under ST3: {len(ok)}/{len(rows)}")
    if ok:
        print(f"sequences until ST3 held (solved trials): mean {statistics.mean(r['sequences'] for r in ok):,.0f}, "
              f"median {statistics.median(r['sequences'] for r in ok):,.0f}")
    if qs:
        print(f"first probe at the paper's test quality: reached in {len(qs)}/{len(rows)}, "
              f"mean {statistics.mean(qs):,.0f}, median {statistics.median(qs):,.0f}")
    print(f"mean wrong test sequences: {statistics.mean(r['test_wrong'] for r in rows):.1f} of 2560")
    print(f"total steps {sum(r['steps'] for r in rows):,}, time {sum(r['seconds'] for r in rows):.0f} s, "
          f"{sum(r['seconds'] for r in rows) / max(1, sum(r['steps'] for r in rows)) * 1e6:.3f} µs/step overall")
    if paper:
        print(f"paper, Table 7 (T={cfg.T}, 10 trials): {paper[3]:,} sequences, {paper[2]} wrong of 2560")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": cfg.params(), "rows": rows, "paper": paper,
                       "date": time.strftime("%Y-%m-%d")}, f, indent=2)


if __name__ == "__main__":
    main()
