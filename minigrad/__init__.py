"""minigrad: a small reverse-mode autograd engine on NumPy, written to be read.

    import minigrad as mg
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()          # y = Σ x²
    y.backward()               # dy/dx = 2x
    x.grad                     # array([2., 4., 6.], dtype=float32)

Layers, each importing only the ones above it in this list:
    errors, device, random       plain helpers
    tensor                       Tensor: data + grad + the op that made it
    autograd                     Function (how every op is defined), no_grad, backward()
    functions/                   every op, forward and backward side by side
    creation, gradcheck, viz     making tensors; checking and drawing gradients
    nn/, optim/, data            layers and losses; optimizers and schedules; batches
    serialization                mg.save / mg.load without pickle
"""
import os as _os
import sys as _sys

from minigrad import random as _random
from minigrad.autograd import (Context, Function, detect_anomaly, enable_grad, is_grad_enabled,
                               no_grad, set_grad_enabled)
from minigrad.creation import (arange, empty, eye, full, full_like, linspace, ones, ones_like,
                               rand, randint, randn, randn_like, randperm, tensor, zeros,
                               zeros_like)
from minigrad.device import cuda
from minigrad.errors import (AnomalyError, BackwardError, CheckpointError, DeviceError,
                             DTypeError, GradcheckError, MinigradError, ShapeError,
                             StateDictError)
from minigrad.functions import (abs, add, cat, chunk, clamp, div, exp, expand, flatten, log,
                                log_softmax, logsumexp, masked_fill, matmul, max, mean, min, mul,
                                neg, permute, pow, relu, reshape, sigmoid, softmax, split, sqrt,
                                squeeze, stack, sub, sum, tanh, transpose, unsqueeze, var, view,
                                where)
from minigrad.gradcheck import find_bad_backward, gradcheck
from minigrad.tensor import Tensor, _add_methods, bool_, float32, float64, int64
from minigrad.threads import get_num_threads, set_num_threads

_add_methods()
manual_seed = _random.manual_seed

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "float32", "float64", "int64", "bool_",
    "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "randn", "rand", "randint",
    "randperm", "zeros_like", "ones_like", "full_like", "randn_like", "manual_seed",
    "Function", "Context", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "detect_anomaly", "gradcheck", "find_bad_backward", "cuda", "set_num_threads", "get_num_threads",
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
    "relu", "clamp", "where", "masked_fill", "matmul", "sum", "mean", "max", "min", "var",
    "logsumexp", "softmax", "log_softmax", "reshape", "view", "transpose", "permute",
    "unsqueeze", "squeeze", "flatten", "expand", "cat", "stack", "split", "chunk",
    "MinigradError", "ShapeError", "DTypeError", "DeviceError", "BackwardError",
    "GradcheckError", "AnomalyError", "CheckpointError", "StateDictError",
]


# glibc's malloc hands every block over 128 KiB (then a size it adapts) to the OS with mmap and
# unmaps it on free, and returns freed heap space above 128 KiB to the OS; the next array of
# that size then starts as fresh pages, and its first write costs a page fault per 4 KiB.
# Training allocates and frees the same large arrays every step: in the GPT-mini benchmark that
# was ~8,000 page faults per step, and keeping the memory made the step 10-17% faster. So on
# glibc Linux, minigrad has malloc keep blocks up to 32 MiB (glibc's largest allowed mmap
# threshold) in the heap and hold up to 1 GiB of freed memory before it trims (for the whole
# process: every library in it allocates through the same malloc). The process then keeps the
# memory of its largest step until it exits (as PyTorch's caching allocators do), not more.
# MINIGRAD_TUNE_MALLOC=0 leaves malloc alone, and so do glibc's own MALLOC_MMAP_THRESHOLD_ /
# MALLOC_TRIM_THRESHOLD_ variables when you set them.
MALLOC_SETTINGS = {"M_MMAP_THRESHOLD": 32 * 2**20, "M_TRIM_THRESHOLD": 2**30}


def _tune_malloc():
    """Apply ``MALLOC_SETTINGS`` with glibc's ``mallopt``; True if it was applied."""
    if (_os.environ.get("MINIGRAD_TUNE_MALLOC", "1") == "0" or not _sys.platform.startswith("linux")
            or "MALLOC_MMAP_THRESHOLD_" in _os.environ or "MALLOC_TRIM_THRESHOLD_" in _os.environ):
        return False
    import ctypes
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version"):           # musl and others: no mallopt tuning
        return False
    codes = {"M_TRIM_THRESHOLD": -1, "M_MMAP_THRESHOLD": -3}    # from glibc's malloc.h
    return all(libc.mallopt(codes[name], value) == 1 for name, value in MALLOC_SETTINGS.items())


MALLOC_TUNED = _tune_malloc()


def __getattr__(name):
    """Subpackages load on first use: ``mg.nn``, ``mg.optim``, ``mg.viz``, ... ."""
    import importlib
    if name in ("nn", "optim", "viz", "data", "serialization", "registry", "kernels"):
        return importlib.import_module(f"minigrad.{name}")
    if name in ("save", "load"):
        return getattr(importlib.import_module("minigrad.serialization"), name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
