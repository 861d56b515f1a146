"""Render `lstm1997 reproduce ... --json` files as Markdown tables for docs/results.md.

    python benchmarks/render_results.py t9.json t7.json ...

Per row: trials run, success rate (paper / ours), training sequences until success (paper / ours as
mean ± std, median, min-max over successful trials), the test figures the table reports, the first
point at which the paper's test quality was reached (where probed), the cap and the wall time.
"""

from __future__ import annotations

import json
import sys


def fmt(v, f="{:,.0f}"):
    return "–" if v is None else f.format(v)


def main(paths) -> None:
    for path in paths:
        with open(path) as fh:
            d = json.load(fh)
        print(f"\n### {d['title']} — table {d['table']}\n")
        print("| row | trials | success paper / ours | sequences paper | ours mean ± std (median; min–max) "
              "| test figures, paper → ours | paper quality reached | cap | wall time |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in d["rows"]:
            o, p = r["ours"], r["paper"]
            seq = (f"{fmt(o['sequences_mean'])} ± {fmt(o['sequences_std'])} ({fmt(o['sequences_median'])}; "
                   f"{fmt(o['sequences_min'])}–{fmt(o['sequences_max'])})" if o["successes"] else "none solved")
            tests = []
            for key, f in (("test_wrong", "{:.1f}"), ("test_fraction", "{:.5f}"), ("test_mae", "{:.4f}"),
                           ("test_mse", "{:.5f}"), ("stage_ST1", "{:,.0f}")):
                if key in p or key in o:
                    name = {"test_wrong": "wrong/2560", "test_fraction": "misclassified", "test_mae": "MAE",
                            "test_mse": "MSE", "stage_ST1": "ST1 at"}[key]
                    ours = o.get(key) if key != "stage_ST1" else o.get("stage_ST1_mean")
                    tests.append(f"{name} {fmt(p.get(key), f)} → {fmt(ours, f)}")
            qa = (f"{o['quality_reached']}/{o['trials']} (mean {fmt(o['quality_at_mean'])})"
                  if o.get("quality_reached") else "–")
            print(f"| {r['row']} | {o['trials']} (paper {r['paper_trials']}) | "
                  f"{fmt(p.get('success_rate'), '{:.0%}')} / {fmt(o['success_rate'], '{:.0%}')} | "
                  f"{fmt(p.get('sequences'))} | {seq} | {'; '.join(tests) or '–'} | {qa} | "
                  f"{fmt(r.get('max_sequences'))} | {fmt(o.get('seconds', 0) * o['trials'], '{:,.0f}')} s |")


if __name__ == "__main__":
    main(sys.argv[1:])
