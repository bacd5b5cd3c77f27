"""pytest's doctest run (``--doctest-modules``) imports every module under ``minigrad/``.

``minigrad/kernels/cupy_gpu.py`` imports CuPy at its top (it is loaded only when a CuPy array
is seen), so on a machine without CuPy it is left out of that collection; its behaviour is
tested by ``tests/kernels/test_cupy_gpu.py``, which skips with the reason.
"""
import importlib.util

collect_ignore = [] if importlib.util.find_spec("cupy") else ["minigrad/kernels/cupy_gpu.py"]
