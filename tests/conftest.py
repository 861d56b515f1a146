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
