"""The paper's experiments: typed configs whose defaults are the paper's values, the rows of its tables
with the paper's figures, and one protocol for a trial (:mod:`.protocol`).

``EXPERIMENTS`` maps every accepted name (the paper's ids ``1``, ``2a`` ... ``6b`` and names such as
``adding``) to ``(experiment, fixed row parameters)``; ``TABLES`` maps a table (``1`` ... ``9``,
``2b``) to ``(experiment, rows)``.
"""

from __future__ import annotations

from ._base import Column, Experiment, Row, summarize, trial_figures
from .adding import ADDING, MULTIPLICATION
from .long_lag import LONG_LAG
from .protocol import DamagedResult, Trial, TrialResult, TrialRun, run_trial
from .reber import REBER
from .temporal_order import TEMPORAL_ORDER
from .two_sequence import TWO_SEQUENCE

__all__ = ["EXPERIMENTS", "TABLES", "ALL", "lookup", "table_rows", "Experiment", "Row", "Column", "Trial", "readings_of",
           "TrialResult", "TrialRun", "run_trial", "summarize", "trial_figures", "trial_args", "open_trial",
           "config_from_args", "OPEN_TRIAL", "variant_of", "DamagedResult", "read_result", "damage_of"]

ALL = (REBER, LONG_LAG, TWO_SEQUENCE, ADDING, MULTIPLICATION, TEMPORAL_ORDER)

#: name -> (experiment, parameters the name fixes)
EXPERIMENTS = {
    "1": (REBER, {}), "reber": (REBER, {}),
    "2a": (LONG_LAG, {"task": "2a"}), "2b": (LONG_LAG, {"task": "2b"}), "2c": (LONG_LAG, {"task": "2c"}),
    "long-lag": (LONG_LAG, {}),
    "3a": (TWO_SEQUENCE, {"task": "3a"}), "3b": (TWO_SEQUENCE, {"task": "3b"}),
    "3c": (TWO_SEQUENCE, {"task": "3c"}), "two-sequence": (TWO_SEQUENCE, {}),
    "4": (ADDING, {}), "adding": (ADDING, {}),
    "5": (MULTIPLICATION, {}), "multiplication": (MULTIPLICATION, {}),
    "6a": (TEMPORAL_ORDER, {"variant": "6a"}), "6b": (TEMPORAL_ORDER, {"variant": "6b"}),
    "temporal-order": (TEMPORAL_ORDER, {}),
}


def _rows(exp: Experiment, prefix: str) -> tuple:
    return tuple(r for r in exp.rows if r.label.startswith(prefix))


#: table -> (experiment, rows)
TABLES = {
    "1": (REBER, REBER.rows),
    "2": (LONG_LAG, _rows(LONG_LAG, "2a")),
    "2b": (LONG_LAG, _rows(LONG_LAG, "2b")),
    "3": (LONG_LAG, _rows(LONG_LAG, "2c")),
    "4": (TWO_SEQUENCE, _rows(TWO_SEQUENCE, "3a")),
    "5": (TWO_SEQUENCE, _rows(TWO_SEQUENCE, "3b")),
    "6": (TWO_SEQUENCE, _rows(TWO_SEQUENCE, "3c")),
    "7": (ADDING, ADDING.rows),
    "8": (MULTIPLICATION, MULTIPLICATION.rows),
    "9": (TEMPORAL_ORDER, TEMPORAL_ORDER.rows),
}


def lookup(name: str) -> tuple[Experiment, dict]:
    """The experiment for a command-line name, and the row parameters the name fixes."""
    key = str(name).lower()
    if key not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[key]


def table_rows(table: str, labels=None) -> tuple[Experiment, tuple]:
    """The experiment and rows of a table, optionally only the rows whose labels are in ``labels``."""
    key = str(table).lower()
    if key not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose from {', '.join(TABLES)}")
    exp, rows = TABLES[key]
    if labels:
        wanted = [str(x) for x in labels]
        bad = [w for w in wanted if w not in {r.label for r in rows} and not w.isdigit()]
        if bad:
            raise ValueError(f"table {table} has no row(s) {bad}; rows: {', '.join(r.label for r in rows)} "
                             f"(or their numbers 1..{len(rows)})")
        idx = {int(w) - 1 for w in wanted if w.isdigit()}
        if any(i < 0 or i >= len(rows) for i in idx):
            raise ValueError(f"table {table} has rows 1..{len(rows)}")
        rows = tuple(r for i, r in enumerate(rows) if r.label in wanted or i in idx)
    return exp, rows


