"""`lstm1997 report` from a real results store (written by `lstm1997 reproduce`), opened in headless
Chromium: it loads without console errors and every figure is there and decodes."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from browser import check_page, find_chromium

EXE = pathlib.Path(sys.executable).with_name("lstm1997")

#: small real runs: Table 2's RTRL p=10 baseline, the adding problem (T=100) and temporal order 6a
RUNS = [("2", "2a RTRL p=10", "2", "3000"), ("7", "1", "2", "3000"), ("9", "1", "1", "2000")]
FIGURES = {"table2_curves.png", "table2_sequences.png", "table7_curves.png", "table7_sequences.png",
           "table9_curves.png", "table9_sequences.png", "inside_table7.png", "inside_table9.png", "error_flow.png"}


def _cli(*args, **kw):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    db = d / "results.sqlite"
    for table, rows, trials, cap in RUNS:
        p = _cli("reproduce", table, "--rows", rows, "--trials", trials, "--max-sequences", cap, "--db", db)
        assert p.returncode == 0, p.stderr
    out = d / "out"
    p = _cli("report", "--db", db, "--out", out)
    assert p.returncode == 0, p.stderr
    assert "9 figures embedded" in p.stdout
    return out


def test_report_files_and_markdown(report):
    html = (report / "report.html").read_text()
    md = (report / "report.md").read_text()
    assert {f.name for f in (report / "figures").iterdir()} == FIGURES
    for name in FIGURES:
        assert f"](figures/{name})" in md and f'id="{name}"' in html
    assert "http://" not in html and "https://" not in html and "<script" not in html    # self-contained
    # every table of the paper, ours beside the paper's; cited rows and rows not run are marked
    for t in ("1", "2", "2b", "3", "4", "5", "6", "7", "8", "9"):
        assert f"Table {t}:" in html and f"## Table {t}:" in md
    assert html.count("cited, not re-run") == 5 and "not run in this store" in html
    # a curve's first points (before 2000 sequences) average over fewer sequences: the caption says so
    assert ("*Table 7: learning curves, one line per trial (blue: solved, grey: not), mean absolute error over "
            "the last 2000 training sequences (over all of them before the first 2000)") in md
    row = next(line for line in md.splitlines() if line.startswith("| 2a RTRL p=10 |"))
    assert "3,000 · v" in row and "2 (paper 18)" in row and "none solved" in row
    row = next(line for line in md.splitlines() if line.startswith("| 2a RTRL p=4 lr=1 |"))
    assert "1,043,000" in row and "not run in this store" in row


def test_report_page_in_headless_chromium(report):
    if find_chromium() is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("Chromium is missing on CI (.ci/run must install Debian's chromium)")
        pytest.skip("no Chromium here (apt-get install chromium, or set CHROMIUM)")
    shot = report / "screenshot.png"
    r = check_page(report / "report.html", shot, selector="figure img")
    assert r["errors"] == [], r["errors"]
    assert r["title"] == "lstm1997 report"
    assert r["images"] == r["images_loaded"] == r["selected"] == len(FIGURES)
    assert shot.stat().st_size > 10_000 and r["height"] > 2000
    keep = pathlib.Path(__file__).parent.parent / ".pytest_cache" / "report-screenshot.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(shot, keep)          # left for a look after the run


def test_report_without_matplotlib_says_what_to_install(tmp_path, report):
    db = report.parent / "results.sqlite"
    code = ("import sys, builtins\n"
            "real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name.split('.')[0] == 'matplotlib': raise ImportError('no matplotlib')\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            "from lstm1997.cli import main\n"
            f"sys.exit(main(['report', '--db', {str(db)!r}, '--out', {str(tmp_path / 'o')!r}]))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 2 and "pip install 'lstm1997[plot]'" in p.stderr and "Traceback" not in p.stderr


def test_report_refuses_a_missing_store(tmp_path):
    p = _cli("report", "--db", tmp_path / "nope.sqlite", "--out", tmp_path / "o")
    assert p.returncode == 2 and "no results store" in p.stderr and not (tmp_path / "o").exists()


def test_report_inside_text_says_what_the_shown_net_did(report):
    """The nets shown inside are unsolved here (capped at 3,000 and 2,000 sequences): the text says so, gives
    the sequences, and claims nothing that only a solved net would show."""
    md = (report / "report.md").read_text()
    inside = md[md.index("## Inside trained networks"):md.index("## Error flow")]
    assert "The input gates open at the positions that matter" not in inside
    assert "adding problem (Table 7), T=100, seed 0: not solved (it trained for 3,000 sequences" in inside
    assert "temporal order (Table 9), 6a, seed 0: not solved (it trained for 2,000 sequences" in inside
    assert "input gates (mean over blocks)" in inside and "final output" in inside
    assert "Inside a partly trained (unsolved) net" in inside


# ---- parts of the page, without a store run ------------------------------------------------------------

def test_table_4_and_5_columns_show_our_stop_st1():
    """Our ST1 point is summarised as stage_ST1_mean; the column (key stage_ST1) must find it."""
    from lstm1997.experiments import TABLES, summarize
    from lstm1997.report import _row_cells
    from lstm1997.report.collect import RowData

    for table in ("4", "5"):
        exp, rows = TABLES[table]
        row = rows[0]
        figs = [{"success": True, "sequences": s + 5000, "stage_ST1": s, "stage_ST2": s + 5000,
                 "test_fraction": 0.0005, "test_mae": 0.01} for s in (10_000, 22_500)]
        rd = RowData(table, row.label, row.paper, 10, cap=1_000_000, version="x", trials=figs,
                     ours=summarize(figs))
        cells = _row_cells(rd, exp.columns)
        st1 = cells[-len(exp.columns):][0]
        assert st1 == f"{row.paper['stage_ST1']:,} → 16,250", cells


def test_experiment_notes_only_under_the_tables_they_are_about(tmp_path):
    """Exp. 2's note on its RTRL/BPTT rows belongs to Table 2 only (Tables 2b and 3 have no such rows)."""
    from lstm1997.report.collect import collect
    from lstm1997.runner import Store

    with Store(tmp_path / "empty.sqlite") as store:
        notes = {t.table: t.notes for t in collect(store)}
    assert "RTRL/BPTT" in notes["2"] and "2c" not in notes["2"]
    assert "RTRL" not in notes["2b"] and "RTRL" not in notes["3"]
    assert "2c's 100% success is implied" in notes["3"]


