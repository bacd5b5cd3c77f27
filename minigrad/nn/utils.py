"""Gradient clipping and flat parameter vectors, as ``torch.nn.utils``.

The clipping functions change ``p.grad`` in place; call them between ``loss.backward()`` and
``optimizer.step()``.
"""
import math

import numpy as np

from minigrad.creation import tensor
from minigrad.device import array_module
from minigrad.errors import ShapeError
from minigrad.functions.shape import cat
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = (Σ_p Σ_i |g_pi|^k)^(1/k)  (k = norm_type; k = inf: max |g|), the norm of all
    gradients as one vector; when c = max_norm / (total + 1e-6) < 1, every g becomes c g.
    Returns ``total`` (before clipping) as a 0-d float32 tensor. Parameters without grad are
    skipped.

    >>> import minigrad as mg
    >>> p = mg.ones(4, requires_grad=True); p.grad = mg.full((4,), 3.0).data   # |g| = 6
    >>> round(clip_grad_norm_([p], 1.0).item(), 4), round(float((p.grad ** 2).sum()), 4)
    (6.0, 1.0)
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    xp = array_module(grads[0])
    # each parameter's part stays on the gradients' device: one transfer, for the total
    if norm_type == math.inf:
        total = float(xp.stack([abs(g).max() for g in grads]).max())
    else:                                             # vdot(g, g) = Σ g², no temporaries
        parts = [xp.vdot(g, g) if norm_type == 2 else (abs(g) ** norm_type).sum() for g in grads]
        total = float(xp.stack(parts).sum(dtype=np.float64)) ** (1 / norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return tensor(total)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value]."""
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad[...] = p.grad.clip(-clip_value, clip_value)


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-d tensor (differentiable)."""
    return cat([p.reshape(-1) for p in _as_list(parameters)])


def vector_to_parameters(vector, parameters):
    """Copy consecutive slices of a 1-d ``vector`` into the parameters' data, in place."""
    parameters = _as_list(parameters)
    needed = sum(p.numel() for p in parameters)
    if vector.ndim != 1 or vector.numel() != needed:
        raise ShapeError(f"vector_to_parameters: vector of shape {vector.shape} does not hold "
                         f"the {needed} parameter values")
    start = 0
    for p in parameters:
        p.data[...] = vector.data[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
