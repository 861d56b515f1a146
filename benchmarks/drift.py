"""Internal state drift: |s_c| at the end of a sequence, for untrained nets under each reading and for the
trained nets a results store holds (their final networks).

    python benchmarks/drift.py --untrained 3 --rows 2,5          # Table 3 rows, every applicable reading
    python benchmarks/drift.py --db lstm1997-results.sqlite --table 3   # the store's trained nets
    python benchmarks/drift.py --untrained 3 --rows 2,5 --variants      # the 1997 cell and each later variant

With the paper's h in [-1, 1], h'(s_c) is about 0 once |s_c| is above 3 or so: no error then enters the cell,
which is the drift the paper's Section 4 warns of. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import io
import json

import numpy as np

from lstm1997.experiments import TABLES, config_from_args, readings_of, table_rows, variant_of
from lstm1997.experiments.readings import applicable, build_trial
from lstm1997.experiments.variants import VARIANTS
from lstm1997.network import forward, init


def end_states(net, tr, n: int, seed: int) -> np.ndarray:
    b = tr.sample(np.random.default_rng(seed), n)
    return np.concatenate([np.abs(forward(net, b[i][0], record=True)["s_c"][-1]) for i in range(len(b))])


def untrained(table: str, rows: str | None, nets: int = 6, seqs: int = 5, variants: bool = False) -> None:
    exp, chosen = table_rows(table, rows.split(",") if rows else None)
    for row in chosen:
        if row.cited:
            continue
        cfg = exp.config_for(row)
        if variants:     # the spec's reading, the 1997 cell and each later cell variant
            sets = [((), v) for v in (None, *VARIANTS)]
        else:
            sets = [((), None)] + [((r.name,), None) for r in applicable(exp, cfg)
                                   if r.trial_sets == "the initial network" or "init_range" in r.config
                                   or "in_gate_bias" in r.config]
        for names, variant in sets:
            tr = build_trial(exp, cfg, names, variant)
            e = np.concatenate([end_states((tr.init_net or init)(tr.arch, np.random.default_rng(s)), tr, seqs,
                                           100 + s) for s in range(nets)])
            what = ("+".join(names) or "spec") + (f" <{variant}>" if variant else "")
            print(f"{row.label:18s} {what:30s} untrained: median |s_c| at the end "
                  f"{np.median(e):6.2f} (max {e.max():.1f}; {nets} nets x {seqs} sequences)")


def trained(db: str, table: str, seqs: int = 10) -> None:
    from lstm1997.io import load_model
    from lstm1997.runner import Store

    with Store(db) as st:
        for tag in st.tags():
            try:
                t = json.loads(tag)
            except ValueError:
                continue
            if str(t.get("table")) != table:
                continue
            ends, n = [], 0
            for r in st.records(tag=tag):
                art = st.get(r["id"]).get("artifact") if r["status"] == "done" else None
                if not art:
                    continue
                exp, cfg = config_from_args(r["args"])
                tr = build_trial(exp, cfg, readings_of(r["args"]), variant_of(r["args"]))
                ends.append(end_states(load_model(io.BytesIO(art)), tr, seqs, 7))
                n += 1
            if ends:
                e = np.concatenate(ends)
                what = (",".join(t.get("readings", [])) or "spec") + (f" <{t['variant']}>" if t.get("variant") else "")
                print(f"{t['row']:18s} {what:30s} trained ({n} final nets, "
                      f"solved or not): median |s_c| at the end {np.median(e):6.2f} (max {e.max():.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--untrained", metavar="TABLE", help="untrained nets of this table's rows under each reading")
    ap.add_argument("--rows", help="rows of --untrained's table (labels or numbers)")
    ap.add_argument("--variants", action="store_true", help="with --untrained: the 1997 cell and each later "
                    "cell variant (instead of the readings)")
    ap.add_argument("--db", help="a results store: its trained nets")
    ap.add_argument("--table", default="3", help="with --db: the table (default 3)")
    args = ap.parse_args()
    if args.untrained:
        untrained(args.untrained, args.rows, variants=args.variants)
    if args.db:
        trained(args.db, args.table)


if __name__ == "__main__":
    main()
