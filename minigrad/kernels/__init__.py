"""One switch for the array math of the heavy ops: which kernel set computes them.

    mg.kernels.use("numba")            # from now on
    with mg.kernels.use("numpy"):      # inside the block only
        ...
    MINIGRAD_KERNELS=numpy python ...  # the environment variable sets the starting mode

Modes:
    "numpy"  the reference kernels (``reference.py``): plain NumPy, the readable spec
    "numba"  the compiled CPU kernels (``numba_cpu.py``) wherever one exists
    "auto"   (the default) per op and size, whichever is faster on a CPU: NumPy for small
             arrays (calling compiled code has a fixed cost), Numba from ``CROSSOVER[op]``
             elements on (measured by ``python -m benchmarks.kernels``)
Arrays on the GPU always use the CuPy kernels (``cupy_gpu.py``) where one exists, and the
reference (which runs on CuPy arrays too) otherwise.

Every kernel of every set computes the same function as its reference; the tests hold each to
it. A kernel is called as ``kernels.softmax_forward(x)``: the names, signatures and formulas are
those of ``reference.py``.
"""
import contextlib
import importlib
import os
import types

import numpy as np

from minigrad.kernels import reference

__all__ = ["use", "mode", "available", "implementation", "kernel_set", "CROSSOVER",
           *reference.__all__]

MODES = ("numpy", "numba", "auto")

# Elements of the first input from which "auto" prefers Numba (below: NumPy).
# Measured by ``python -m benchmarks.crossover`` (2026-11-29, this 2-core machine, float32, 1 thread;
# the 2-thread sweep was disturbed by other processes sharing the cores).
CROSSOVER = {"softmax_forward": 64, "softmax_backward": 128, "log_softmax_forward": 64,
             "log_softmax_backward": 8192, "cross_entropy_forward": 64,
             "cross_entropy_backward": 64, "layer_norm_forward": 64, "layer_norm_backward": 64,
             "gelu_forward": 64, "gelu_backward": 64,
             # measured by hand (not in the sweep), same day, 1 thread, in µs reference / Numba:
             # embedding_backward 256 el. 10.0 / 10.4, 4096 el. 288 / 8; adam_update, 1 el.
             # 47 / 13, 64 el. 19 / 13, 128 el. 10.2 / 6.6 (Numba wins at every size)
             "embedding_backward": 512, "adam_update": 1,
             # attention: Numba wins at every size (causal, D 8-16, µs reference / Numba,
             # forward and backward: 8 el. 76 / 14 and 46 / 19; 1024 el. 99 / 41 and 122 / 60),
             # but below 4096 elements the gain is tens of µs a call, while the first call
             # compiles the kernel (~20 s with a cold cache): with the crossover at 1, lesson
             # 06's 4-token example took 27.6 s on a fresh install instead of 5.8 s
             "attention_forward": 4096, "attention_backward": 4096}
DEFAULT_CROSSOVER = 4096

# The Numba kernels live in numba_cpu.py, except these, which have a file of their own.
NUMBA_FILE = {"attention_forward": "numba_attention", "attention_backward": "numba_attention"}

_state = {"mode": None}
_modules = {}


def _check(mode):
    if mode not in MODES:
        raise ValueError(f"kernels.use: mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def mode():
    """The current mode: 'numpy', 'numba' or 'auto'."""
    if _state["mode"] is None:
        _state["mode"] = _check(os.environ.get("MINIGRAD_KERNELS", "auto"))
    return _state["mode"]


class use(contextlib.AbstractContextManager):
    """Switch kernel sets: ``use("numba")`` now, or ``with use("numpy"):`` for a block."""

    def __init__(self, new_mode):
        self.previous = mode()
        _state["mode"] = _check(new_mode)

    def __exit__(self, *exc):
        _state["mode"] = self.previous


def _module(name):
    """The kernel module ``name`` ('numba_cpu' or 'cupy_gpu'), or None if it cannot load here."""
    if name not in _modules:
        try:
            _modules[name] = importlib.import_module(f"minigrad.kernels.{name}")
        except ImportError:
            _modules[name] = None
    return _modules[name]


def _kernel(kernel_set_name, name):
    """Kernel ``name`` of the set 'numba' or 'cupy', or the reference's where the set has none."""
    owner = NUMBA_FILE.get(name, "numba_cpu") if kernel_set_name == "numba" else "cupy_gpu"
    return getattr(_module(owner), name, None) or getattr(reference, name)


def kernel_set(name):
    """One set's kernels as a namespace (``kernel_set("numba").softmax_forward``), with the
    reference standing in for any kernel the set lacks; None if the set cannot load here."""
    if name == "numpy":
        return reference
    files = ("numba_cpu", *NUMBA_FILE.values()) if name == "numba" else ("cupy_gpu",)
    if any(_module(f) is None for f in files):
        return None
    return types.SimpleNamespace(**{k: _kernel(name, k) for k in reference.__all__})


def available():
    """The kernel sets that can run on this machine."""
    from minigrad.device import cuda
    sets = ["numpy"]
    if kernel_set("numba") is not None:
        sets.append("numba")
    if cuda.is_available():
        sets.append("cupy")
    return sets


def implementation(name, x):
    """The function that computes kernel ``name`` for input ``x`` under the current mode."""
    if not isinstance(x, np.ndarray):
        return _kernel("cupy", name)
    current = mode()
    if current == "numpy" or x.dtype not in (np.float32, np.float64):
        return getattr(reference, name)
    if current == "auto" and x.size < CROSSOVER.get(name, DEFAULT_CROSSOVER):
        return getattr(reference, name)
    return _kernel("numba", name)


def _dispatcher(name):
    def kernel(x, *args, **kwargs):
        first = x[0] if isinstance(x, list) else x       # a list kernel: by its first array
        return implementation(name, first)(x, *args, **kwargs)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = getattr(reference, name).__doc__
    return kernel


# kernels.softmax_forward(x), kernels.layer_norm_backward(...), ...: one dispatcher per kernel.
for _name in reference.__all__:
    globals()[_name] = _dispatcher(_name)