def _fake_rows(table, curves=True):
    """Every row of a table run: 10 trials each, sequences spread over 0.3-1.5x the paper's mean (all
    solved where the paper gives a mean, none where it does not), learning curves sampled every 1000."""
    from lstm1997.experiments import TABLES
    from lstm1997.report.collect import RowData

    out = []
    for row in TABLES[table][1]:
        if row.cited:
            continue
        rd = RowData(table, row.label, row.paper, 10, cap=1_000_000, version="x")
        mean = row.paper.get("sequences")
        for s in (np.geomspace(0.3, 1.5, 10) * mean).astype(int) if mean else [1_000_000] * 10:
            rd.trials.append({"success": bool(mean), "sequences": int(s)})
            rd.curves.append([(q, 0.5 * np.exp(-3 * q / s), 0.1, 0) for q in range(0, int(s) + 1, 1000)]
                             if curves else [])
        out.append(rd)
    return out


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures kept open by ``_figures_of`` are closed after each test (more than 20 open at once is a
    matplotlib warning, an error under the suite's filterwarnings)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _figures_of(monkeypatch, fn, rows):
    from lstm1997.report import figures as F

    made = []
    monkeypatch.setattr(F, "_png", made.append)        # keep the figure, not its PNG
    fn(rows)
    (fig,) = made
    return fig


def _overlapping_texts(fig):
    import itertools

    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.axison:
            continue
        texts = [t for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels(which="both")]
        texts += [ax.xaxis.label, ax.yaxis.label, ax.title, *ax.texts]
        boxes = [(t.get_text(), t.get_window_extent(r)) for t in texts if t.get_visible() and t.get_text()]
        bad += [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]
    return bad


@pytest.mark.parametrize("table", ["2", "4", "5", "7", "9"])
def test_report_figures_have_no_overlapping_labels(monkeypatch, table):
    """Tick labels, axis labels, titles and notes drawn in a figure never overlap (Tables 4 and 5's
    log axes labelled 3x10^4 and 4x10^4 on top of each other)."""
    from lstm1997.report import figures as F

    for fn in (F.learning_curves, F.sequence_distribution):
        assert _overlapping_texts(_figures_of(monkeypatch, fn, _fake_rows(table))) == [], fn.__name__


@pytest.mark.parametrize("table", ["2", "4", "5", "7", "9"])
def test_report_figures_have_no_empty_panels(monkeypatch, table):
    """A panel or lane with nothing of ours to draw says why, instead of staying blank."""
    from lstm1997.report import figures as F

    rows = _fake_rows(table)
    rows[-1].curves = [[] for _ in rows[-1].trials]          # a row whose trials stored no curve
    curves = _figures_of(monkeypatch, F.learning_curves, rows)
    for ax in curves.axes[:len(rows)]:          # every panel shows curves or says why not
        drawn = [line for line in ax.get_lines() if line.get_label() != "paper mean"]
        assert drawn or any("no learning curve" in t.get_text() for t in ax.texts), ax.get_title()
    assert _overlapping_texts(curves) == []
    rows[-1].trials = [{**f, "success": False} for f in rows[-1].trials]       # and none solved
    seqs = _figures_of(monkeypatch, F.sequence_distribution, rows)
    (ax,) = seqs.axes
    ours = np.concatenate([c.get_offsets() for c in ax.collections if c.get_label() != "paper: mean"]
                          or [np.zeros((0, 2))])
    for y, rd in enumerate(rows):               # every lane shows a trial of ours or says why not
        assert (np.abs(ours[:, 1] - y) < 0.5).any() or any(
            t.get_position()[1] == y and "none solved" in t.get_text() for t in ax.texts), rd.label
    assert _overlapping_texts(seqs) == []


def test_report_figures_of_one_trial_on_a_tick(monkeypatch):
    """One trial solved at exactly 5,000 sequences, no paper mean: an axis that still spans two ticks (no
    identical limits; warnings are errors here)."""
    from lstm1997.report import figures as F
    from lstm1997.report.collect import RowData

    rd = RowData("7", "T=100", {}, 10, cap=5000, version="x", trials=[{"success": True, "sequences": 5000}],
                 curves=[[(5000, 0.1, 0.01, 0)]])
    for fn in (F.learning_curves, F.sequence_distribution):
        lo, hi = _figures_of(monkeypatch, fn, [rd]).axes[0].get_xlim()
        assert lo <= 5000 <= hi and lo < hi
