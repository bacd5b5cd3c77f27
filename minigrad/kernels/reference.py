"""The reference kernels: the array math of the heavy ops, in plain NumPy — the readable spec.

Every faster kernel (``numba_cpu``, ``cupy_gpu``) computes exactly these functions and is tested
against them on random inputs. Each works on the last axis of its input; the ``Function`` in
``minigrad/functions/nn_ops.py`` that calls it moves the axis and reshapes first.

Shapes: M rows, N (or C classes) columns; attention: B batch (any leading dims, flattened),
Tq / Tk query / key positions, D head dim.

The code here uses only array methods and ``xp = array_module(x)``, so it also runs on CuPy
arrays: it is the GPU fallback for any op without a CUDA kernel.
"""
import math

import numpy as np

from minigrad.device import array_module, scatter_add

__all__ = ["matmul", "softmax_forward", "softmax_backward", "log_softmax_forward",
           "log_softmax_backward", "cross_entropy_forward", "cross_entropy_backward",
           "layer_norm_forward", "layer_norm_backward", "gelu_forward", "gelu_backward",
           "erf", "attention_forward", "attention_backward", "embedding_backward", "adam_update"]

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_ERF = None


def matmul(a, b):
    """C = A @ B (batched, broadcasting): NumPy calls BLAS, the fastest SGEMM on a CPU."""
    return a @ b


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


def _row_max(x):
    """max over the last axis, kept as (..., 1); rows that are all -inf get 0 (so x - m stays -inf)."""
    m = x.max(axis=-1, keepdims=True)
    return array_module(x).where(np.isfinite(m), m, 0)


def softmax_forward(x):
    """y = exp(x - m) / Σ exp(x - m), m = max of the row.  x, y: (..., N)."""
    e = np.exp(x - _row_max(x))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(y, g):
    """dx = y ⊙ (g - Σ g ⊙ y)  (the Jacobian diag(y) - y yᵀ applied to g).  y, g, dx: (..., N)."""
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def log_softmax_forward(x):
    """y = (x - m) - log Σ exp(x - m).  x, y: (..., N)."""
    shifted = x - _row_max(x)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_softmax_backward(y, g):
    """dx = g - exp(y) ⊙ Σ g  (exp(y) is the softmax).  y, g, dx: (..., N)."""
    return g - np.exp(y) * g.sum(axis=-1, keepdims=True)


def cross_entropy_forward(x, target, ignore_index, label_smoothing):
    """Per-row cross-entropy from logits, and the row's log Σ exp (saved for backward).

    lse_i = m_i + log Σ_c exp(x_ic - m_i);  log p_ic = x_ic - lse_i
    loss_i = -(1 - ε) log p_{i,t_i} - ε/C Σ_c log p_ic,  0 where t_i = ignore_index
    x: (M, C) logits, target: (M,) ints -> loss (M,), lse (M,)
    """
    xp = array_module(x)
    lse = (_row_max(x) + np.log(np.exp(x - _row_max(x)).sum(axis=-1, keepdims=True)))[:, 0]
    keep = target != ignore_index
    picked = x[xp.arange(x.shape[0]), xp.where(keep, target, 0)]       # (M,)
    loss = lse - picked
    if label_smoothing:
        loss = (1 - label_smoothing) * loss + label_smoothing * (lse - x.mean(axis=-1))
    return xp.where(keep, loss, 0).astype(x.dtype, copy=False), lse.astype(x.dtype, copy=False)


def cross_entropy_backward(x, target, lse, g, ignore_index, label_smoothing):
    """dx_i = g_i (softmax(x_i) - q_i),  q_i = (1 - ε) onehot(t_i) + ε/C;  0 for ignored rows.

    x: (M, C), target, lse, g: (M,) -> dx (M, C)
    """
    xp = array_module(x)
    keep = target != ignore_index
    dx = np.exp(x - lse[:, None])                                       # softmax, (M, C)
    if label_smoothing:
        dx -= label_smoothing / x.shape[-1]
    dx[xp.arange(x.shape[0]), xp.where(keep, target, 0)] -= 1 - label_smoothing
    dx *= xp.where(keep, g, 0)[:, None]
    return dx


