"""Merge `lstm1997 sensitivity ... --json` files into one readings file and print Markdown matrices.

    python benchmarks/render_readings.py t1.json t3.json ... --out docs/results/readings.json

Writes ``{"cells": [...]}`` (one entry per (row, readings) cell with a finished trial, the row labels as `reproduce --rows`
accepts them; a later file's cell replaces an earlier one with the same table, row, readings, cap and trial
count) and prints, per table, the matrix rows x reading sets: successes/trials and mean ± std sequences
until success (k = 1,000), beside the paper's figure.
"""

from __future__ import annotations

import argparse
import json


def _key(c: dict) -> tuple:
    return c["table"], c["row"], tuple(c["readings"]), c["cap"], c["trials_planned"]


def _cell(c: dict) -> str:
    if not c["trials"]:
        return "not run"
    txt = f"{c['successes']}/{c['trials']}"
    if c["sequences_mean"] is not None:
        txt += f" · {c['sequences_mean'] / 1000:,.0f}k ± {(c['sequences_std'] or 0) / 1000:,.0f}k"
    return txt + ("" if c["trials"] == c["trials_planned"] else f" (of {c['trials_planned']})")


def _row_order(table: str) -> dict:
    """Row label -> its position in the paper's table (rows this version does not know go last)."""
    try:
        from lstm1997.experiments import TABLES

        return {r.label: i for i, r in enumerate(TABLES[table][1])}
    except (ImportError, KeyError):
        return {}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", help="write the merged cells here")
    args = ap.parse_args(argv)
    cells: dict = {}
    for path in args.files:
        with open(path) as f:
            for c in json.load(f)["cells"]:
                if c["trials"]:              # a cell of an interrupted command with no finished trial: not run
                    cells[_key(c)] = c
    merged = list(cells.values())
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cells": merged}, f, indent=1)
    for table in dict.fromkeys(c["table"] for c in merged):
        mine = [c for c in merged if c["table"] == table]
        sets = list(dict.fromkeys(tuple(c["readings"]) for c in mine))
        names = ["spec" if not s else " + ".join(s) for s in sets]
        caps = sorted({c["cap"] for c in mine})
        print(f"\n**Table {table}** (cap {', '.join(f'{x:,}' for x in caps)} sequences; successes/trials · mean ± "
              "std sequences until success)\n")
        print("| row | paper | " + " | ".join(f"`{n}`" for n in names) + " |")
        print("|---|---|" + "---|" * len(names))
        order = _row_order(table)
        for row in sorted(dict.fromkeys(c["row"] for c in mine), key=lambda r: order.get(r, len(order))):
            by = {tuple(c["readings"]): c for c in mine if c["row"] == row}
            first = next(iter(by.values()))
            pr, ps = first.get("paper_success_rate"), first.get("paper_sequences")
            paper = (f"{pr:.0%}" if pr is not None else "–") + (f" · {ps / 1000:,.1f}k" if ps else "")
            print(f"| {row} | {paper} | " + " | ".join(_cell(by[s]) if s in by else "–" for s in sets) + " |")


if __name__ == "__main__":
    main()
