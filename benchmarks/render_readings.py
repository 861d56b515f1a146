"""Merge `lstm1997 sensitivity ... --json` files into one readings file and print Markdown matrices.

    python benchmarks/render_readings.py t1.json t3.json ... --out docs/results/readings.json

The inputs are `sensitivity --json` files or `reproduce --json` files (a reproduce run of a table under
`--reading`: each of its rows becomes a cell; the matrix shows, per row and reading set, the last file's
cell, while the merged file keeps every cell).

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


def _reproduce_cells(d: dict) -> list[dict]:
    """The rows of a `reproduce --json` file as sensitivity cells."""
    out = []
    for r in d["rows"]:
        o = r.get("ours")
        if r.get("cited") or not o:
            continue
        readings = r.get("readings", d.get("readings") or [])
        weights = r.get("weights")
        if weights is None:
            try:
                from lstm1997.experiments import table_rows
                from lstm1997.experiments.readings import weight_count

                exp, (row,) = table_rows(d["table"], [r["row"]])
                weights = weight_count(exp, exp.config_for(row), readings)
            except (ImportError, ValueError):
                weights = None
        out.append({"table": d["table"], "row": r["row"], "readings": list(readings), "trials": o["trials"],
                    "trials_planned": r.get("trials_planned", o["trials"]), "cap": r["max_sequences"],
                    "success_rate": o["success_rate"], "successes": o["successes"],
                    "sequences_mean": o["sequences_mean"], "sequences_std": o["sequences_std"],
                    "sequences_median": o["sequences_median"], "paper_sequences": r["paper"].get("sequences"),
                    "paper_success_rate": r["paper"].get("success_rate"), "weights": weights,
                    "seconds": (o.get("seconds") or 0) * o["trials"], "version": d.get("version"),
                    "within_plausible_range": bool(r.get("plausible"))})
    return out


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
            d = json.load(f)
            for c in (d["cells"] if "cells" in d else _reproduce_cells(d)):
                if c["trials"]:              # a cell of an interrupted command with no finished trial: not run
                    cells[_key(c)] = c
    merged = list(cells.values())
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cells": merged}, f, indent=1)
    tables = ["1", "2", "2b", "3", "4", "5", "6", "7", "8", "9"]      # the paper's order
    for table in sorted(dict.fromkeys(c["table"] for c in merged), key=lambda t: tables.index(t) if t in tables else 99):
        mine = [c for c in merged if c["table"] == table]
        sets = sorted(dict.fromkeys(tuple(c["readings"]) for c in mine), key=lambda s: s != ())   # spec first
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