def layer_norm_forward(x, weight, bias, eps):
    """μ, σ² over each row;  x̂ = (x - μ) / √(σ² + ε);  y = x̂ ⊙ w + b  (w, b may be None).

    x: (M, N), w, b: (N,) -> y (M, N), mean (M,), rstd (M,) = 1/√(σ² + ε)
    """
    mean = x.mean(axis=-1)
    centered = x - mean[:, None]
    rstd = 1 / np.sqrt((centered * centered).mean(axis=-1) + eps)
    y = centered * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, mean, rstd


def layer_norm_backward(x, weight, mean, rstd, g):
    """dx̂ = g ⊙ w;  dx = (dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂)) ⊙ rstd;  dw = Σ_rows g ⊙ x̂;  db = Σ_rows g.

    x, g: (M, N), w: (N,) or None, mean, rstd: (M,) -> dx (M, N), dw (N,), db (N,)
    """
    xhat = (x - mean[:, None]) * rstd[:, None]
    dxhat = g if weight is None else g * weight
    dx = (dxhat - dxhat.mean(axis=-1, keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)) * rstd[:, None]
    return dx, (g * xhat).sum(axis=0), g.sum(axis=0)


def gelu_forward(x, approximate):
    """exact: y = x Φ(x) = x (1 + erf(x/√2)) / 2;   tanh: y = x (1 + tanh u) / 2, u = √(2/π)(x + 0.044715 x³)."""
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def gelu_backward(x, g, approximate):
    """exact: dx = g (Φ(x) + x φ(x)), φ(x) = e^(-x²/2)/√(2π);
    tanh:  dx = g ((1 + tanh u)/2 + x (1 - tanh² u) √(2/π)(1 + 3·0.044715 x²) / 2)."""
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
        du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
    cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return g * (cdf + x * pdf)


def _attention_scores(q, k, mask, is_causal, scale):
    """s_ij = scale · q_i·k_j, and -inf where key j is not allowed for query i.

    Allowed: mask[b, i, j] (if a mask is given) and j <= i (if causal).  -> s (B, Tq, Tk)
    """
    xp = array_module(q)
    s = scale * (q @ k.swapaxes(-1, -2))                                # (B, Tq, Tk)
    allowed = mask
    if is_causal:
        causal = xp.tril(xp.ones(s.shape[-2:], dtype=bool))            # (Tq, Tk): j <= i
        allowed = causal if allowed is None else allowed & causal
    return s if allowed is None else xp.where(allowed, s, -xp.inf)


