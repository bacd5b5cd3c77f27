"""One setting for the CPU threads: ``mg.set_num_threads(n)`` governs BLAS (the matmuls) and
Numba (the parallel kernels) together, so the two never ask for more threads than you allow.

>>> import minigrad as mg
>>> before = mg.get_num_threads()
>>> mg.set_num_threads(1); mg.get_num_threads()
1
>>> mg.set_num_threads(before)
"""
import os

__all__ = ["set_num_threads", "get_num_threads"]

_state = {"threads": None}


def get_num_threads():
    """The thread count set by ``set_num_threads``, or the machine's core count."""
    return _state["threads"] or os.cpu_count() or 1


def set_num_threads(n):
    """Use at most ``n`` threads in BLAS and in Numba's parallel loops."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=n, user_api="blas")
    try:
        import numba
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    _state["threads"] = n
