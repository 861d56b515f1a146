"""tests/fuzz_api.py: bad and odd calls of the estimator and the PyTorch module raise ValueError/TypeError
with one line, or succeed with finite outputs (issue 19, item 5)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import fuzz_api  # noqa: E402


def test_the_api_fuzz_list_finds_nothing():
    assert len(fuzz_api.cases()) >= 60
    problems = fuzz_api.run_all()
    assert not problems, "\n".join(problems)


def test_the_checker_itself_catches_the_failures_it_looks_for():
    assert fuzz_api.check(("boom", lambda: [][1])) is not None                  # IndexError
    assert fuzz_api.check(("nan", lambda: __import__("numpy").array([float("nan")]))) is not None
    assert fuzz_api.check(("ok", lambda: (_ for _ in ()).throw(ValueError("one line")))) is None
