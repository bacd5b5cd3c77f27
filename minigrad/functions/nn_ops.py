"""The fused ops of neural networks: softmax, log-softmax, GELU, layer norm, cross-entropy.

Each is one op (rather than a chain of small ones) for two reasons: numerical stability (the
max is subtracted before exp) and a short, exact backward formula.
"""
import math

import numpy as np

from minigrad.autograd import Function
from minigrad.device import array_module
from minigrad.functions.reduction import normalize_dims

__all__ = ["softmax", "log_softmax"]

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_ERF = None


def erf(x):
    """The error function, element-wise (NumPy has none: compiled once with Numba's math.erf)."""
    global _ERF
    if array_module(x) is not np:
        import cupyx.scipy.special
        return cupyx.scipy.special.erf(x)
    if _ERF is None:
        import numba

        @numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
        def _erf(v):
            return math.erf(v)
        _ERF = _erf
    return _ERF(x)


def _stable_shift(x, dim):
    """x - max over dim, with rows that are all -inf shifted by 0 (they stay -inf)."""
    m = x.max(axis=dim, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0)


class Softmax(Function):
    """y = exp(x - max) / Σ exp(x - max)  along dim;  dx = y ⊙ (g - Σ(g ⊙ y))  (FORMULAS C3)."""

    @staticmethod
    def forward(ctx, x, dim):
        e = np.exp(_stable_shift(x, dim))
        y = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.dim, keepdims=True)), None


def _log_softmax(x, dim):
    shifted = _stable_shift(x, dim)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


class LogSoftmax(Function):
    """y = (x - max) - log Σ exp(x - max)  along dim;  dx = g - exp(y) ⊙ Σ g."""

    @staticmethod
    def forward(ctx, x, dim):
        y = _log_softmax(x, dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - np.exp(y) * g.sum(axis=ctx.dim, keepdims=True), None


class GELU(Function):
    """Gaussian Error Linear Unit (FORMULAS C5, the GPT/BERT activation).

    exact:  y = x Φ(x) = x (1 + erf(x/√2)) / 2;           dx = g (Φ(x) + x φ(x)),  φ(x) = e^(-x²/2)/√(2π)
    tanh:   y = x (1 + tanh u) / 2,  u = √(2/π)(x + 0.044715 x³);
            dx = g ((1 + tanh u)/2 + x (1 - tanh² u) √(2/π)(1 + 3·0.044715 x²) / 2)
    """

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du), None
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return g * (cdf + x * pdf), None


class LayerNorm(Function):
    """Normalize over the last dims, then scale and shift.

    forward:  μ, σ² = mean and (biased) variance over the normalized dims,
              x̂ = (x - μ) / √(σ² + ε),   y = x̂ ⊙ w + b
    backward: dx̂ = g ⊙ w
              dx = (dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂)) / √(σ² + ε)
              dw = Σ_batch g ⊙ x̂,   db = Σ_batch g
    Shapes: x (..., *normalized_shape); w, b normalized_shape (or None).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, n_dims, eps):
        dims = tuple(range(x.ndim - n_dims, x.ndim))
        mu = x.mean(axis=dims, keepdims=True)
        rstd = 1 / np.sqrt(((x - mu) ** 2).mean(axis=dims, keepdims=True) + eps)
        xhat = (x - mu) * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        ctx.dims = dims
        y = xhat if weight is None else xhat * weight
        return y if bias is None else y + bias

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight = ctx.saved_tensors
        dims = ctx.dims
        batch = tuple(range(g.ndim - len(dims)))
        dxhat = g if weight is None else g * weight
        dx = (dxhat - dxhat.mean(axis=dims, keepdims=True)
              - xhat * (dxhat * xhat).mean(axis=dims, keepdims=True)) * rstd
        dw = (g * xhat).sum(axis=batch) if ctx.needs_input_grad[1] else None
        db = g.sum(axis=batch) if ctx.needs_input_grad[2] else None
        return dx, dw, db, None, None


class CrossEntropy(Function):
    """Cross-entropy from logits, fused with log-softmax (FORMULAS B4).

    forward:  log p = log_softmax(x),   q = (1 - ε) onehot(t) + ε / C   (ε = label smoothing)
              loss_i = -Σ_c q_ic log p_ic,   0 where t_i = ignore_index
    backward: dx_i = g_i (softmax(x_i) - q_i),   0 for ignored rows
    Shapes: x (M, C) logits, t (M,) class indices -> loss (M,) per row (reduced by the caller).
    """

    @staticmethod
    def forward(ctx, x, target, ignore_index, label_smoothing):
        keep = target != ignore_index
        safe_target = np.where(keep, target, 0)
        logp = _log_softmax(x, -1)
        rows = np.arange(x.shape[0])
        picked = logp[rows, safe_target]
        eps = label_smoothing
        loss = -(1 - eps) * picked - eps * logp.mean(axis=-1) if eps else -picked
        ctx.save_for_backward(logp)
        ctx.rows, ctx.target, ctx.keep, ctx.eps = rows, safe_target, keep, eps
        return np.where(keep, loss, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (logp,) = ctx.saved_tensors
        dx = np.exp(logp)                                   # softmax(x)
        if ctx.eps:
            dx -= ctx.eps / logp.shape[-1]
        dx[ctx.rows, ctx.target] -= 1 - ctx.eps
        dx *= np.where(ctx.keep, g, 0)[:, None]
        return dx, None, None, None


class BCEWithLogits(Function):
    """Binary cross-entropy on logits, element-wise.

    forward:  loss = max(x, 0) - x y + log(1 + e^(-|x|))   (= -y log σ(x) - (1-y) log(1-σ(x)))
    backward: dx = g (σ(x) - y),   dy = -g x
    """

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        sigma = np.exp(-np.logaddexp(0, -x))
        dy = -g * x if ctx.needs_input_grad[1] else None
        return g * (sigma - y), dy


def softmax(x, dim=-1):
    """softmax along ``dim``: exp(x) / Σ exp(x), each slice summing to 1."""
    return Softmax.apply(x, normalize_dims("softmax", dim, x.ndim)[0])


def log_softmax(x, dim=-1):
    """log(softmax(x)) along ``dim``, computed without overflow."""
    return LogSoftmax.apply(x, normalize_dims("log_softmax", dim, x.ndim)[0])
