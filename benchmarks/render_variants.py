"""Merge `lstm1997 reproduce ... [--variant V] --json` files into one variants file and print the Markdown
table "Later variants on the 1997 tasks".

    python benchmarks/render_variants.py v7_forget.json ... r7_1997.json --out docs/results/variants.json

Each input is one `reproduce` JSON (one table); every row in it becomes a cell (table, row, cell variant, cap,
trials): successes/trials, mean ± std sequences until success over the successful trials, the mean test
figures (sequences wrong of the final test; its mean absolute error), the weight count beside the paper's.
A later file's cell replaces an earlier one with the same key. Prints one line per task row, one column per
cell (the 1997 cell first), beside the paper's figure.
"""

from __future__ import annotations

import argparse
import json

ORDER = (None, "forget", "forget-open", "peepholes", "forget+peepholes")


def _cells(path: str) -> list[dict]:
    with open(path) as f:
        d = json.load(f)
    out = []
    for r in d["rows"]:
        o = r.get("ours")
        if r.get("cited") or not o or not o.get("trials"):
            continue
        out.append({"table": d["table"], "row": r["row"], "variant": r.get("variant"),
                    "readings": r.get("readings") or [], "cap": r["max_sequences"], "trials": o["trials"],
                    "trials_planned": r.get("trials_planned", o["trials"]), "successes": o["successes"],
                    "success_rate": o["success_rate"], "sequences_mean": o["sequences_mean"],
                    "sequences_std": o["sequences_std"], "test_wrong": o.get("test_wrong"),
                    "test_total": o.get("test_total"), "test_mae": o.get("test_mae"),
                    "weights": r.get("weights"), "paper_weights": r["paper"].get("weights"),
                    "paper_sequences": r["paper"].get("sequences"), "paper_success_rate": r["paper"].get("success_rate"),
                    "version": d.get("version")})
    return out


def _text(c: dict | None) -> str:
    if c is None:
        return "–"
    t = f"{c['successes']}/{c['trials']}"
    if c["sequences_mean"] is not None:
        t += f" · {c['sequences_mean'] / 1000:,.0f}k ± {(c['sequences_std'] or 0) / 1000:,.0f}k"
    if c.get("test_wrong") is not None and c.get("test_total"):
        t += f" · {c['test_wrong']:,.1f}/{c['test_total']:,.0f} wrong"
    if c.get("test_mae") is not None:
        t += f", MAE {c['test_mae']:.3f}"
    return t + f" ({c['weights']:,} w)" if c.get("weights") else t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", help="write the merged cells here")
    args = ap.parse_args(argv)
    cells: dict = {}
    for path in args.files:
        for c in _cells(path):
            cells[(c["table"], c["row"], c["variant"], tuple(c["readings"]), c["cap"], c["trials_planned"])] = c
    merged = list(cells.values())
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cells": merged}, f, indent=1)
    print("| table, row | paper (1997) | cap | 1997 cell | forget | forget-open | peepholes | forget + peepholes |")
    print("|---|---|---|---|---|---|---|---|")
    rows = list(dict.fromkeys((c["table"], c["row"], tuple(c["readings"])) for c in merged))
    for table, row, readings in rows:
        mine = {c["variant"]: c for c in merged if (c["table"], c["row"], tuple(c["readings"])) == (table, row, readings)}
        any_c = next(iter(mine.values()))
        pr, ps = any_c["paper_success_rate"], any_c["paper_sequences"]
        paper = (f"{pr:.0%}" if pr is not None else "–") + (f" · {ps / 1000:,.1f}k" if ps else "") + \
            (f" ({any_c['paper_weights']:,} w)" if any_c.get("paper_weights") else "")
        caps = sorted({c["cap"] for c in mine.values()})
        label = f"{table}, {row}" + (f" [{', '.join(readings)}]" if readings else "")
        print(f"| {label} | {paper} | {', '.join(f'{x:,}' for x in caps)} | "
              + " | ".join(_text(mine.get(v)) for v in ORDER) + " |")


if __name__ == "__main__":
    main()
