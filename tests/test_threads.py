"""mg.set_num_threads governs BLAS and Numba together."""
import numba
import pytest
from threadpoolctl import threadpool_info

import minigrad as mg


@pytest.fixture
def restore_threads():
    before = mg.get_num_threads()
    yield
    mg.set_num_threads(before)


def test_one_setting_limits_blas_and_numba(restore_threads):
    mg.set_num_threads(1)
    assert mg.get_num_threads() == 1
    assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert numba.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="positive int"):
        mg.set_num_threads(bad)
