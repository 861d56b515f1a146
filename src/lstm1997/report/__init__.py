"""The reproduction at a glance: ``build_report(store_path, out_dir)`` reads a results store and writes
``report.html`` (self-contained: figures embedded as data URIs, no network access, no scripts) and
``report.md`` (the same tables, figures as PNG files in ``figures/``).

The page shows every table of the paper with the paper's figures beside ours (spread over trials and how
many ran; rows the paper only cites, and rows not run in this store, marked as such), learning curves
and the distribution of training sequences until success per table, cell states and gates of trained
adding and temporal-order nets over a test sequence (the final networks stored with the trials), and
the error flow of Section 3 measured through conventional logistic units against a memory cell's CEC.
Figures need matplotlib (``pip install 'lstm1997[plot]'``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from dataclasses import dataclass, field

import numpy as np

from .. import __version__
from ..experiments._base import paper_text
from ..runner.progress import duration as _duration
from .collect import RowData, TableData, collect, final_network

__all__ = ["build_report", "Report", "ReportError"]


class ReportError(ValueError):
    """A report cannot be made (no store there, matplotlib missing, ...); the message says what to do."""


@dataclass
class Report:
    html: str
    markdown: str
    figures: list = field(default_factory=list)    # (file name, caption)
    tables: int = 0
    trials: int = 0


def _fmt(v, fmt="{:,.0f}") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return fmt.format(v)


def _row_cells(rd: RowData, columns) -> list[str]:
    """The cells of one table line (plain text)."""
    p = rd.paper
    success, sequences = paper_text(p, "–")
    weights = p.get("weights_text") or _fmt(p.get("weights"))
    if rd.weights is not None and not rd.cited and rd.weights != p.get("weights"):
        weights += f" (ours {rd.weights:,})"
    if rd.cited:
        return [rd.label, weights, "cited", f"– (paper {rd.paper_trials})", success, "–",
                sequences, "cited, not re-run: " + rd.cited, "–", "–"] + ["–"] * len(columns)
    if rd.ours is None:
        return [rd.label, weights, "–", f"0 (paper {rd.paper_trials})", success, "–",
                sequences, "not run in this store", "–", "–"] + ["–"] * len(columns)
    o = rd.ours
    seq = (f"{_fmt(o['sequences_mean'])} ± {_fmt(o['sequences_std'])} (median {_fmt(o['sequences_median'])}; "
           f"{_fmt(o['sequences_min'])}–{_fmt(o['sequences_max'])})" if o["successes"] else "none solved")
    n = f"{o['trials']}" + (f"/{rd.planned}" if rd.planned != o["trials"] else "") + f" (paper {rd.paper_trials})"
    extra = [f"{_fmt(p.get(c.key), c.fmt)} → {_fmt(c.ours(o), c.fmt)}" for c in columns]
    return [rd.name, weights, f"{rd.cap:,} · v{rd.version}", n, success,
            _fmt(o["success_rate"], "{:.0%}"), sequences, seq, f"{o['successes']}/{o['trials']}",
            _duration(rd.seconds)] + extra


#: what each table of the paper is about
_CAPTIONS = {"1": "embedded Reber grammar (Exp. 1)", "2": "task 2a, noise-free long time lag (Exp. 2)",
             "2b": "task 2b, no local regularities (Exp. 2, a result of the text)",
             "3": "task 2c, very long lags (Exp. 2)", "4": "task 3a, Bengio's 2-sequence problem (Exp. 3)",
             "5": "task 3b, noise on the informative elements too (Exp. 3)",
             "6": "task 3c, noisy real-valued targets (Exp. 3)", "7": "the adding problem (Exp. 4)",
             "8": "the multiplication problem (Exp. 5)", "9": "temporal order, 6a and 6b (Exp. 6)"}

_HEAD = ["row", "weights", "cap · version", "trials", "success paper", "ours", "sequences paper",
         "ours: mean ± std (median; min–max)", "solved", "compute"]


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:1em 0;width:100%}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left;white-space:nowrap}
tr.cited td{color:#666;font-style:italic}tr.notrun td{color:#999}
figure{margin:1.2em 0;border:1px solid #eee;padding:.5em}figure img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#444;margin-top:.4em}.note{font-size:.9em;color:#444}
code{background:#f6f6f6;padding:0 .2em}
"""


