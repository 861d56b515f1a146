"""The short list of tests/fuzz_cli.py: bad and odd invocations of every command must end in exit status 0
or 2 with a one-line error, never a traceback, and leave no partial output file (issue 11). The long list
runs by hand: python tests/fuzz_cli.py --long."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import fuzz_cli  # noqa: E402


def test_short_fuzz_list_finds_nothing(capsys):
    n, failures = fuzz_cli.fuzz(long=False)
    assert n >= 150
    assert not failures, "\n".join(f"lstm1997 {' '.join(a)} ({k}): {'; '.join(b)}" for a, k, b in failures)


def test_fuzz_list_covers_every_command():
    import io
    import contextlib

    from lstm1997 import cli

    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            cli.main(["--help"])
        except SystemExit:
            pass
    listed = {c for c in ("run", "reproduce", "list", "status", "report", "guess", "fit", "predict")
              if c in out.getvalue()}
    cases = fuzz_cli._short() + fuzz_cli._long()
    assert len(cases) >= 200
    firsts = {argv[0] for argv, _ in cases if argv}
    assert listed <= firsts
    kinds = {k for _, k in fuzz_cli._short()}
    assert {"erofs", "sigint"} <= kinds and any(k.startswith("fsize:") for k in kinds)
