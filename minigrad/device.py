"""Devices by array module: a tensor's data is a ``numpy.ndarray`` (CPU) or a ``cupy.ndarray`` (GPU).

CuPy is imported only when a GPU is asked for, so ``import minigrad`` works without it.
"""
import sys

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
    """numpy or cupy, whichever owns ``array``.

    Asks the cupy module only when it is already imported (there is no CuPy array before
    that), by whatever code: a CuPy array made by hand before ``mg.cuda`` was ever asked
    is still seen as one, and a machine without CuPy never tries to import it here.
    """
    cupy = sys.modules.get("cupy")
    if isinstance(array, np.ndarray) or cupy is None:
        return np
    return cupy.get_array_module(array)


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
    """``target[index] += values``, adding every value even where ``index`` repeats a position:
    ``np.add.at``, or CuPy's ``cupy.add.at`` (CuPy 12 on; it replaces the deprecated
    ``cupyx.scatter_add``)."""
    array_module(target).add.at(target, index, values)
