"""Broadcasting, and the one rule its gradient needs.

When an op broadcasts an input of shape ``s`` up to the output's shape, every copy of an input
element receives a gradient; the input's gradient is their sum. ``unbroadcast`` does that sum.

>>> import numpy as np
>>> grad = np.ones((2, 3, 4))
>>> unbroadcast(grad, (3, 1)).tolist()      # (2, 3, 4) -> sum over dim 0 and dim 2 -> (3, 1)
[[8.0], [8.0], [8.0]]
"""
import numpy as np

from minigrad.errors import ShapeError

__all__ = ["unbroadcast", "broadcast_shapes"]


def unbroadcast(grad, shape):
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    stretched = tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    grad = grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True)
    return grad.reshape(shape)  # drop the leading dims that were kept by keepdims


def broadcast_shapes(op, *shapes):
    """The broadcast shape, or a ``ShapeError`` naming ``op`` and every shape."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{op}: shapes {', '.join(map(str, shapes))} cannot be broadcast "
                         "together (trailing dimensions must be equal or 1)") from None
