"""Fixtures of the transformer tests."""
import pytest

import minigrad as mg


@pytest.fixture
def one_thread():
    """Run the test with one BLAS/Numba thread, then restore the previous count.

    The models in these tests are tiny: a second thread cannot speed them up, and when other
    processes share the cores, threads waiting for each other slowed a training step ~50×
    (0.8 s instead of 17 ms, measured on the 2-core dev machine under load).
    """
    before = mg.get_num_threads()
    mg.set_num_threads(1)
    yield
    mg.set_num_threads(before)
