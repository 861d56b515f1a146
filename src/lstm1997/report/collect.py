"""What a report shows, read from a results store: for every table of the paper, every row with the
paper's figures and ours (per stored cap and library version), each trial's figures and learning curve;
and the final networks the page looks inside. Pure data: no plotting here."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import NamedTuple

from ..experiments import TABLES, TrialResult, config_from_args, damage_of, read_result, summarize, trial_figures
from ..experiments.readings import weight_count

__all__ = ["RowData", "TableData", "FinalNetwork", "collect", "final_network"]


@dataclass
class RowData:
    """One row of a table as the store holds it: the paper's figures, and ours for one (cap, version)
    (``ours`` is None for a row with no finished trial in the store, or a row the paper only cites)."""

    table: str
    label: str
    paper: dict
    paper_trials: int
    cited: str | None = None
    cap: int | None = None
    version: str | None = None
    tag: str | None = None
    readings: tuple = ()                 # the readings the trials ran under (empty: the spec's)
    variant: str | None = None           # the later cell variant the trials ran with (None: the 1997 cell)

    @property
    def name(self) -> str:
        """The row's label, with its readings where they are not the spec's and its cell variant where it is
        not the 1997 cell."""
        return (self.label + (f" [{', '.join(self.readings)}]" if self.readings else "")
                + (f" <{self.variant}>" if self.variant else ""))
    planned: int = 0                     # trials registered for the row in the store
    damaged: list = field(default_factory=list)    # (seed, label, reason) of finished trials whose result is damaged
    trials: list = field(default_factory=list)     # trial_figures of finished trials (seed order)
    curves: list = field(default_factory=list)     # per finished trial: [(sequences, mae, mse, wrong), ...]
    ids: list = field(default_factory=list)        # store ids of the finished trials
    params: dict = field(default_factory=dict)
    weights: int | None = None           # our net's weight count under the readings and variant
    ours: dict | None = None
    seconds: float = 0.0


@dataclass
class TableData:
    table: str
    title: str
    notes: str
    rows: list


def _tag_info(tag: str) -> dict | None:
    try:
        t = json.loads(tag)
        return t if isinstance(t, dict) and {"table", "row", "cap", "version"} <= set(t) else None
    except ValueError:
        return None


def collect(store) -> list[TableData]:
    """Every table of the paper, in order, with ours from ``store`` (a :class:`~lstm1997.runner.Store`)."""
    by_row: dict = {}
    for tag in store.tags():
        t = _tag_info(tag)
        if t is not None:
            by_row.setdefault((str(t["table"]), t["row"]), []).append((tag, t))
    out = []
    for table, (exp, rows) in TABLES.items():
        data = []
        for row in rows:
            base = dict(table=table, label=row.label, paper=row.paper, paper_trials=exp.trials_for(row),
                        cited=row.cited)
            tags = by_row.get((table, row.label), [])
            if row.cited or not tags:
                data.append(RowData(**base))
                continue
            for tag, t in tags:
                recs = store.records(tag=tag)
                why = {r["id"]: damage_of(r) for r in recs}
                done = [r for r in recs if r["status"] == "done" and not why[r["id"]]]
                rd = RowData(**base, cap=t["cap"], version=t["version"], tag=tag, planned=len(recs),
                             readings=tuple(t.get("readings") or ()), variant=t.get("variant"))
                rd.damaged = [(r["seed"], r["label"], why[r["id"]]) for r in recs if why[r["id"]]]
                for r in done:
                    res = read_result(r)
                    rd.trials.append(trial_figures(res, row.stage))
                    rd.curves.append(res.curve)
                    rd.ids.append(r["id"])
                rd.seconds = sum(r["seconds"] for r in recs)
                if recs:
                    try:
                        from dataclasses import asdict

                        exp_, cfg_ = config_from_args(recs[0]["args"])
                        rd.params = asdict(cfg_)
                        rd.weights = weight_count(exp_, cfg_, rd.readings, rd.variant)
                    except (ValueError, TypeError, KeyError):
                        rd.params = {}
                rd.ours = summarize(rd.trials) if rd.trials else None
                data.append(rd)
        out.append(TableData(table, exp.title, exp.notes_for(table), data))
    return out


class FinalNetwork(NamedTuple):
    """A trial's final network, its config, ``"row label, seed s"``, the trial's figures as its row
    reports them (``success``, ``sequences``, ``status``, ...: :func:`trial_figures`) and the row's cap."""

    net: object
    cfg: object
    label: str
    figures: dict
    cap: int | None


def final_network(store, rows: list) -> FinalNetwork | None:
    """The final network of the first finished trial of ``rows`` (solved ones first), or None if the
    store holds none."""
    from ..io import load_model

    cands = []
    for rd in rows:
        for i, figs in zip(rd.ids, rd.trials):
            cands.append((not figs["success"], rd, i, figs))
    for _, rd, i, figs in sorted(cands, key=lambda c: c[0]):
        rec = store.get(i)
        if rec and rec.get("artifact"):
            try:
                net = load_model(io.BytesIO(rec["artifact"]))
            except ValueError:
                continue
            return FinalNetwork(net, config_from_args(rec["args"])[1], f"{rd.name}, seed {rec['seed']}",
                                figs, rd.cap)
    return None


def store_exists(path) -> bool:
    return os.path.isfile(path)
