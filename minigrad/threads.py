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

# Numba's parallel kernels run on OpenMP threads; by default they spin while they wait for work,
# and so do OpenBLAS's threads after a matmul: with both on the same cores, each runtime's
# spinning threads steal the cores the other needs. Measured on 2 cores (GPT-mini step, 2 BLAS
# + 2 Numba threads): 496 ms spinning, 231 ms with passive waiting (1 thread each: 298 ms).
# A default only: a value you set in the environment wins. It must be set before Numba starts
# its OpenMP runtime, which happens at the first parallel kernel call, after this import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