def attention_forward(q, k, v, mask, is_causal, scale):
    """Scaled dot-product attention, and each query's log Σ exp (saved for backward).

    s_ij = scale · q_i·k_j  (-inf where masked);   lse_i = log Σ_j exp(s_ij)
    o_i = Σ_j exp(s_ij - lse_i) v_j            (= softmax(s_i) @ v)
    A query with no allowed key gets o_i = 0 and lse_i = -inf (zeros, not NaN).
    q (B, Tq, D), k (B, Tk, D), v (B, Tk, Dv), mask None or bool (B, Tq, Tk), True = may attend
    -> o (B, Tq, Dv), lse (B, Tq), both in q's dtype
    """
    xp = array_module(q)
    s = _attention_scores(q, k, mask, is_causal, scale)                 # (B, Tq, Tk)
    m = _row_max(s)                                                     # (B, Tq, 1)
    e = np.exp(s - m)                                                   # 0 where masked
    total = e.sum(axis=-1, keepdims=True)                               # (B, Tq, 1), 0: no key
    some = total > 0
    total = xp.where(some, total, 1)                                    # no log(0), no 0/0
    o = (e @ v) / total                                                 # (B, Tq, Dv)
    lse = xp.where(some, m + np.log(total), -xp.inf)[..., 0]            # (B, Tq)
    return o.astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def attention_backward(q, k, v, o, lse, g, mask, is_causal, scale):
    """The gradients of attention, from the saved log Σ exp (P is recomputed, not stored).

    P_ij = exp(s_ij - lse_i)  (0 where masked, and in rows with lse_i = -inf);  Δ_i = Σ_d g_id o_id
    dv = Pᵀ g;   dP = g vᵀ;   dS = P ⊙ (dP - Δ);   dq = scale · dS k;   dk = scale · dSᵀ q
    q, k, v, o, g as in attention_forward, lse (B, Tq) -> dq (B, Tq, D), dk (B, Tk, D), dv (B, Tk, Dv)
    """
    xp = array_module(q)
    s = _attention_scores(q, k, mask, is_causal, scale)                 # (B, Tq, Tk)
    finite = xp.where(xp.isfinite(lse), lse, 0)[..., None]              # (B, Tq, 1)
    p = np.exp(s - finite)                                              # exp(-inf) = 0 where masked
    dv = p.swapaxes(-1, -2) @ g                                         # (B, Tk, Dv)
    dp = g @ v.swapaxes(-1, -2)                                         # (B, Tq, Tk)
    delta = (g * o).sum(axis=-1, keepdims=True)                         # (B, Tq, 1)
    ds = p * (dp - delta)                                               # (B, Tq, Tk)
    dq = scale * (ds @ k)                                               # (B, Tq, D)
    dk = scale * (ds.swapaxes(-1, -2) @ q)                              # (B, Tk, D)
    return dq, dk, dv


def embedding_backward(g, idx, num_embeddings):
    """dW of a row lookup y = W[idx] (an embedding, FORMULAS C2): dW[v] = Σ_{i: idx_i = v} g_i.

    Shapes: g idx.shape + (C...), idx integers in [-V, V) (negative counts from the end, as
    NumPy), V = num_embeddings -> dW (V, C...). The rows of g are added one after another in
    the order of idx's positions (``np.add.at``); a faster kernel must add in this order too,
    so that float32 sums round the same way.
    """
    xp = array_module(g)
    dw = xp.zeros((num_embeddings, *g.shape[idx.ndim:]), dtype=g.dtype)    # (V, C...)
    scatter_add(dw, idx, g)
    return dw


def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
                beta2, eps, weight_decay, decoupled):
    """One Adam / AdamW step (FORMULAS B4) of a list of parameters, in place on each p, m, v
    (and v_max); returns nothing. For each p with gradient g, moments m, v and step t ≥ 1:

    g = g + wd · p                           (not decoupled: L2 penalty, in a new array)
    p = p · (1 - lr · wd)                    (decoupled: AdamW)
    m = β1 · m + (1 - β1) · g;   v = β2 · v + (1 - β2) · g²
    v̂ = max(v_max, v), stored in v_max       (amsgrad; v_max None: v̂ = v)
    p = p - lr / (1 - β1^t) · m / (√v̂ / √(1 - β2^t) + ε)

    params, grads, exp_avgs (m), exp_avg_sqs (v), max_exp_avg_sqs (v_max, or None each),
    steps (t): lists of equal length, the arrays of one entry of the same shape. A whole list
    per call, as PyTorch's multi-tensor Adam: the per-call cost is paid once per step, not
    once per parameter. (PyTorch's update, exactly.)
    """
    for p, g, m, v, v_max, step in zip(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                       steps):
        if weight_decay != 0 and decoupled:
            p *= 1 - lr * weight_decay
        elif weight_decay != 0:
            g = g + weight_decay * p              # a new array: the caller's g stays as it was
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if v_max is not None:
            v = np.maximum(v_max, v, out=v_max)
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - beta2 ** step)
        denom += eps
        p -= lr / (1 - beta1 ** step) * (m / denom)
