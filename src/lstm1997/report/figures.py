"""The report's figures (matplotlib, Agg backend, PNG bytes). Each function takes data and returns the
PNG's bytes; nothing here reads a store or knows the page layout."""

from __future__ import annotations

import io
import math

import numpy as np

__all__ = ["require_matplotlib", "learning_curves", "sequence_distribution", "inside_adding",
           "inside_temporal_order", "adding_marks", "temporal_order_marks", "error_flow"]


def require_matplotlib():
    """matplotlib.pyplot with the Agg backend, or ImportError saying what to install."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("the report's figures need matplotlib: pip install 'lstm1997[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    plt = require_matplotlib()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _compact(v: float) -> str:
    """A tick label: 500, 2k, 50k, 1M, 2.5M."""
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def _log_ticks(ax, lo: float, hi: float, axis: str = "x") -> None:
    """A log-scale axis over [lo, hi] with labels that fit: ticks at 1, 2, 5 x 10^k (thinned to every
    decade, or every other one, when they would crowd), no labels on minor ticks, and limits that take
    in at least two labelled ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    lo, hi = max(float(lo), 1.0), max(float(hi), float(lo), 1.0)
    fig = ax.get_figure()
    bbox = ax.get_position()
    inches = (bbox.width * fig.get_figwidth()) if axis == "x" else (bbox.height * fig.get_figheight())
    room = max(2, int(inches / (0.5 if axis == "x" else 0.3)))      # labels that fit side by side
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for subs, step in (((1, 2, 5), 1), ((1, 3), 1), ((1,), 1), ((1,), 2), ((1,), 3), ((1,), 5)):
        ticks = [m * 10.0 ** k for k in range(k0 - 1, k1 + 2) if k % step == 0 for m in subs]
        below = [t for t in ticks if t <= lo] or ticks[:1]
        above = [t for t in ticks if t >= hi and t > below[-1]] or ticks[-1:]
        shown = [t for t in ticks if below[-1] <= t <= above[0]]
        if len(shown) <= room:
            break
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}lim")(below[-1], above[0])
    ax_ = ax.xaxis if axis == "x" else ax.yaxis
    ax_.set_major_locator(FixedLocator(shown))
    ax_.set_major_formatter(FuncFormatter(lambda v, _: _compact(v)))
    ax_.set_minor_formatter(NullFormatter())


