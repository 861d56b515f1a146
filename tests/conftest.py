import os
import zlib

import numpy as np
import pytest

#: Fixed default seed for random tests; override with LSTM1997_TEST_SEED, printed on failure.
SEED = int(os.environ.get("LSTM1997_TEST_SEED", "20261123"))


@pytest.fixture
def rng(request):
    # crc32, not hash(): str hashes are salted per process, which would change the data run to run
    return np.random.default_rng([SEED, zlib.crc32(request.node.name.encode())])


def pytest_report_header(config):
    return f"lstm1997 test seed: {SEED} (set LSTM1997_TEST_SEED to change)"


@pytest.fixture(autouse=True)
def _results_store_in_tmp(tmp_path, monkeypatch):
    """Commands run by tests write their results store into the test's own folder, never the repo."""
    monkeypatch.setenv("LSTM1997_DB", str(tmp_path / "results.sqlite"))
