"""Fuzz the ``lstm1997`` command with bad and odd invocations (issue 11: every user mistake a clear error,
nothing silently wrong).

    python tests/fuzz_cli.py            # the short list (also run by tests/test_fuzz_cli.py)
    python tests/fuzz_cli.py --long     # every invocation, by hand (a few minutes on 2 cores)
    python tests/fuzz_cli.py --long -v  # ... printing each one

An invocation fails when it ends in a Python traceback (an exception escaping ``cli.main``, or
"Traceback" on stderr), with an exit status other than 0 or 2 (130 where a signal is sent on purpose), or
when it leaves a partial output behind: a 0-byte file, a temporary file (``*.tmp``, ``*.probe``,
``.lstm1997-report-*``) or an input file changed (a FIFO, a folder, a text file or a data file given as
an output must stay exactly as they were).

Invocations run in this process through ``cli.main(argv)`` (fast: imports and compiled kernels are
shared); only those that need a process of their own run as subprocesses: a file-size limit (standing
for a full disk), a signal, the installed command itself. Everything is written in a temporary folder;
nothing is written to a device (devices are only ever named as outputs the command must refuse, and
tests use FIFOs and folders).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import traceback

import numpy as np

HUGE = "1000000"
ABSURD = "100000000"


def _fixtures(w: str) -> None:
    """Input files of every kind in folder ``w``."""
    from lstm1997 import Batch, cli
    from lstm1997.io import save_data
    from lstm1997.runner import Store

    rng = np.random.default_rng(20261123)
    xs = [rng.uniform(-1, 1, (int(rng.integers(4, 9)), 2)) for _ in range(12)]
    ds = []
    for x in xs:
        d = np.full((len(x), 1), np.nan)
        d[-1] = float(x[0, 0] > 0)
        ds.append(d)
    save_data(os.path.join(w, "data.npz"), Batch.from_sequences(xs, ds))
    save_data(os.path.join(w, "data3.npz"), Batch.from_sequences([np.zeros((3, 3))] * 2, [np.full((3, 1), 0.5)] * 2))
    save_data(os.path.join(w, "big.npz"), Batch.from_sequences(xs, [d * 10 - 3 for d in ds]))
    save_data(os.path.join(w, "nan.npz"), Batch.from_sequences(xs, [np.full_like(d, np.nan) for d in ds]))
    with open(os.path.join(w, "inputs-only.npz"), "wb") as f:
        np.savez(f, inputs=np.zeros((5, 2)), lengths=np.array([5]))
    with open(os.path.join(w, "pickled.npz"), "wb") as f:
        np.savez(f, inputs=np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = cli.main(["fit", os.path.join(w, "data.npz"), "--blocks", "1", "--cells", "1", "--epochs", "1",
                       "--out", os.path.join(w, "model.npz")])
    assert rc == 0, "fixture model"
    open(os.path.join(w, "empty"), "wb").close()
    with open(os.path.join(w, "text"), "w") as f:
        f.write("my notes\n")
    with open(os.path.join(w, "replace-me.json"), "w") as f:
        f.write("{}\n")
    os.mkfifo(os.path.join(w, "fifo"))
    os.mkdir(os.path.join(w, "dir"))
    os.mkdir(os.path.join(w, "out"))
    os.mkdir(os.path.join(w, "ro"))
    with Store(os.path.join(w, "store.sqlite")):
        pass
    os.link(os.path.join(w, "model.npz"), os.path.join(w, "hard-model.npz"))
    os.symlink("model.npz", os.path.join(w, "link-model.npz"))
    os.symlink("data.npz", os.path.join(w, "link-data.npz"))
    os.mkdir(os.path.join(w, "rep-store"))
    os.mkdir(os.path.join(w, "rep-store", "figures"))
    for name in ("report.md", "report.html", os.path.join("figures", "s.sqlite")):
        with Store(os.path.join(w, "rep-store", name)):
            pass
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = cli.main(["reproduce", "9", "--trials", "2", "--max-sequences", "300", "--jobs", "1",
                       "--db", os.path.join(w, "trials.sqlite")])
    assert rc == 0, "fixture store with finished trials"
    from fuzz_crafted import crafted_data_files
    from fuzz_store import damaged_stores

    crafted_data_files(w)          # crafted-*.npz: lengths that wrap, uint64, ... (issue 19)
    damaged_stores(w)              # damaged-*.sqlite: results, args, tags, checkpoints damaged (issue 19)
    damaged_stores(w, "rdamaged-")   # the same, for report (reproduce repairs the first set)
    for sfx in ("-wal", "-shm"):
        p = os.path.join(w, "store.sqlite" + sfx)
        if os.path.exists(p):
            os.unlink(p)


# ---- the invocations ---------------------------------------------------------------------------
# (argv, kind): kind "" runs in-process; "erofs" in-process with a read-only file system under W/ro;
# "fsize:N" in a subprocess with a file-size limit of N bytes; "sigint"/"sigterm" a subprocess signalled
# after its first progress line; "exe" the installed command in a subprocess.

def _short() -> list:
    D, M, O = "{W}/data.npz", "{W}/model.npz", "{W}/out"
    tiny = ["--max-sequences", "10"]
    c = []
    # -- argparse level, every command
    for cmd in ("run", "reproduce", "list", "status", "report", "guess", "fit", "predict", "readings", "sensitivity"):
        c += [[cmd, "--help"], [cmd, "--no-such-option"]]
    c += [[], ["--version"], ["nosuch"], ["--help"]]
    # -- run: bad values
    c += [["run"], ["run", "nosuch"], ["run", "adding", "--T", "15"], ["run", "adding", "--T", "-10"],
          ["run", "adding", "--T", "0"], ["run", "adding", "--T", "abc"], ["run", "adding", "--lr", "-1"],
          ["run", "adding", "--lr", "nan"], ["run", "adding", "--lr", "inf"], ["run", "adding", "--lr", "0"],
          ["run", "adding", "--max-sequences", "0"], ["run", "adding", "--max-sequences", "-5"],
          ["run", "adding", "--q", "5"], ["run", "2c", "--p", "0"], ["run", "1", "--blocks", "0"],
          ["run", "1", "--cells", "-1"], ["run", "adding", "--method", "RTRL"], ["run", "2c", "--method", "BPTT"],
          ["run", "3a", "--N", "0"], ["run", "3a", "--N", "200", "--T", "100"], ["run", "adding", "--seed", "-1"],
          ["run", "6a", "--T", "0"], ["run", "", *tiny]]
    # -- readings and the sensitivity study
    c += [["readings"], ["readings", "2c", "--json"], ["readings", "nosuch"], ["readings", ""],
          ["run", "adding", "--reading", "nosuch", *tiny], ["run", "adding", "--reading", "2c-small-init", *tiny],
          ["run", "adding", "--reading", "delta-linear", "--reading", "delta-flat-spot", *tiny],
          ["run", "2a", "--method", "RTRL", "--p", "4", "--reading", "delta-linear", *tiny],
          ["run", "2a", "--p", "10", "--reading", "2a-cell-from-start", "--reading", "2a-cell-installed-zero", *tiny],
          ["reproduce", "7", "--rows", "1", "--reading", "2c-small-init", "--trials", "1", *tiny],
          ["sensitivity", "all"], ["sensitivity", "3", "--readings", ","], ["sensitivity", "3", "--readings", "nosuch"],
          ["sensitivity", "1", "--rows", "1"], ["sensitivity", "3", "--trials", "0"], ["sensitivity", "x"],
          ["sensitivity", "3", "--rows", "1", "--trials", "1", *tiny, "--jobs", "1", "--db", "{W}/sens.sqlite",
           "--readings", "spec,2c-small-init", "--json", O + "/s.json"],
          ["sensitivity", "3", "--rows", "1", "--trials", "1", *tiny, "--jobs", "1", "--db", "{W}/empty"],
          ["sensitivity", "3", "--rows", "1", "--trials", "1", *tiny, "--jobs", "1", "--json", "{W}"],
          ["readings", "--verdicts"], ["readings", "--verdicts", "--json"], ["readings", "2c", "--verdicts"],
          ["reproduce", "3", "--rows", "1", "--best", "--trials", "1", *tiny, "--jobs", "1"],
          ["reproduce", "3", "--best", "--reading", "2c-small-init"],
          ["reproduce", "all", "--best", "--rows", "1"]]
    # -- run: absurd sizes (refused before allocating)
    c += [["run", "1", "--cells", HUGE], ["run", "1", "--blocks", HUGE], ["run", "adding", "--T", ABSURD, *tiny],
          ["run", "2a", "--p", HUGE, *tiny], ["run", "2a", "--method", "RTRL", "--p", "100000", *tiny],
          ["run", "2c", "--q", ABSURD, "--p", "10", *tiny], ["run", "3a", "--T", ABSURD, *tiny],
          ["run", "6a", "--T", ABSURD, *tiny], ["run", "multiplication", "--T", ABSURD, *tiny]]
    # -- run: outputs
    c += [["run", "adding", "--T", "20", *tiny, "--json", "{W}/fifo"],
          ["run", "adding", "--T", "20", *tiny, "--json", "{W}/dir"],
          ["run", "adding", "--T", "20", *tiny, "--json", "{W}/no/such/r.json"],
          ["run", "adding", "--T", "20", *tiny, "--json", ""],
          ["run", "adding", "--T", "20", *tiny, "--json", "/dev/null"],
          ["run", "adding", "--T", "20", *tiny, "--json", "/dev/full"],
          ["run", "adding", "--T", "20", *tiny, "--json", "{W}/ro/r.json"],
          ["run", "adding", "--T", "20", *tiny, "--json", O + "/r.json"]]
    # -- list
    c += [["list"], ["list", "--json"], ["list", "extra"]]
    # -- status / reproduce --db
    for db in ("{W}/empty", "{W}/text", "{W}/fifo", "{W}/dir", "{W}/model.npz", "{W}/no/such.sqlite", "",
               "/dev/null"):
        c += [["status", "--db", db], ["reproduce", "9", "--budget", "quick", "--db", db]]
    c += [["status", "--db", "{W}/store.sqlite"], ["status"]]
    # -- reproduce: bad values (all refused before any trial)
    c += [["reproduce"], ["reproduce", "12"], ["reproduce", "7", "--rows", "T=7"], ["reproduce", "7", "--trials", "0"],
          ["reproduce", "7", "--jobs", "0"], ["reproduce", "7", "--jobs", "-3"], ["reproduce", "7", "--checkpoint-every", "0"],
          ["reproduce", "7", "--lanes", "0"], ["reproduce", "7", "--lanes", "-3"], ["sensitivity", "7", "--lanes", "0"],
          ["reproduce", "7", "--checkpoint-every", "nan"], ["reproduce", "7", "--checkpoint-sequences", "0"],
          ["reproduce", "7", "--max-sequences", "0"], ["reproduce", "all", "--rows", "1"],
          ["reproduce", "all", "--json", O + "/a.json"], ["reproduce", "7", "--budget", "slow"],
          ["reproduce", "7", "--scheduler-timeout", "-1"], ["reproduce", "7", "--scheduler-timeout", "inf"],
          ["reproduce", "9", "--json", "{W}/fifo"], ["reproduce", "9", "--json", "{W}/dir"],
          ["reproduce", "9", "--json", "{W}/no/such.json"], ["reproduce", "9", "--json", "{W}/store.sqlite",
                                                             "--db", "{W}/store.sqlite"]]
    # -- report
    c += [["report"], ["report", "--out", "{W}/text"], ["report", "--out", "{W}/fifo"], ["report", "--out", "/dev/null"],
          ["report", "--out", ""], ["report", "--db", "{W}/empty", "--out", O + "/rep"],
          ["report", "--db", "{W}/text", "--out", O + "/rep"], ["report", "--db", "{W}/no.sqlite", "--out", O + "/rep"],
          ["report", "--db", "{W}/store.sqlite", "--out", "{W}/no/such/rep"],
          ["report", "--db", "{W}/store.sqlite", "--out", "{W}/ro/rep"]]
    # -- guess
    c += [["guess"], ["guess", "4"], ["guess", "3a", "--noise", "0.1"], ["guess", "3b", "--noise", "0.1"],
          ["guess", "parity", "--T", "50"], ["guess", "parity", "--N", "2"], ["guess", "parity", "--noise", "-1"],
          ["guess", "parity", "--noise", "1.5"], ["guess", "parity", "--noise", "nan"], ["guess", "3a", "--trials", "0"],
          ["guess", "3a", "--T", "0"], ["guess", "3a", "--N", "0"], ["guess", "3a", "--N", "100"],
          ["guess", "3a", "--max-guesses", "0"], ["guess", "3a", "--seed", "-1"], ["guess", "3a", "--T", ABSURD],
          ["guess", "3b", "--T", ABSURD], ["guess", "3a", "--arch", "A3"],
          ["guess", "3a", "--T", "10", "--trials", "1", "--max-guesses", "3", "--json", "{W}/fifo"],
          ["guess", "3a", "--T", "10", "--trials", "1", "--max-guesses", "3", "--json", "{W}/dir"],
          ["guess", "3a", "--T", "10", "--trials", "1", "--max-guesses", "3", "--json", "{W}/no/g.json"],
          ["guess", "parity", "--trials", "1", "--max-guesses", "3", "--json", O + "/g.json"]]
    # -- fit
    fit = ["fit", D, "--blocks", "1", "--cells", "1", "--epochs", "1"]
    c += [["fit"], ["fit", D], ["fit", D, "--out", O + "/m.npz"], fit, fit + ["--out", ""],
          fit + ["--out", "{W}/fifo"], fit + ["--out", "{W}/dir"], fit + ["--out", "/dev/full"],
          fit + ["--out", "/dev/null"], fit + ["--out", D], fit + ["--out", "{W}/./data.npz"],
          fit + ["--out", "{W}/no/such/m.npz"], fit + ["--out", "{W}/ro/m.npz"],
          ["fit", D, "--blocks", "1", "--cells", HUGE, "--out", O + "/m.npz"],
          ["fit", D, "--blocks", HUGE, "--cells", "1", "--out", O + "/m.npz"],
          ["fit", D, "--blocks", "0", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", D, "--blocks", "1", "--cells", "-2", "--out", O + "/m.npz"],
          ["fit", D, "--blocks", "1", "--cells", "1", "--lr", "0", "--out", O + "/m.npz"],
          ["fit", D, "--blocks", "1", "--cells", "1", "--lr", "nan", "--out", O + "/m.npz"],
          ["fit", D, "--blocks", "1", "--cells", "1", "--epochs", "0", "--out", O + "/m.npz"],
          ["fit", D, "--blocks", "1", "--cells", "1", "--seed", "-1", "--out", O + "/m.npz"],
          ["fit", "{W}/big.npz", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/nan.npz", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/inputs-only.npz", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/pickled.npz", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/empty", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/text", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/dir", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", "{W}/missing.npz", "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", M, "--blocks", "1", "--cells", "1", "--out", O + "/m.npz"],
          ["fit", D, "--init", M, "--blocks", "3", "--out", O + "/m.npz"],
          ["fit", D, "--init", M, "--cells", "2", "--out", O + "/m.npz"],
          ["fit", D, "--init", D, "--out", O + "/m.npz"], ["fit", D, "--init", "{W}/text", "--out", O + "/m.npz"],
          ["fit", "{W}/data3.npz", "--init", M, "--out", O + "/m.npz"],
          ["fit", D, "--init", M, "--epochs", "1", "--out", O + "/m.npz"]]
    # -- predict
    c += [["predict"], ["predict", M], ["predict", M, D], ["predict", M, D, "--out", ""],
          ["predict", M, D, "--out", M], ["predict", M, D, "--out", D], ["predict", M, D, "--out", "{W}/fifo"],
          ["predict", M, D, "--out", "{W}/dir"], ["predict", M, D, "--out", "/dev/null"],
          ["predict", M, D, "--out", "{W}/no/o.npz"], ["predict", M, D, "--out", "{W}/ro/o.npz"],
          ["predict", D, D, "--out", O + "/o.npz"], ["predict", "{W}/text", D, "--out", O + "/o.npz"],
          ["predict", "{W}/empty", D, "--out", O + "/o.npz"], ["predict", M, "{W}/data3.npz", "--out", O + "/o.npz"],
          ["predict", M, "{W}/text", "--out", O + "/o.npz"], ["predict", M, "{W}/fifo", "--out", O + "/o.npz"],
          ["predict", M, "{W}/inputs-only.npz", "--out", O + "/o.npz"], ["predict", M, D, "--out", O + "/o.npz"]]
    # -- no output replaces an input or another output (one check for every command; issue 19)
    new = ["--rows", "1", "--trials", "1", *tiny, "--jobs", "1"]
    c += [["reproduce", "9", *new, "--db", O + "/x.json", "--json", O + "/x.json"],
          ["sensitivity", "9", *new, "--readings", "spec", "--db", O + "/x.json", "--json", O + "/x.json"],
          ["reproduce", "9", *new, "--db", O + "/x.sqlite", "--json", O + "/x.sqlite-wal"],
          ["reproduce", "9", *new, "--db", O + "/x.sqlite", "--json", O + "/sub/../x.sqlite"],
          ["reproduce", "9", *new, "--db", "{W}/store.sqlite", "--json", "{W}/store.sqlite-shm"],
          ["fit", D, "--init", M, "--epochs", "1", "--out", M], ["fit", D, "--init", M, "--epochs", "1", "--out",
                                                                 "{W}/hard-model.npz"],
          ["fit", D, "--init", M, "--epochs", "1", "--out", "{W}/link-model.npz"],
          ["fit", D, "--init", "{W}/link-model.npz", "--epochs", "1", "--out", "{W}/out/../model.npz"],
          fit + ["--out", "{W}/link-data.npz"], ["predict", M, D, "--out", "{W}/hard-model.npz"],
          ["predict", M, D, "--out", "{W}/link-data.npz"], ["predict", "{W}/link-model.npz", D, "--out", M],
          ["report", "--db", "{W}/rep-store/report.md", "--out", "{W}/rep-store"],
          ["report", "--db", "{W}/rep-store/report.html", "--out", "{W}/rep-store/"],
          ["report", "--db", "{W}/rep-store/figures/s.sqlite", "--out", "{W}/rep-store"]]
    # -- crafted data files (lengths that wrap past 2**63, uint64, ...): refused, never a crash (issue 19)
    from fuzz_crafted import crafted
    from fuzz_store import DAMAGES

    for name in crafted():
        c += [["fit", "{W}/" + name, "--blocks", "1", "--cells", "1", "--epochs", "1", "--out", O + "/m.npz"],
              ["predict", M, "{W}/" + name, "--out", O + "/o.npz"]]
    # -- damaged stores: status names the damage; reproduce runs the damaged trials again (issue 19)
    for name in DAMAGES:
        c += [["status", "--db", f"{{W}}/damaged-{name}.sqlite"]]
    for name in DAMAGES:
        c += [["reproduce", "9", "--rows", "1", "--trials", "2", "--max-sequences", "200", "--jobs", "1", "--db",
               f"{{W}}/damaged-{name}.sqlite"]]
    # -- absurd sizes and empty selections are refused up front (issue 19)
    c += [["sensitivity", "9", "--trials", "1000000000000"], ["reproduce", "9", "--trials", "1000000000000"],
          ["guess", "3a", "--trials", "1000000000000"], ["fit", D, "--blocks", "1", "--cells", "1", "--epochs",
                                                        "100000000000", "--out", O + "/m.npz"],
          ["reproduce", "9", "--jobs", "100000"], ["reproduce", "9", "--lanes", "100000"],
          ["reproduce", "7", "--rows", ""], ["reproduce", "7", "--rows", ",,"], ["sensitivity", "9", "--rows", ""],
          ["sensitivity", "9", "--readings", "+"], ["sensitivity", "9", "--readings", "spec,+"],
          ["sensitivity", "9", "--readings", "a++b"], ["run", "adding", "--blocks", "3", *tiny],
          ["run", "6a", "--blocks", "7", *tiny], ["run", "2a", "--T", "50", *tiny], ["run", "3b", "--p", "3", *tiny]]
    # -- read-only file system for each writer (simulated: os.open/os.replace raise EROFS under W/ro)
    c += [(["run", "adding", "--T", "20", *tiny, "--json", "{W}/ro/r.json"], "erofs"),
          (fit + ["--out", "{W}/ro/m.npz"], "erofs"), (["predict", M, D, "--out", "{W}/ro/o.npz"], "erofs"),
          (["report", "--db", "{W}/store.sqlite", "--out", "{W}/ro/rep"], "erofs"),
          (["guess", "parity", "--trials", "1", "--max-guesses", "2", "--json", "{W}/ro/g.json"], "erofs")]
    # -- a full disk (a file-size limit) for each writer; a signal to run
    c += [(fit + ["--out", O + "/m.npz"], "fsize:300"), (["predict", M, D, "--out", O + "/o.npz"], "fsize:300"),
          (["run", "adding", "--T", "20", *tiny, "--json", O + "/r.json"], "fsize:300"),
          (["report", "--db", "{W}/store.sqlite", "--out", O + "/rep"], "fsize:40000"),
          (["run", "adding", "--T", "100", "--json", O + "/r.json"], "sigint")]
    # -- a signal to every long command: exit 130, a line, no partial or temporary file (issue 19)
    c += [(["fit", D, "--blocks", "1", "--cells", "1", "--epochs", "1000000", "--out", O + "/m.npz"], "sigterm"),
          (["fit", D, "--blocks", "1", "--cells", "1", "--epochs", "1000000", "--out", O + "/m.npz"], "sigint-ignored"),
          (["guess", "3a", "--trials", "10000", "--json", O + "/g.json"], "sigterm"),
          (["guess", "3a", "--trials", "10000", "--json", O + "/g.json"], "sigint-ignored"),
          (["report", "--db", "{W}/trials.sqlite", "--out", O + "/rep"], "sigterm"),
          (["reproduce", "9", "--rows", "1", "--trials", "2", "--jobs", "1", "--db", O + "/r.sqlite"], "sigterm")]
    return [x if isinstance(x, tuple) else (x, "") for x in c]


def _long() -> list:
    """More of the same: every experiment with odd values, more signals and limits, the real command."""
    tiny = ["--max-sequences", "10"]
    O = "{W}/out"
    c = []
    for exp in ("1", "reber", "2a", "2b", "2c", "3a", "3b", "3c", "4", "adding", "5", "multiplication", "6a", "6b"):
        c += [["run", exp, *tiny], ["run", exp, "--T", "-1", *tiny], ["run", exp, "--p", "-1", *tiny],
              ["run", exp, "--lr", "-0.5", *tiny], ["run", exp, "--T", ABSURD, *tiny],
              ["run", exp, "--blocks", HUGE, "--cells", HUGE, *tiny]]
    for table in ("1", "2", "2b", "3", "4", "5", "6", "7", "8", "9", "10", "0", "x", ""):
        c += [["reproduce", table, "--trials", "0"], ["reproduce", table, "--rows", "nosuch"]]
    c += [["reproduce", "9", "--budget", "quick", "--jobs", "1", "--max-sequences", "20", "--json", O + "/t.json"],
          ["reproduce", "2b", "--budget", "quick", "--jobs", "1", "--max-sequences", "20"],
          ["run", "adding", "--T", "20", *tiny, "--json", "{W}/replace-me.json"],   # a regular file may be replaced
          ["guess", "3b", "--T", "20", "--trials", "2", "--max-guesses", "5"],
          ["guess", "parity", "--arch", "A2", "--noise", "0.2", "--trials", "1", "--max-guesses", "5"],
          ["report", "--db", "{W}/store.sqlite", "--out", O + "/rep"]]
    c += [(x, "exe") for x in (["run", "nosuch"], ["fit", "{W}/big.npz", "--blocks", "1", "--cells", "1", "--out",
                                                   O + "/m.npz"], ["status", "--db", "{W}/empty"], ["list"])]
    c += [(["run", "adding", "--T", "100", "--json", O + "/r.json"], "sigterm"),
          (["run", "6a", "--json", O + "/r.json"], "sigint"),
          (["guess", "3a", "--T", "10", "--trials", "1", "--max-guesses", "3", "--json", O + "/g.json"], "fsize:100"),
          (["reproduce", "9", "--budget", "quick", "--jobs", "1", "--max-sequences", "20", "--json", O + "/t.json"],
           "fsize:1000000")]
    D, M = "{W}/data.npz", "{W}/model.npz"
    from fuzz_store import DAMAGES

    c += [["report", "--db", f"{{W}}/rdamaged-{name}.sqlite", "--out", O + "/rep"] for name in DAMAGES]
    long_fit = ["fit", D, "--blocks", "1", "--cells", "1", "--epochs", "1000000", "--out", O + "/m.npz"]
    c += [(long_fit, "sigint"), (["guess", "3a", "--trials", "10000", "--json", O + "/g.json"], "sigint"),
          (["guess", "parity", "--trials", "10000"], "sigterm"),
          (["report", "--db", "{W}/trials.sqlite", "--out", O + "/rep"], "sigint"),
          (["report", "--db", "{W}/trials.sqlite", "--out", O + "/rep"], "sigint-ignored"),
          (["reproduce", "9", "--rows", "1", "--trials", "2", "--jobs", "1", "--db", O + "/r.sqlite"], "sigint-ignored"),
          (["sensitivity", "9", "--rows", "1", "--trials", "1", "--readings", "spec,error-x2", "--jobs", "1", "--db",
            O + "/s.sqlite"], "sigterm"),
          (["run", "adding", "--T", "100", "--json", O + "/r.json"], "sigint-ignored")]
    return [x if isinstance(x, tuple) else (x, "") for x in c]


# ---- running one ---------------------------------------------------------------------------------

_TEMPS = (".tmp", ".probe")


def _snapshot(w: str) -> dict:
    """Every path under ``w``: its kind, size and (for small regular files) content."""
    snap = {}
    for root, dirs, files in os.walk(w):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            content = None
            if stat.S_ISREG(st.st_mode) and st.st_size < 1 << 20 and not name.startswith("store.sqlite") \
                    and not name.startswith(("results.sqlite", "trials.sqlite", "damaged-", "rdamaged-", "fuzz-store-base")):
                with open(p, "rb") as f:
                    content = f.read()
            snap[os.path.relpath(p, w)] = (stat.S_IFMT(st.st_mode), content)
    return snap


def _problems_in_files(w: str, before: dict) -> list[str]:
    after = _snapshot(w)
    bad = []
    for rel, (kind, content) in before.items():
        if rel not in after:
            bad.append(f"input {rel} disappeared")
        elif after[rel][0] != kind:
            bad.append(f"input {rel} changed kind")
        elif content is not None and after[rel][1] != content and not rel.startswith("out" + os.sep) \
                and rel != "replace-me.json":
            bad.append(f"input {rel} changed")
    for rel, (kind, content) in after.items():
        if rel in before:
            continue
        name = os.path.basename(rel)
        if name.endswith(_TEMPS) or name.startswith(".lstm1997-report-"):
            bad.append(f"temporary file left: {rel}")
        elif kind == stat.S_IFREG and content == b"" and not name.endswith(("-wal", "-shm")):
            bad.append(f"0-byte file left: {rel}")
    return bad


@contextlib.contextmanager
def _read_only(w: str):
    """os.open / os.replace / os.mkdir / open() for writing raise EROFS under ``w``/ro."""
    ro = os.path.join(w, "ro")
    real = {"open": os.open, "replace": os.replace, "mkdir": os.mkdir}

    def under(p) -> bool:
        return os.path.abspath(os.fspath(p)).startswith(ro)

    def _open(p, *a, **k):
        if under(p):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(p))
        return real["open"](p, *a, **k)

    def _replace(a, b, *x, **k):
        if under(b) or under(a):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(b))
        return real["replace"](a, b, *x, **k)

    def _mkdir(p, *a, **k):
        if under(p):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(p))
        return real["mkdir"](p, *a, **k)

    os.open, os.replace, os.mkdir = _open, _replace, _mkdir
    try:
        yield
    finally:
        os.open, os.replace, os.mkdir = real["open"], real["replace"], real["mkdir"]


_FSIZE = r"""
import resource, signal, sys
from lstm1997 import cli
cli._warm_kernels(cli._Progress())
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
sys.exit(cli.main(sys.argv[2:]))
"""


def _in_process(argv: list, kind: str, w: str) -> tuple[int | None, str, str]:
    from lstm1997 import cli

    out, err = io.StringIO(), io.StringIO()
    ctx = _read_only(w) if kind == "erofs" else contextlib.nullcontext()
    rc = None
    with ctx, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        except BaseException:                      # noqa: BLE001 - that is what we look for
            err.write(traceback.format_exc())
    return rc, out.getvalue(), err.getvalue()


def _exe() -> list:
    exe = os.path.join(os.path.dirname(sys.executable), "lstm1997")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "lstm1997"]


#: the first line on stderr that says a command is at work (a signal is sent after it)
_MARKERS = {"fit": "epoch ", "guess": "trial ", "report": "report: ", "run": "sequences",
            "reproduce": "running ", "sensitivity": "running "}


def _subprocess(argv: list, kind: str, w: str) -> tuple[int | None, str, str]:
    env = dict(os.environ)
    if kind.startswith("fsize:"):
        p = subprocess.run([sys.executable, "-c", _FSIZE, kind.split(":")[1], *argv], capture_output=True,
                           text=True, timeout=600, cwd=w, env=env)
        return p.returncode, p.stdout, p.stderr
    if kind == "exe":
        p = subprocess.run(_exe() + argv, capture_output=True, text=True, timeout=600, cwd=w, env=env)
        return p.returncode, p.stdout, p.stderr
    sig = signal.SIGTERM if kind == "sigterm" else signal.SIGINT
    # "sigint-ignored": started with SIGINT ignored, as a shell starts a background job
    pre = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if kind == "sigint-ignored" else None
    p = subprocess.Popen(_exe() + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=w, env=env,
                         preexec_fn=pre)
    seen = []
    marker = _MARKERS.get(argv[0], "sequences")
    for line in p.stderr:                         # after the first progress line, never after a fixed sleep
        seen.append(line)
        if line.lstrip().startswith(marker):
            break
    p.send_signal(sig)
    out, err = p.communicate(timeout=600)
    return p.returncode, out, "".join(seen) + err


def run_one(argv_t: list, kind: str, w: str) -> list[str]:
    """Run one invocation; the problems found (empty: fine)."""
    argv = [a.replace("{W}", w) for a in argv_t]
    before = _snapshot(w)
    if kind in ("", "erofs"):
        rc, out, err = _in_process(argv, kind, w)
    else:
        rc, out, err = _subprocess(argv, kind, w)
    ok_rc = (130,) if kind in ("sigint", "sigterm", "sigint-ignored") else (0, 2)
    bad = []
    if "Traceback" in err or "Traceback" in out:
        bad.append("traceback:\n" + err[-3000:])
    if rc not in ok_rc:
        bad.append(f"exit status {rc}:\n{err[-2000:]}")
    if rc == 2 and "error" in err and not err.strip().splitlines()[-1].startswith(("lstm1997: error:", "usage:")) \
            and "lstm1997: error:" not in err and "lstm1997 " not in err:
        bad.append(f"no one-line error: {err[-500:]}")
    bad += _problems_in_files(w, before)
    # what a command wrote into out/ (and elsewhere) is cleared for the next one; inputs stay
    outdir = os.path.join(w, "out")
    for name in os.listdir(outdir):
        p = os.path.join(outdir, name)
        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
    for rel in set(_snapshot(w)) - set(before):
        p = os.path.join(w, rel)
        if os.path.lexists(p) and not rel.startswith("out"):
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
    return bad


def fuzz(long: bool = False, verbose: bool = False, stream=sys.stdout) -> tuple[int, list]:
    """Run the short (or the long) list; returns (invocations run, [(argv, kind, problems)])."""
    from lstm1997 import cli

    cases = _short() + (_long() if long else [])
    failures = []
    cwd = os.getcwd()
    old_db = os.environ.get("LSTM1997_DB")
    with tempfile.TemporaryDirectory(prefix="lstm1997-fuzz-") as w:
        try:
            os.chdir(w)
            os.environ["LSTM1997_DB"] = os.path.join(w, "results.sqlite")
            with contextlib.redirect_stderr(io.StringIO()):
                cli._warm_kernels(cli._Progress())
            _fixtures(w)
            for n, (argv, kind) in enumerate(cases):
                bad = run_one(argv, kind, w)
                if verbose or bad:
                    stream.write(f"[{n + 1}/{len(cases)}] {'FAIL' if bad else 'ok  '} {kind or 'in-process':<12} "
                                 f"lstm1997 {' '.join(argv)}\n")
                    for b in bad:
                        stream.write("    " + b.replace("\n", "\n    ") + "\n")
                    stream.flush()
                if bad:
                    failures.append((argv, kind, bad))
        finally:
            os.chdir(cwd)
            if old_db is None:
                os.environ.pop("LSTM1997_DB", None)
            else:
                os.environ["LSTM1997_DB"] = old_db
    return len(cases), failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--long", action="store_true", help="every invocation, not only the short list")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every invocation")
    a = ap.parse_args(argv)
    n, failures = fuzz(a.long, a.verbose)
    print(f"{n} invocations, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