# ---- trials as data (for the runner: a trial is a JSON-able description, a seed and open_trial) ----

#: the function a runner calls to start or resume a trial described by ``trial_args``
OPEN_TRIAL = "lstm1997.experiments:open_trial"


def trial_args(exp: Experiment, cfg, readings=(), variant: str | None = None) -> dict:
    """A JSON-able description of one trial: ``{"experiment": id, "params": {...}}`` for the spec's reading,
    plus ``"readings": [names]`` (sorted) under other readings (:mod:`.readings`), which are applied on top
    of ``params`` when the trial is built, and ``"variant": name`` for a later cell variant
    (:mod:`.variants`; absent for the 1997 cell); so a trial's readings and variant are part of its
    identity in a store. The trial is built here once, so that a reading or variant that does not apply is
    refused now, not in a worker."""
    from dataclasses import asdict

    from .readings import build_trial, resolve
    from .variants import check_variant

    out = {"experiment": exp.id, "params": asdict(cfg)}
    names = resolve(exp, cfg, readings)
    if names:
        out["readings"] = list(names)
    variant = check_variant(variant)
    if variant is not None:
        build_trial(exp, cfg, names, variant)
        out["variant"] = variant
    return out


def config_from_args(args: dict):
    """The experiment and config described by :func:`trial_args` output (JSON lists back to tuples); the
    config is the spec's (the readings, :func:`readings_of`, apply on top)."""
    by_id = {e.id: e for e in ALL}
    if not isinstance(args, dict) or args.get("experiment") not in by_id or not isinstance(args.get("params"), dict):
        raise ValueError(f"not a trial description: {args!r:.200}")
    exp = by_id[args["experiment"]]
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in args["params"].items()}
    return exp, exp.config_for(None, **params)


def readings_of(args: dict) -> tuple:
    """The readings of a trial described by :func:`trial_args` (empty: the spec's)."""
    return tuple(args.get("readings") or ()) if isinstance(args, dict) else ()


def variant_of(args: dict) -> str | None:
    """The cell variant of a trial described by :func:`trial_args` (``None``: the 1997 cell)."""
    return args.get("variant") if isinstance(args, dict) else None


def open_trial(args: dict, seed: int, checkpoint: bytes | None = None) -> TrialRun:
    """Start the trial described by ``args`` with ``seed``, or resume it from ``checkpoint``."""
    from .readings import build_trial

    import sys

    exp, cfg = config_from_args(args)
    trial = build_trial(exp, cfg, readings_of(args), variant_of(args))
    if checkpoint is not None:
        try:
            return TrialRun(trial, seed, checkpoint)
        except Exception as e:       # a damaged checkpoint: start over (same seed, so the same numbers)
            sys.stderr.write(f"lstm1997: seed {seed}: its checkpoint cannot be read ({type(e).__name__}: "
                             f"{' '.join(str(e).split())[:200]}); the trial starts over from the beginning\n")
            trial = build_trial(exp, cfg, readings_of(args), variant_of(args))
    return TrialRun(trial, seed, None)


def read_result(record: dict) -> TrialResult:
    """The result of a finished trial's store record: the one reader of stored results, which every view
    (reproduce, sensitivity, status, report) uses. :class:`DamagedResult` (a ``ValueError`` with the reason)
    when the store marked the record damaged, or the result is not one :meth:`TrialResult.to_dict` wrote."""
    if record.get("damaged"):
        raise DamagedResult(record["damaged"])
    return TrialResult.from_dict(record["result"])


def damage_of(record: dict) -> str | None:
    """Why a finished trial's stored result cannot be read (``None``: it can; see :func:`read_result`)."""
    if record.get("status") != "done" and not record.get("damaged"):
        return None
    try:
        read_result(record)
    except DamagedResult as e:
        return str(e)
    return None