class _Page:
    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.html: list[str] = []
        self.md: list[str] = []
        self.figures: list = []

    def heading(self, text: str, level: int = 2) -> None:
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")
        self.md.append(f"\n{'#' * level} {text}\n")

    def para(self, text: str, cls: str = "") -> None:
        self.html.append(f"<p{f' class={chr(34)}{cls}{chr(34)}' if cls else ''}>{html.escape(text)}</p>")
        self.md.append(f"\n{text}\n")

    def table(self, head: list, rows: list, classes: list) -> None:
        h = ["<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead><tbody>"]
        for cells, cls in zip(rows, classes):
            h.append(f"<tr class=\"{cls}\">" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        h.append("</tbody></table>")
        self.html.append("".join(h))
        esc = lambda s: str(s).replace("|", "\\|")      # noqa: E731
        self.md.append("\n| " + " | ".join(map(esc, head)) + " |\n|" + "---|" * len(head) + "\n"
                       + "".join("| " + " | ".join(map(esc, r)) + " |\n" for r in rows))

    def figure(self, name: str, png: bytes, caption: str) -> None:
        os.makedirs(os.path.join(self.out_dir, "figures"), exist_ok=True)
        with open(os.path.join(self.out_dir, "figures", name), "wb") as f:
            f.write(png)
        data = base64.b64encode(png).decode("ascii")
        self.html.append(f"<figure id=\"{html.escape(name)}\"><img alt=\"{html.escape(caption)}\" "
                         f"src=\"data:image/png;base64,{data}\"><figcaption>{html.escape(caption)}</figcaption></figure>")
        self.md.append(f"\n![{caption}](figures/{name})\n\n*{caption}*\n")
        self.figures.append((name, caption))


def build_report(store_path, out_dir, progress=None) -> Report:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` into ``out_dir`` from the results store at
    ``store_path`` (opened, never written). Raises :class:`ReportError` for a missing store or matplotlib."""
    from ..runner import Store
    from . import figures as F

    say = progress or (lambda msg: None)
    store_path = os.fspath(store_path)
    if not os.path.isfile(store_path):
        raise ReportError(f"{store_path}: no results store there (lstm1997 reproduce writes one; --db PATH)")
    try:
        F.require_matplotlib()
    except ImportError as e:
        raise ReportError(str(e)) from None
    os.makedirs(out_dir, exist_ok=True)
    page = _Page(out_dir)
    from ..experiments import TABLES

    with Store(store_path, readonly=True) as store:
        tables = collect(store)
        n_trials = sum(len(rd.trials) for t in tables for rd in t.rows)
        damaged = [(t.table, rd.name, *d) for t in tables for rd in t.rows for d in rd.damaged]
        for table, row, seed, label, why in damaged:
            say(f"table {table}, row {row}, seed {seed} ({label}): its stored result is damaged ({why}); it is "
                "left out of the tables (the reproduce command that ran it runs it again)")
        page.heading("lstm1997: the 1997 LSTM paper, reproduced", 1)
        page.para(f"From the results store {os.path.abspath(store_path)} ({n_trials} finished trials), made "
                  f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by lstm1997 {__version__}. Paper: Hochreiter "
                  "& Schmidhuber, Long Short-Term Memory, Neural Computation 9(8), 1997.", "note")
        page.para("Per row: the paper's figures beside ours, over the trials finished in the store (a row run with "
                  "several caps or library versions appears once per cap and version). 'Sequences' are training "
                  "sequences until the paper's criterion held, averaged over the successful trials; a trial that "
                  "reached the cap counts as unsolved. A cap below the paper's means the row was cut short, "
                  "and is said in the cap column.", "note")
        if damaged:
            page.heading("Damaged trials")
            page.para(f"{len(damaged)} finished trial(s) of the store have a result that cannot be read; they are "
                      "left out of the tables below and are not counted as finished. The reproduce (or "
                      "sensitivity) command that ran them runs them again.", "note")
            page.table(["table", "row", "seed", "trial", "why"],
                       [[t, r, str(sd), lb, why] for t, r, sd, lb, why in damaged], [""] * len(damaged))
        for t in tables:
            exp = TABLES[t.table][0]
            page.heading(f"Table {t.table}: {_CAPTIONS.get(t.table, t.title)}")
            if t.notes:
                page.para(t.notes, "note")
            head = _HEAD + [f"{c.header}: paper → ours" for c in exp.columns]
            cells = [_row_cells(rd, exp.columns) for rd in t.rows]
            page.table(head, cells, ["cited" if rd.cited else "notrun" if rd.ours is None else "" for rd in t.rows])
            run = [rd for rd in t.rows if rd.ours is not None]
            if run:
                say(f"table {t.table}: figures")
                page.figure(f"table{t.table}_curves.png", F.learning_curves(run),
                            f"Table {t.table}: learning curves, one line per trial (blue: solved, grey: not), "
                            "mean absolute error over the last 2000 training sequences (over all of them before "
                            "the first 2000), sampled every 1000; "
                            "dashed: the paper's mean sequences until success.")
                page.figure(f"table{t.table}_sequences.png", F.sequence_distribution(run),
                            f"Table {t.table}: training sequences until success, one dot per solved trial "
                            "(bar: our mean; red diamond: the paper's mean).")
        _inside_section(page, store, tables, F, say)
        _error_flow_section(page, store, tables, F, say)
    body = "\n".join(page.html)
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>lstm1997 report</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")
    md = "".join(page.md).lstrip() + "\n"
    _write(os.path.join(out_dir, "report.html"), doc)
    _write(os.path.join(out_dir, "report.md"), md)
    return Report(os.path.join(out_dir, "report.html"), os.path.join(out_dir, "report.md"), page.figures,
                  len(tables), n_trials)


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _table(tables: list[TableData], key: str) -> TableData:
    return next(t for t in tables if t.table == key)


def _inside_section(page: _Page, store, tables, F, say) -> None:
    page.heading("Inside trained networks")
    page.para("One network's internal states over one test sequence (drawn with seed 0): the final network "
              "stored with a trial of the table (a solved trial where the store has one; whether it solved the "
              "task is said above each figure). Panels, top to bottom: the input, every cell state s_c, the "
              "input gates y_in and the output gates y_out per block, against the time step; dotted lines mark "
              "the steps the target depends on; the title gives the final output and the target.", "note")
    from ..network import forward
    from ..tasks.adding import adding
    from ..tasks.temporal_order import temporal_order

    for key, what, make, draw, marks in (("7", "adding problem (Table 7)", F.inside_adding,
                                          lambda cfg, rng: adding(rng, cfg.T, 1), F.adding_marks),
                                         ("9", "temporal order (Table 9)", F.inside_temporal_order,
                                          lambda cfg, rng: temporal_order(rng, 1, cfg.variant),
                                          F.temporal_order_marks)):
        found = final_network(store, [rd for rd in _table(tables, key).rows if rd.ours is not None])
        if found is None:
            page.para(f"{what}: no trained network in this store (run lstm1997 reproduce {key}).", "note")
            continue
        say(f"inside: {what}")
        b = draw(found.cfg, np.random.default_rng(0))
        rec = forward(found.net, b.inputs, record=True)
        page.para(_inside_text(what, found, rec, marks(b.inputs), b.targets[-1]), "note")
        page.figure(f"inside_table{key}.png", make(found.net, b.inputs, b.targets[-1], found.label),
                    f"Inside a {'trained' if found.figures['success'] else 'partly trained (unsolved)'} net, "
                    f"{what}: {found.label}. Dotted lines: the positions that matter.")


def _inside_text(what: str, found, rec: dict, marks: list, target) -> str:
    """What the shown network did in training, and what its figure shows, in numbers read off the same
    recording (nothing that holds only for a solved net)."""
    f = found.figures
    if f["success"]:
        did = f"solved (the paper's criterion held after {f['sequences']:,} training sequences)"
    elif f.get("status") == "diverged":
        did = f"not solved (training diverged after {f['sequences']:,} sequences)"
    else:
        cap = ("" if found.cap is None else ", the cap of this run" if found.cap == f["sequences"]
               else f", cap {found.cap:,}")
        did = (f"not solved (it trained for {f['sequences']:,} sequences{cap}, without meeting the paper's "
               "criterion), so this is not a picture of how the task is solved")
    T = rec["s_c"].shape[0]
    at = np.zeros(T, dtype=bool)
    at[[m - 1 for m in marks]] = True
    y_in = rec["y_in"].mean(axis=1)
    seen = []
    if at.any() and (~at).any():
        seen.append(f"input gates (mean over blocks) {y_in[at].mean():.2f} at the marked steps and "
                    f"{y_in[~at].mean():.2f} at the others")
    if rec["y_out"].shape[1] and T > 1:
        y_out = rec["y_out"].mean(axis=1)
        seen.append(f"output gates {y_out[-1]:.2f} at the last step, {y_out[:-1].mean():.2f} on average before it")
    out = ", ".join(f"{o:.3f}" for o in np.atleast_1d(rec["y_k"][-1]))
    want = ", ".join(f"{d:.3f}" for d in np.atleast_1d(target))
    seen.append(f"final output {out}, target {want}")
    return f"{what}, {found.label}: {did}. On this sequence: {'; '.join(seen)}."


def _error_flow_section(page: _Page, store, tables, F, say) -> None:
    from ..analysis import decay_bound, error_flow_lstm, error_flow_rnn, self_recurrent_rnn

    say("error flow")
    page.heading("Error flow: why conventional recurrent nets forget (Section 3)")
    page.para("An error of 1 injected at the last step and propagated back exactly (BPTT's recursion, eq. 1): "
              "what arrives q steps earlier. Through a logistic unit it is scaled at every step by f'(net) w; "
              "as f' is at most 0.25 it vanishes exponentially whenever |w| < 4, and larger weights make f' "
              "smaller still (Section 3.1). Through a memory cell's constant error carousel (self-weight 1.0, "
              "identity) it arrives undiminished at any lag (Section 3.2, A.2).", "note")
    T = 501
    curves = []
    for w in (1.0, 3.9, 8.0):
        net = self_recurrent_rnn(w, bias=-w / 2)
        r = error_flow_rnn(net, np.zeros((T, 1)), unit=0)
        curves.append((r["lags"], np.abs(r["theta"][:, 0]), f"logistic self-loop, w = {w:g}, bias −w/2 (f' at its "
                       "largest)"))
    # the trained baseline nets of Table 2 (RTRL / BPTT, p = 100), along a real 2a sequence
    t2 = _table(tables, "2")
    for rd in t2.rows:
        if rd.ours is None or rd.params.get("method") in (None, "LSTM") or rd.params.get("p", 0) < 10:
            continue
        found = final_network(store, [rd])
        if found is None:
            continue
        net, cfg, label = found.net, found.cfg, found.label
        from ..tasks.long_lag import noise_free

        x = noise_free(np.random.default_rng(0), cfg.p, 1).inputs
        r = error_flow_rnn(net, x)
        curves.append((r["lags"], r["max_abs"], f"trained {label} (Table 2 net), output → hidden unit"))
        break
    cec = None
    found = final_network(store, [rd for rd in _table(tables, "7").rows if rd.ours is not None])
    if found is not None:
        from ..tasks.adding import adding

        net, cfg, label = found.net, found.cfg, found.label
        x = adding(np.random.default_rng(0), cfg.T, 1).inputs
        r = error_flow_lstm(net, x)
        lags = r["lags"]
        cec = {"lags": lags, "carousel": r["carousel"][:, 0], "label": f"memory cell CEC, ∂s(T)/∂s(T−q) "
               f"(trained adding net, {label})"}
    lag = np.arange(T)
    bound = (lag, decay_bound(1, 3.9, lag), "Section 3.1 bound n (n w_max/4)^q, n = 1, w_max = 3.9")
    page.figure("error_flow.png", F.error_flow(curves, cec, bound),
                "Error arriving q steps back (log scale), injected as 1 at the last step: through logistic "
                "units it decays exponentially; through the CEC it stays exactly 1.")
