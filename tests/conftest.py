"""Shared fixtures: one seeded random generator per test, so failures reproduce exactly."""
import zlib

import numpy as np
import pytest

import minigrad as mg


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's id (and minigrad's generator seeded the same)."""
    seed = zlib.crc32(request.node.nodeid.encode())
    mg.manual_seed(seed)
    return np.random.default_rng(seed)
