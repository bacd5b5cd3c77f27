"""The fused ops of neural networks: softmax, log-softmax, GELU, layer norm, cross-entropy,
scaled dot-product attention.

Each is one op (rather than a chain of small ones) for two reasons: numerical stability (the
max is subtracted before exp) and a short, exact backward formula. The formulas are in each
docstring; the array math is in ``minigrad/kernels`` — ``reference.py`` is the plain-NumPy
spec, and ``mg.kernels.use(...)`` picks which implementation of it runs.

The kernels work on the last axis of 2-d (or n-d) arrays: these ops move the axis there first.
"""
import math

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.device import array_module
from minigrad.functions.reduction import normalize_dims

__all__ = ["softmax", "log_softmax"]


def _last_axis(x, dim):
    """x with ``dim`` moved to the end (a view), for the kernels that reduce over the last axis."""
    return x if dim in (-1, x.ndim - 1) else np.moveaxis(x, dim, -1)


def _axis_back(y, dim):
    return y if dim in (-1, y.ndim - 1) else np.moveaxis(y, -1, dim)


class Softmax(Function):
    """y = exp(x - max) / Σ exp(x - max)  along dim;  dx = y ⊙ (g - Σ(g ⊙ y))  (FORMULAS C3).

    Kernels: ``softmax_forward``, ``softmax_backward``.
    """

    @staticmethod
    def forward(ctx, x, dim):
        y = _axis_back(kernels.softmax_forward(_last_axis(x, dim)), dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        dim = ctx.dim
        return _axis_back(kernels.softmax_backward(_last_axis(y, dim), _last_axis(g, dim)), dim), None


class LogSoftmax(Function):
    """y = (x - max) - log Σ exp(x - max)  along dim;  dx = g - exp(y) ⊙ Σ g.

    Kernels: ``log_softmax_forward``, ``log_softmax_backward``.
    """

    @staticmethod
    def forward(ctx, x, dim):
        y = _axis_back(kernels.log_softmax_forward(_last_axis(x, dim)), dim)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        dim = ctx.dim
        return _axis_back(kernels.log_softmax_backward(_last_axis(y, dim), _last_axis(g, dim)), dim), None


class GELU(Function):
    """Gaussian Error Linear Unit (FORMULAS C5, the GPT/BERT activation).

    exact:  y = x Φ(x) = x (1 + erf(x/√2)) / 2;           dx = g (Φ(x) + x φ(x)),  φ(x) = e^(-x²/2)/√(2π)
    tanh:   y = x (1 + tanh u) / 2,  u = √(2/π)(x + 0.044715 x³);
            dx = g ((1 + tanh u)/2 + x (1 - tanh² u) √(2/π)(1 + 3·0.044715 x²) / 2)
    Kernels: ``gelu_forward``, ``gelu_backward``.
    """

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return kernels.gelu_forward(x, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return kernels.gelu_backward(x, g, ctx.approximate), None


class LayerNorm(Function):
    """Normalize over the last dims, then scale and shift.

    forward:  μ, σ² = mean and (biased) variance over the normalized dims,
              x̂ = (x - μ) / √(σ² + ε),   y = x̂ ⊙ w + b
    backward: dx̂ = g ⊙ w
              dx = (dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂)) / √(σ² + ε)
              dw = Σ_batch g ⊙ x̂,   db = Σ_batch g
    Shapes: x (..., *normalized_shape); w, b normalized_shape (or None). The kernels see
    x as (M, N) rows: M = the batch elements, N = the normalized elements.
    Kernels: ``layer_norm_forward``, ``layer_norm_backward``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, n_dims, eps):
        normalized = x.shape[x.ndim - n_dims:]
        n = math.prod(normalized)
        rows = x.reshape(-1, n)                                             # (M, N)
        w = None if weight is None else weight.reshape(n)
        b = None if bias is None else bias.reshape(n)
        y, mean, rstd = kernels.layer_norm_forward(rows, w, b, eps)
        ctx.save_for_backward(rows, w, mean, rstd)
        ctx.shapes = x.shape, normalized
        return y.reshape(x.shape)                                           # (..., *normalized)

    @staticmethod
    def backward(ctx, g):
        rows, w, mean, rstd = ctx.saved_tensors
        shape, normalized = ctx.shapes
        dx, dw, db = kernels.layer_norm_backward(rows, w, mean, rstd, g.reshape(rows.shape))
        dw = dw.reshape(normalized) if ctx.needs_input_grad[1] else None
        db = db.reshape(normalized) if ctx.needs_input_grad[2] else None
        return dx.reshape(shape), dw, db, None, None


class CrossEntropy(Function):
    """Cross-entropy from logits, fused with log-softmax (FORMULAS B4).

    forward:  log p = log_softmax(x),   q = (1 - ε) onehot(t) + ε / C   (ε = label smoothing)
              loss_i = -Σ_c q_ic log p_ic,   0 where t_i = ignore_index
    backward: dx_i = g_i (softmax(x_i) - q_i),   0 for ignored rows
    Shapes: x (M, C) logits, t (M,) class indices -> loss (M,) per row (reduced by the caller).
    Only x and each row's log Σ exp are kept for backward (not the (M, C) probabilities).
    Kernels: ``cross_entropy_forward``, ``cross_entropy_backward``.
    """

    @staticmethod
    def forward(ctx, x, target, ignore_index, label_smoothing):
        loss, lse = kernels.cross_entropy_forward(x, target, ignore_index, label_smoothing)
        ctx.save_for_backward(x, target, lse)
        ctx.options = ignore_index, label_smoothing
        return loss

    @staticmethod
    def backward(ctx, g):
        x, target, lse = ctx.saved_tensors
        return kernels.cross_entropy_backward(x, target, lse, g, *ctx.options), None, None, None


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


def _flat_mask(mask, lead, tq, tk):
    """A bool mask broadcastable to (*lead, Tq, Tk) as the kernels' (B, Tq, Tk), or None."""
    if mask is None:
        return None
    mask = array_module(mask).broadcast_to(mask, (*lead, tq, tk))           # (B..., Tq, Tk)
    return mask.reshape(-1, tq, tk)                                         # (B, Tq, Tk)


class ScaledDotProductAttention(Function):
    """Scaled dot-product attention, fused (FORMULAS C3: A = softmax(QKᵀ/√d_k), O = A V).

    forward:  S = scale · Q Kᵀ  (-inf where masked),   P = softmax(S) by rows,   O = P V;
              saves lse_i = log Σ_j exp(S_ij) per query instead of the (Tq, Tk) matrix P
    backward: P = exp(S - lse) recomputed,   Δ_i = Σ_d G_id O_id
              dV = Pᵀ G,   dP = G Vᵀ,   dS = P ⊙ (dP - Δ),   dQ = scale · dS K,   dK = scale · dSᵀ Q
    Shapes: q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv), the same leading dims (B...);
    mask None or bool, broadcastable to (..., Tq, Tk), True = may attend; is_causal: query i
    attends key j only if j <= i (ANDed with the mask). A query with no allowed key gets
    O_i = 0 and passes no gradient.
    Kernels: ``attention_forward``, ``attention_backward`` (the kernels see (B, T, D)).
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale):
        *lead, tq, d = q.shape
        tk, dv = v.shape[-2:]
        q3 = q.reshape(-1, tq, d)                                           # (B, Tq, D)
        k3 = k.reshape(-1, tk, d)                                           # (B, Tk, D)
        v3 = v.reshape(-1, tk, dv)                                          # (B, Tk, Dv)
        mask = _flat_mask(mask, lead, tq, tk)                               # (B, Tq, Tk)
        o, lse = kernels.attention_forward(q3, k3, v3, mask, is_causal, scale)
        ctx.save_for_backward(q3, k3, v3, o, lse)
        ctx.options = mask, is_causal, scale
        ctx.shapes = q.shape, k.shape, v.shape
        return o.reshape(*lead, tq, dv)                                     # (B..., Tq, Dv)

    @staticmethod
    def backward(ctx, g):
        q3, k3, v3, o, lse = ctx.saved_tensors
        q_shape, k_shape, v_shape = ctx.shapes
        dq, dk, dv = kernels.attention_backward(q3, k3, v3, o, lse, g.reshape(o.shape),
                                                *ctx.options)              # (B, T, D)
        return dq.reshape(q_shape), dk.reshape(k_shape), dv.reshape(v_shape), None, None, None


class PackedQKVAttention(Function):
    """Multi-head self-attention on the packed projection qkv = [Q | K | V], heads merged.

    forward:  Q, K, V = the three (B, T, C) thirds of qkv, each cut into H heads of width D;
              O_h = softmax(scale · Q_h K_hᵀ + mask) V_h  (the ``ScaledDotProductAttention`` op);
              y = concat(O_1, ..., O_H)
    backward: the same kernels give dQ_h, dK_h, dV_h, written straight into one dqkv of qkv's
              shape: no split, no zero-filled gradient per third, no sum of three.
    Shapes: qkv (B, T, 3C), C = H·D; mask None or bool broadcastable to (B, H, T, T), True =
    may attend -> y (B, T, C). The result equals splitting qkv, ``scaled_dot_product_attention``
    on the (B, H, T, D) heads and merging them; this op does it with one copy of qkv into head
    order forward, and one copy of the gradients back. Two ways around the copies measured
    slower (2026-11-29, B16 T128 H4 D32, forward + backward, CPU time): kernels reading each
    head where it lies in qkv, 21 ms against 18 (every K and V tile then needs a copy to be a
    GEMM operand, and loops over arrays of unknown strides do not vectorize); Numba loops for
    the copies instead of NumPy's, 5% slower.
    Kernels: ``attention_forward``, ``attention_backward`` (on (B·H, T, D)).
    """

    @staticmethod
    def forward(ctx, qkv, mask, is_causal, scale, n_head):
        B, T, C3 = qkv.shape
        C = C3 // 3
        D = C // n_head
        xp = array_module(qkv)
        heads = qkv.reshape(B, T, 3, n_head, D).transpose(2, 0, 3, 1, 4)   # (3, B, H, T, D)
        q, k, v = xp.ascontiguousarray(heads).reshape(3, B * n_head, T, D)  # (B·H, T, D) each
        mask = _flat_mask(mask, (B, n_head), T, T)                          # (B·H, T, T)
        o, lse = kernels.attention_forward(q, k, v, mask, is_causal, scale)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.options = mask, is_causal, scale
        ctx.shape = B, T, n_head, D
        return o.reshape(B, n_head, T, D).transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, T, C)

    @staticmethod
    def backward(ctx, g):
        q, k, v, o, lse = ctx.saved_tensors
        B, T, H, D = ctx.shape
        xp = array_module(g)
        g_heads = xp.ascontiguousarray(g.reshape(B, T, H, D).transpose(0, 2, 1, 3))  # (B, H, T, D)
        grads = kernels.attention_backward(q, k, v, o, lse, g_heads.reshape(B * H, T, D),
                                           *ctx.options)                   # 3 × (B·H, T, D)
        dqkv = xp.empty((B, T, 3, H, D), dtype=g.dtype)
        for i, d in enumerate(grads):                                       # dQ, dK, dV
            dqkv[:, :, i] = d.reshape(B, H, T, D).transpose(0, 2, 1, 3)     # (B, T, H, D)
        return dqkv.reshape(B, T, 3 * H * D), None, None, None, None
