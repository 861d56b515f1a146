"""`lstm1997 report` from a real results store (written by `lstm1997 reproduce`), opened in headless
Chromium: it loads without console errors and every figure is there and decodes."""

import os
import pathlib
import shutil
import subprocess
import sys

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
