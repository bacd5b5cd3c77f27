"""Reductions over dimensions: sum, mean, max, min, var.

``dim`` is None (all dimensions), an int, or a tuple of ints, negative ints counting from the
end; ``keepdim=True`` keeps each reduced dimension with size 1. Backward spreads ``g`` back over
the reduced dimensions (``_expand_back``).

Unlike PyTorch, ``max``/``min`` with a ``dim`` return only the values (PyTorch returns
``(values, indices)``): they behave like ``torch.amax``/``torch.amin``, and when several
elements tie for the maximum the gradient is shared equally among them.
"""
import builtins
import math

import numpy as np

from minigrad.autograd import Function
from minigrad.errors import ShapeError

__all__ = ["sum", "mean", "max", "min", "var", "logsumexp"]


def normalize_dims(op, dim, ndim):
    """``dim`` as a sorted tuple of non-negative ints; ``None`` means every dimension."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    for d in dims:
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            raise ShapeError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
    return tuple(sorted({d % ndim if ndim else 0 for d in dims}))


def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced gradient back to the input's ``shape``."""
    if not keepdim:
        g = np.expand_dims(g, dims)
    return np.broadcast_to(g, shape)


class Sum(Function):
    """y = Σ_dims x;  dx = g broadcast back over the summed dims."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim), None, None


class Mean(Function):
    """y = Σ_dims x / N  (N = number of elements reduced);  dx = g / N broadcast back."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = math.prod([x.shape[d] for d in dims])
        return x.mean(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g / ctx.count, ctx.shape, ctx.dims, ctx.keepdim), None, None


class Max(Function):
    """y = max_dims x;  dx = g / k at the k elements equal to the max, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        y = x.max(axis=dims, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.dims, ctx.keepdim = dims, keepdim
        return y if keepdim else np.squeeze(y, dims)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        winners = x == y
        share = winners / winners.sum(axis=ctx.dims, keepdims=True)
        return _expand_back(g, x.shape, ctx.dims, ctx.keepdim) * share, None, None


class Var(Function):
    """y = Σ (x - x̄)² / (N - c)  (c = 1 if unbiased else 0);  dx = g ⊙ 2(x - x̄) / (N - c)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, unbiased):
        centered = x - x.mean(axis=dims, keepdims=True)
        count = math.prod([x.shape[d] for d in dims]) - int(unbiased)
        ctx.save_for_backward(centered)
        ctx.dims, ctx.keepdim, ctx.count = dims, keepdim, count
        return (centered * centered).sum(axis=dims, keepdims=keepdim) / count

    @staticmethod
    def backward(ctx, g):
        (centered,) = ctx.saved_tensors
        scale = 2 / ctx.count
        return _expand_back(g, centered.shape, ctx.dims, ctx.keepdim) * centered * scale, None, None, None


class LogSumExp(Function):
    """y = m + log Σ exp(x - m)  (m = max, for stability);  dx = g ⊙ exp(x - y)  (= softmax)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        m = x.max(axis=dims, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        y = m + np.log(np.exp(x - m).sum(axis=dims, keepdims=True))
        ctx.save_for_backward(x, y)
        ctx.dims, ctx.keepdim = dims, keepdim
        return y if keepdim else np.squeeze(y, dims)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _expand_back(g, x.shape, ctx.dims, ctx.keepdim) * np.exp(x - y), None, None


def sum(x, dim=None, keepdim=False):
    """Sum over ``dim`` (None: all elements)."""
    return Sum.apply(x, normalize_dims("sum", dim, x.ndim), keepdim)


def mean(x, dim=None, keepdim=False):
    """Mean over ``dim`` (None: all elements)."""
    return Mean.apply(x, normalize_dims("mean", dim, x.ndim), keepdim)


def max(x, dim=None, keepdim=False):
    """Largest value over ``dim`` — values only, like ``torch.amax`` (see the module docstring)."""
    return Max.apply(x, normalize_dims("max", dim, x.ndim), keepdim)


def min(x, dim=None, keepdim=False):
    """Smallest value over ``dim`` — values only, like ``torch.amin``: min(x) = -max(-x)."""
    return -max(-x, dim, keepdim)


def var(x, dim=None, unbiased=True, keepdim=False):
    """Variance over ``dim``; ``unbiased=True`` divides by N - 1 (Bessel), as PyTorch."""
    dims = normalize_dims("var", dim, x.ndim)
    if unbiased and math.prod([x.shape[d] for d in dims]) < 2:
        raise ShapeError(f"var: unbiased variance needs at least 2 elements per reduction, "
                         f"shape {x.shape} with dim={dim} gives fewer")
    return Var.apply(x, dims, keepdim, unbiased)


def logsumexp(x, dim, keepdim=False):
    """log Σ exp(x) over ``dim``, computed without overflow."""
    return LogSumExp.apply(x, normalize_dims("logsumexp", dim, x.ndim), keepdim)
