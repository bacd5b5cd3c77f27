"""Making tensors: ``mg.tensor`` and the factories (zeros, ones, full, arange, randn, rand, ...).

Default dtypes follow PyTorch: Python floats give float32, Python ints give int64, and an
existing NumPy array or scalar keeps its dtype (a float64 array stays float64).

>>> import minigrad as mg
>>> mg.tensor([1.0, 2.0]).dtype, mg.tensor([1, 2]).dtype, mg.tensor(np.zeros(2)).dtype
(dtype('float32'), dtype('int64'), dtype('float64'))
"""
import numpy as np

from minigrad import random
from minigrad.device import to_device
from minigrad.errors import DTypeError
from minigrad.tensor import Tensor

__all__ = ["tensor", "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "randn",
           "rand", "randint", "randperm", "zeros_like", "ones_like", "full_like", "randn_like"]


def _default_dtype(array):
    if array.dtype == np.float64:
        return np.float32          # from Python floats
    if array.dtype.kind in "iu":
        return np.int64
    if array.dtype.kind in "fcb":
        return array.dtype
    raise DTypeError(f"tensor(): cannot make a tensor from data of dtype {array.dtype}")


def tensor(data, dtype=None, requires_grad=False, device="cpu"):
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, an array, a Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.generic):
        data = np.asarray(data)        # a NumPy scalar keeps its dtype, as in PyTorch
    if hasattr(data, "__cuda_array_interface__") or isinstance(data, np.ndarray):
        array = data.astype(dtype if dtype is not None else data.dtype, copy=True)
        if array.dtype.kind in "OUS":
            raise DTypeError(f"tensor(): cannot make a tensor from data of dtype {array.dtype}")
    else:
        array = np.array(data)
        array = array.astype(dtype if dtype is not None else _default_dtype(array))
    return Tensor(to_device(array, device), requires_grad=requires_grad)


def _size(size):
    """Accept zeros(2, 3) and zeros((2, 3)) alike."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _make(array, requires_grad, device):
    return Tensor(to_device(array, device), requires_grad=requires_grad)


def zeros(*size, dtype=np.float32, requires_grad=False, device="cpu"):
    return _make(np.zeros(_size(size), dtype=dtype), requires_grad, device)


def ones(*size, dtype=np.float32, requires_grad=False, device="cpu"):
    return _make(np.ones(_size(size), dtype=dtype), requires_grad, device)


def empty(*size, dtype=np.float32, requires_grad=False, device="cpu"):
    return _make(np.empty(_size(size), dtype=dtype), requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device="cpu"):
    if dtype is None:
        dtype = np.float32 if isinstance(fill_value, float) else _default_dtype(np.asarray(fill_value))
    return _make(np.full(size, fill_value, dtype=dtype), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device="cpu"):
    """[start, end) in steps; int64 for integer arguments, float32 otherwise."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else np.float32
    return _make(np.arange(start, end, step, dtype=dtype), requires_grad, device)


def linspace(start, end, steps, dtype=np.float32, requires_grad=False, device="cpu"):
    return _make(np.linspace(start, end, steps, dtype=dtype), requires_grad, device)


def eye(n, m=None, dtype=np.float32, requires_grad=False, device="cpu"):
    return _make(np.eye(n, m, dtype=dtype), requires_grad, device)


def randn(*size, dtype=np.float32, requires_grad=False, device="cpu"):
    """Standard normal samples, from the framework's seeded generator (``mg.manual_seed``)."""
    array = random.generator().standard_normal(_size(size), dtype=np.float64).astype(dtype)
    return _make(array, requires_grad, device)


def rand(*size, dtype=np.float32, requires_grad=False, device="cpu"):
    """Uniform samples in [0, 1), from the framework's seeded generator."""
    array = random.generator().random(_size(size), dtype=np.float64).astype(dtype)
    return _make(array, requires_grad, device)


def randint(low, high=None, size=(), dtype=np.int64, device="cpu"):
    """Integers uniform in [low, high) (or [0, low) when high is omitted)."""
    if high is None:
        low, high = 0, low
    return _make(random.generator().integers(low, high, size=size, dtype=dtype), False, device)


def randperm(n, device="cpu"):
    """A random permutation of 0..n-1."""
    return _make(random.generator().permutation(n).astype(np.int64), False, device)


def zeros_like(x, dtype=None, requires_grad=False):
    return zeros(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, device=x.device)


def ones_like(x, dtype=None, requires_grad=False):
    return ones(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, device=x.device)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad,
                device=x.device)


def randn_like(x, dtype=None, requires_grad=False):
    return randn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad, device=x.device)
