"""What every paper experiment provides: a typed config (defaults = the paper's values), the rows of
its table (config overrides + the paper's figures), the paper's trial count, and how to turn a config
into a :class:`~.protocol.Trial`. The CLI and the runner work only with these objects."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np

from ..network import Architecture
from .protocol import TrialResult, run_trial

__all__ = ["Row", "Column", "Experiment", "trial_figures", "summarize", "quick_cap", "quick_decides",
           "paper_text"]


@dataclass(frozen=True)
class Row:
    """One row of a paper table: config overrides, the paper's figures, and which stage's figures of
    a trial the row reports (``None``: the trial's end)."""

    label: str
    params: dict
    paper: dict
    stage: str | None = None
    trials: int | None = None          # overrides the experiment's trial count (e.g. 6a: 20, 6b: 10)
    cited: str | None = None           # a row the paper cites or we do not re-run: why (no trials run)


@dataclass(frozen=True)
class Column:
    """A column of the comparison table: header, the key in the paper's figures and in ours, format."""

    header: str
    key: str
    fmt: str = "{:,.0f}"

    def ours(self, summary: dict):
        """This column's figure in ``summary`` (:func:`summarize`), which keeps a per-trial figure under
        its own key (``test_*``) or as a mean (``stage_ST1`` -> ``stage_ST1_mean``); None if absent."""
        v = summary.get(self.key)
        return summary.get(f"{self.key}_mean") if v is None else v


@dataclass(frozen=True)
class Experiment:
    id: str                              # the paper's id: "1", "2a", ..., "6b" (family id for tables)
    names: tuple                         # other names accepted on the command line
    title: str
    table: str                           # "1" ... "9", "2b"
    config: type                         # the typed config class
    rows: tuple                          # Row, in the paper's order
    trials: int                          # the paper's trials per row
    make_trial: Callable                 # config -> Trial
    columns: tuple = ()                  # extra columns for `reproduce`
    symbols: tuple = ()                  # row parameters exposed on the command line (paper symbols)
    notes: str = ""
    per_trial: Callable | None = None    # trial index -> config overrides (Exp. 1: which data set pair)
    table_notes: tuple = ()              # (table, note) where the tables of one experiment differ

    def notes_for(self, table: str) -> str:
        """The note that belongs under ``table``: its own where ``table_notes`` has one for any table of
        this experiment, else ``notes``."""
        own = dict(self.table_notes)
        return own.get(table, "") if own else self.notes

    def config_for(self, row: Row | None = None, **overrides):
        base = dict(row.params) if row else {}
        base.update({k: v for k, v in overrides.items() if v is not None})
        names = {f.name for f in fields(self.config)}
        unknown = set(base) - names
        if unknown:
            raise ValueError(f"experiment {self.id} has no parameter(s) {sorted(unknown)}; "
                             f"it has {sorted(names)}")
        return self.config(**base)

    def run(self, cfg, seed: int, progress=None) -> TrialResult:
        return run_trial(self.make_trial(cfg), seed, progress)

    def trials_for(self, row: Row) -> int:
        return row.trials or self.trials


def trial_figures(res: TrialResult, stage: str | None = None) -> dict:
    """The figures of one trial that a table row reports (flat, JSON-ready)."""
    if stage is not None:   # a stage that never held reports the trial's final test
        st = res.stages.get(stage)
        out = {"success": st is not None, "sequences": st["sequences"] if st else res.sequences}
        out.update({f"test_{k}": v for k, v in (st or res.test).items() if k != "sequences"})
    else:
        out = {"success": res.success, "sequences": res.sequences}
        out.update({f"test_{k}": v for k, v in res.test.items()})
        for name, st in res.stages.items():
            out[f"stage_{name}"] = st["sequences"]
    out.update({"status": res.status, "quality_at": res.quality_at, "seconds": res.seconds,
                "steps": res.steps})
    return out


def summarize(figs: list[dict]) -> dict:
    """Ours, over trials: success rate, training sequences until success (successful trials) as mean,
    std and median, and the mean of every other numeric figure."""
    ok = [f for f in figs if f["success"]]
    seqs = [f["sequences"] for f in ok]
    out = {"trials": len(figs), "successes": len(ok),
           "success_rate": len(ok) / len(figs) if figs else math.nan,
           "sequences_mean": statistics.fmean(seqs) if seqs else None,
           "sequences_std": statistics.pstdev(seqs) if len(seqs) > 1 else (0.0 if seqs else None),
           "sequences_median": statistics.median(seqs) if seqs else None,
           "sequences_min": min(seqs) if seqs else None, "sequences_max": max(seqs) if seqs else None}
    keys = sorted({k for f in figs for k, v in f.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)} - {"sequences"})
    for k in keys:
        vals = [f[k] for f in figs if isinstance(f.get(k), (int, float)) and not isinstance(f.get(k), bool)
                and math.isfinite(f[k])]
        if vals:
            out[k if k.startswith("test_") or k in ("seconds", "steps") else f"{k}_mean"] = statistics.fmean(vals)
    qs = [f["quality_at"] for f in figs if f.get("quality_at") is not None]
    out["quality_reached"] = len(qs)
    out["quality_at_mean"] = statistics.fmean(qs) if qs else None
    return out


def quick_cap(arch: Architecture, mean_length: float, paper_sequences: float | None = None,
              budget: float = 2e9, lo: int = 50, hi: int = 200_000) -> int:
    """Sequences a trial may train on under ``--budget quick``: about ``budget`` weight-steps (a few seconds
    of one core), and no more than 3x the paper's mean sequences until success where it gives one. Rows
    the paper solves quickly (6a, 3a) solve within it; rows whose cap falls below 1.5x the paper's figure
    are undecided at this budget (:func:`quick_decides`)."""
    cap = float(np.clip(budget / (arch.n_weights * max(mean_length, 1.0)), lo, hi))
    if paper_sequences:
        cap = min(cap, max(3.0 * paper_sequences, lo))
    return int(cap)


def quick_decides(cap: int, paper_sequences: float | None) -> bool:
    """Whether a quick run capped at ``cap`` sequences can tell if a row reproduces: its cap must reach
    1.5x the paper's mean sequences until success."""
    return bool(paper_sequences) and cap >= 1.5 * paper_sequences


def paper_text(paper: dict, missing: str = "-") -> tuple[str, str]:
    """A row's paper success rate and mean sequences until success as printed: the paper's words where
    it gives no number (``success_text``, e.g. "some fraction"; ``sequences_text``, e.g. "> 5,000,000")."""
    rate, seqs = paper.get("success_rate"), paper.get("sequences")
    return (paper.get("success_text") or (missing if rate is None else f"{rate:.0%}"),
            paper.get("sequences_text") or (missing if seqs is None else f"{seqs:,.0f}"))
