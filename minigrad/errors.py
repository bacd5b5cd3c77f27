"""Typed errors. Each message names what was wrong: the op, the shapes, the file, the argument.

Every error is a ``MinigradError`` (a ``RuntimeError``, as in PyTorch) and also the built-in
exception a Python user would expect (``ShapeError`` is a ``ValueError``, ``CheckpointError``
an ``OSError``...), so ``except mg.ShapeError`` and ``except ValueError`` both catch it.
"""

__all__ = [
    "MinigradError", "ShapeError", "DTypeError", "DeviceError", "BackwardError",
    "GradcheckError", "AnomalyError", "CheckpointError", "StateDictError",
]


class MinigradError(RuntimeError):
    """Base class of every error raised by minigrad (a RuntimeError, as PyTorch's errors are)."""


class ShapeError(MinigradError, ValueError):
    """Shapes do not fit an op: the message names the op and every shape involved."""


class DTypeError(MinigradError, TypeError):
    """An op got a dtype it cannot work with (e.g. the gradient of an integer tensor)."""


class DeviceError(MinigradError, RuntimeError):
    """Tensors on different devices, or a device that is not available."""


class BackwardError(MinigradError, RuntimeError):
    """backward() cannot run: no graph, a freed graph, or a gradient of the wrong shape."""


class GradcheckError(MinigradError, AssertionError):
    """An analytic gradient disagrees with finite differences."""


class AnomalyError(MinigradError, FloatingPointError):
    """Under ``mg.detect_anomaly()``, an op produced NaN or Inf."""


class CheckpointError(MinigradError, OSError):
    """A checkpoint file is truncated, foreign, carries pickled objects, or holds bad values."""


class StateDictError(MinigradError, KeyError):
    """``load_state_dict`` found missing or unexpected keys, or shapes that differ."""

    def __str__(self):  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""