def _no_data(ax, text: str, x: float = 0.5, y: float = 0.5, **kw) -> None:
    ax.text(x, y, text, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.35", **kw)


def learning_curves(rows: list) -> bytes:
    """One panel per row: each trial's mean absolute error over the last 2000 training sequences against
    sequences trained (the learning curve sampled every 1000 sequences), and the paper's mean sequences.
    A panel whose trials stored no curve says so."""
    plt = require_matplotlib()
    n = len(rows)
    cols = min(3, n)
    nr = math.ceil(n / cols)
    fig, axes = plt.subplots(nr, cols, figsize=(4.2 * cols, 2.9 * nr), squeeze=False)
    for ax, rd in zip(axes.flat, rows):
        xs = []
        for curve, figs in zip(rd.curves, rd.trials):
            if not curve:
                continue
            c = np.asarray(curve, dtype=float)
            x = np.maximum(c[:, 0], 1)
            xs += [x.min(), x.max()]
            ax.plot(x, c[:, 1], lw=0.8, alpha=0.8, marker="." if len(c) == 1 else None,
                    color="tab:blue" if figs["success"] else "tab:gray")
        if not xs:
            _no_data(ax, f"no learning curve stored\n({len(rd.trials)} trial(s) finished)")
        if rd.paper.get("sequences"):
            xs.append(rd.paper["sequences"])
            ax.axvline(rd.paper["sequences"], color="tab:red", ls="--", lw=1, label="paper mean")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{rd.name} (cap {rd.cap:,})" if rd.cap else rd.name, fontsize=9)
        ax.set_xlabel("training sequences", fontsize=8)
        ax.set_ylabel("MAE, last 2000", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    for ax, rd in zip(axes.flat, rows):     # after the layout: the ticks are fitted to the panel's width
        xs = [x for line in ax.get_lines() for x in np.atleast_1d(line.get_xdata()) if np.isfinite(x) and x > 0]
        _log_ticks(ax, min(xs, default=100), max(xs, default=rd.cap or 1000), "x")
    return _png(fig)


def sequence_distribution(rows: list) -> bytes:
    """Training sequences until success of every successful trial (dots), per row, with the paper's mean
    (red diamond); unsolved trials are counted in the row's label, and a row with nothing to show says so."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(rows) + 1.3))
    rng = np.random.default_rng(0)          # jitter only
    labels, xs, empty = [], [], []
    for y, rd in enumerate(rows):
        seqs = [f["sequences"] for f in rd.trials if f["success"]]
        fails = len(rd.trials) - len(seqs)
        labels.append(f"{rd.name}  ({len(seqs)}/{len(rd.trials)} solved)" + (f", {fails} at cap" if fails else ""))
        if seqs:
            xs += seqs
            ax.scatter(seqs, y + rng.uniform(-0.15, 0.15, len(seqs)), s=14, color="tab:blue", alpha=0.75,
                       label="ours: one trial" if "ours: one trial" not in ax.get_legend_handles_labels()[1]
                       else None)
            ax.plot([np.mean(seqs)] * 2, [y - 0.3, y + 0.3], color="tab:blue", lw=2)
        if rd.paper.get("sequences"):
            xs.append(rd.paper["sequences"])
            ax.scatter([rd.paper["sequences"]], [y], marker="D", s=40, color="tab:red", zorder=3,
                       label="paper: mean" if "paper: mean" not in ax.get_legend_handles_labels()[1] else None)
        if not seqs:
            empty.append((y, "none solved" + ("" if rd.paper.get("sequences") else "; the paper gives no mean"),
                          rd.paper.get("sequences")))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)                 # first row on top
    ax.set_xlabel("training sequences until success (bar: our mean)", fontsize=9)
    if ax.get_legend_handles_labels()[0]:             # beside the plot, never over a row
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    _log_ticks(ax, min(xs, default=1000), max(xs, default=10_000), "x")
    lo, hi = (math.log10(v) for v in ax.get_xlim())
    for y, text, paper in empty:     # in the row's lane, on the side away from the row's diamond
        left = paper is None or (math.log10(paper) - lo) / (hi - lo) > 0.5
        ax.text(0.01 if left else 0.99, y, text, transform=ax.get_yaxis_transform(), ha="left" if left else "right",
                va="center", fontsize=8, color="0.35", style="italic")
    return _png(fig)


def _inside(rec: dict, x_marks: list, title: str, ylabel_in: str, inputs: np.ndarray, target: np.ndarray,
            output: np.ndarray):
    plt = require_matplotlib()
    T = rec["s_c"].shape[0]
    t = np.arange(1, T + 1)
    fig, axes = plt.subplots(4, 1, figsize=(9, 8.2), sharex=True)
    axes[0].plot(t, inputs, lw=0.8)
    axes[0].set_ylabel(ylabel_in, fontsize=8)
    for ax in axes:
        for m in x_marks:
            ax.axvline(m, color="tab:red", lw=0.8, ls=":")
    C = rec["y_in"].shape[1]
    S = rec["s_c"].shape[1] // C
    for v in range(rec["s_c"].shape[1]):
        axes[1].plot(t, rec["s_c"][:, v], lw=1, label=f"s_c block {v // S + 1} cell {v % S + 1}")
    axes[1].set_ylabel("cell state s_c", fontsize=8)
    axes[1].legend(fontsize=6, ncol=3, loc="upper left")
    for j in range(C):
        axes[2].plot(t, rec["y_in"][:, j], lw=1, label=f"y_in block {j + 1}")
        if rec["y_out"].shape[1]:
            axes[3].plot(t, rec["y_out"][:, j], lw=1, label=f"y_out block {j + 1}")
    axes[2].set_ylabel("input gates y_in", fontsize=8)
    axes[3].set_ylabel("output gates y_out", fontsize=8)
    axes[2].set_ylim(-0.05, 1.05)
    axes[3].set_ylim(-0.05, 1.05)
    axes[2].legend(fontsize=6, ncol=3, loc="upper left")
    axes[3].legend(fontsize=6, ncol=3, loc="upper left")
    axes[3].set_xlabel("time step (dotted: the positions that matter)", fontsize=8)
    ok = ", ".join(f"{o:.3f}" for o in np.atleast_1d(output))
    want = ", ".join(f"{d:.3f}" for d in np.atleast_1d(target))
    axes[0].set_title(f"{title}\nfinal output {ok}; target {want}", fontsize=9)
    for ax in axes:
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _png(fig)


def adding_marks(x: np.ndarray) -> list:
    """The time steps (from 1) of an adding-problem sequence whose values are to be added (marker 1.0)."""
    return [int(i) + 1 for i in np.flatnonzero(x[:, 1] == 1.0)]


def temporal_order_marks(x: np.ndarray) -> list:
    """The time steps (from 1) of a temporal-order sequence that carry the relevant symbols (X or Y)."""
    from ..tasks.temporal_order import SYMBOLS

    return [int(i) + 1 for i in np.flatnonzero(x.argmax(axis=1) >= SYMBOLS.index("X"))]


def inside_adding(net, x: np.ndarray, d_end: np.ndarray, label: str) -> bytes:
    """Cell states and gates of a trained adding-problem net over one test sequence."""
    from ..network import forward

    rec = forward(net, x, record=True)
    return _inside(rec, adding_marks(x), f"adding problem, {label}", "value (marked: dotted)", x[:, 0], d_end,
                   rec["y_k"][-1])


def inside_temporal_order(net, x: np.ndarray, d_end: np.ndarray, label: str) -> bytes:
    """Cell states and gates of a trained temporal-order net over one test sequence."""
    from ..network import forward
    from ..tasks.temporal_order import SYMBOLS

    rec = forward(net, x, record=True)
    sym = x.argmax(axis=1)
    marks = temporal_order_marks(x)
    return _inside(rec, marks, f"temporal order, {label} (relevant symbols: "
                   + "".join(SYMBOLS[s] for s in sym[np.array(marks, dtype=int) - 1]) + ")",
                   "input symbol index", sym, d_end, rec["y_k"][-1])


def error_flow(rnn_curves: list, cec: dict | None, bound: tuple | None) -> bytes:
    """|error| arriving q steps back: through conventional logistic units (measured) against the CEC."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(8.5, 4.3))
    for lag, mag, lab in rnn_curves:
        mag = np.asarray(mag, dtype=float)
        keep = mag > 0
        ax.plot(np.asarray(lag)[keep], mag[keep], lw=1.2, label=lab)
    if cec is not None:
        ax.plot(cec["lags"], cec["carousel"], lw=2.2, color="black", label=cec["label"])
        if "scaled" in cec:
            ax.plot(cec["lags"], cec["scaled"], lw=1.2, color="black", ls="--", label=cec["scaled_label"])
    if bound is not None:
        ax.plot(bound[0], bound[1], lw=1, color="tab:gray", ls=":", label=bound[2])
    ax.set_yscale("log")
    ax.set_ylim(1e-40, 10)
    ax.set_xlabel("lag q (time steps the error travels back)", fontsize=9)
    ax.set_ylabel("|error| arriving (injected: 1)", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    return _png(fig)
