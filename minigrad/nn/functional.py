"""Stateless layers and losses, as ``torch.nn.functional`` (import it as ``F``).

Each is built from the ops in ``minigrad/functions`` (where every forward and backward formula
lives); this file adds PyTorch's signatures, argument checks and shape handling.
Shape letters: N batch (B in models), T time, C classes or channels, V vocabulary.

Losses take ``reduction``: 'none' (one loss per element/row), 'sum', or 'mean'.
"""
import math

import numpy as np

from minigrad.device import array_module, to_device
from minigrad.errors import DTypeError, ShapeError
from minigrad.functions.elementwise import relu, sigmoid, tanh, where
from minigrad.functions.linalg import Linear
from minigrad.functions.nn_ops import (GELU, BCEWithLogits, CrossEntropy, LayerNorm,
                                       PackedQKVAttention, ScaledDotProductAttention,
                                       log_softmax, softmax)
from minigrad.random import generator
from minigrad.tensor import Tensor, array_of

__all__ = ["relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "linear", "embedding",
           "layer_norm", "dropout", "one_hot", "cross_entropy", "nll_loss", "mse_loss",
           "binary_cross_entropy_with_logits", "scaled_dot_product_attention",
           "packed_qkv_attention"]


# ---- activations and layers ---------------------------------------------------------------
def gelu(x, approximate="none"):
    """GELU(x) = x Φ(x) (FORMULAS C5, GPT/BERT); ``approximate='tanh'`` is GPT-2's tanh form.

    Formulas of both forms, forward and backward: ``minigrad.functions.nn_ops.GELU``.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate)


def linear(x, weight, bias=None):
    """y = x Wᵀ + b, the fully connected layer (FORMULAS C5).

    Shapes: x (..., C_in), W (C_out, C_in), b (C_out,) -> y (..., C_out).
    Backward (the ``Linear`` op): dx = g W,  dW = gᵀ x,  db = Σ g over the batch.
    Inputs with more than 2 dims are flattened to one (B*T, C_in) matrix first: one big
    matrix product is faster than a batch of small ones.
    """
    if x.ndim < 1 or x.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"linear: input of shape {x.shape} has {x.shape[-1:]} features, but "
                         f"weight of shape {weight.shape} expects {weight.shape[-1]}")
    if weight.ndim != 2 or (bias is not None and bias.shape != weight.shape[:1]):
        raise ShapeError(f"linear: weight must be (C_out, C_in) and bias (C_out,), got "
                         f"{weight.shape} and {None if bias is None else bias.shape}")
    lead = x.shape[:-1]
    if x.ndim != 2:
        x = x.reshape(-1, x.shape[-1])                  # (B*T, C_in)
    y = Linear.apply(x, weight, bias)                   # (B*T, C_out)
    return y if len(lead) == 1 else y.reshape(*lead, weight.shape[0])   # (B, T, C_out)


def _check_indices(op, idx, size, what, ignore=None):
    """Raise unless ``idx`` holds integers in [0, size) (``ignore`` is also allowed)."""
    if not np.issubdtype(idx.dtype, np.integer):
        raise DTypeError(f"{op}: {what} must hold integer indices, got dtype {idx.dtype}")
    bad = (idx < 0) | (idx >= size)
    if ignore is not None:
        bad &= idx != ignore
    if bad.any():
        value = int(idx[bad].reshape(-1)[0])
        allowed = f" or ignore_index={ignore}" if ignore is not None else ""
        raise IndexError(f"{op}: {what} value {value} is out of range [0, {size}){allowed}")


def embedding(idx, weight, padding_idx=None):
    """Look up rows of a table (FORMULAS C2): y[..., :] = W[idx[...], :] = onehot(idx) @ W.

    Shapes: idx (...) integers in [0, V), W (V, C) -> y (..., C).
    Backward (GetItem's): dW[v] = Σ of g over the positions where idx = v (a scatter-add of
    rows). Positions holding ``padding_idx`` pass no gradient: that row never trains.
    """
    idx = to_device(array_of(idx), weight.device)
    _check_indices("embedding", idx, weight.shape[0], "idx")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    y = weight[idx]                                     # (..., C)
    if padding_idx is None:
        return y
    pad = (idx == padding_idx)[..., None]               # (..., 1)
    return where(pad, y.detach(), y)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims, then y = x̂ ⊙ w + b.

    Shapes: x (..., *normalized_shape); weight and bias normalized_shape or None.
    Formulas, forward and backward: ``minigrad.functions.nn_ops.LayerNorm``.
    """
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    n = len(normalized_shape)
    if n == 0 or x.shape[x.ndim - n:] != normalized_shape:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end with "
                         f"normalized_shape {normalized_shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != normalized_shape:
            raise ShapeError(f"layer_norm: {name} has shape {t.shape}, expected "
                             f"normalized_shape {normalized_shape}")
    return LayerNorm.apply(x, weight, bias, n, eps)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p), so E[y] = x.

    y = x ⊙ m / (1 - p),  m ~ Bernoulli(1 - p) from ``mg.random.generator()``;
    dx = g ⊙ m / (1 - p). The identity when not training or p = 0; zeros when p = 1.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    scale = 1 / (1 - p) if p < 1 else 0.0
    keep = generator().random(x.shape) >= p
    return x * Tensor(to_device((keep * scale).astype(x.dtype), x.device))


def one_hot(idx, num_classes=-1):
    """int64 tensor of shape idx.shape + (num_classes,) with a 1 at each index (no gradient).

    ``num_classes=-1`` means max(idx) + 1.

    >>> import minigrad as mg
    >>> one_hot(mg.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = array_of(idx)
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    _check_indices("one_hot", idx, num_classes, "idx")
    xp = array_module(idx)
    return Tensor((idx[..., None] == xp.arange(num_classes)).astype(np.int64))


# ---- losses ---------------------------------------------------------------------------------
def _reduce(op, losses, reduction, count=None):
    """'none': losses as they are; 'sum': Σ losses; 'mean': Σ losses / count (default: all)."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        if count is None:
            return losses.mean()
        # every target ignored: NaN like PyTorch's 0/0, but without a divide-by-zero warning
        return losses.sum() / count if count else losses.sum() * float("nan")
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _rows_of_classes(op, input, target, ignore_index):
    """Validate a class-index target and flatten: input (N, C, d1, ...) -> (M, C), target -> (M,).

    As PyTorch, the class dim of ``input`` is dim 1 (dim 0 for an unbatched (C,) input) and
    ``target`` has input's shape without it. Returns the two and target's shape.
    """
    target = to_device(array_of(target), input.device)
    class_dim = 1 if input.ndim >= 2 else 0
    expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
    if input.ndim == 0 or target.shape != expected:
        raise ShapeError(f"{op}: input of shape {input.shape} (N, C, d1, ...) needs a target "
                         f"of shape {expected} (N, d1, ...), got {target.shape}")
    n_classes = input.shape[class_dim]
    _check_indices(op, target, n_classes, "target", ignore=ignore_index)
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1)     # (N, d1, ..., C)
    return input.reshape(-1, n_classes), target.reshape(-1), target.shape   # (M, C), (M,)


def cross_entropy(input, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and class indices (FORMULAS B4).

    loss_i = -Σ_c q_ic log softmax(x_i)_c,  q_i = (1 - ε) onehot(t_i) + ε / C,  ε = label_smoothing;
    rows whose target is ``ignore_index`` get loss 0, and 'mean' divides by the number of the
    other rows (as PyTorch). Backward: dx_i = g_i (softmax(x_i) - q_i), see
    ``minigrad.functions.nn_ops.CrossEntropy``.
    Shapes: input (N, C) or (N, C, d1, ...) logits, target (N,) or (N, d1, ...) integers
    -> a scalar, or target's shape with reduction='none'.

    >>> import minigrad as mg
    >>> round(cross_entropy(mg.tensor([[0.0, 0.0]]), mg.tensor([1])).item(), 4)   # log 2
    0.6931
    """
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    logits, flat_target, shape = _rows_of_classes("cross_entropy", input, target, ignore_index)
    losses = CrossEntropy.apply(logits, flat_target, ignore_index, label_smoothing)  # (M,)
    count = int((flat_target != ignore_index).sum())
    return _reduce("cross_entropy", losses.reshape(shape), reduction, count)


def nll_loss(input, target, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities: loss_i = -input[i, t_i].

    The gradient is -g_i at (i, t_i) and 0 elsewhere. Rows whose target is ``ignore_index``
    get loss 0 and no gradient; 'mean' divides by the number of the other rows.
    ``nll_loss(log_softmax(x, 1), t)`` equals ``cross_entropy(x, t)``.
    Shapes: as ``cross_entropy``.
    """
    log_probs, flat_target, shape = _rows_of_classes("nll_loss", input, target, ignore_index)
    xp = array_module(flat_target)
    keep = flat_target != ignore_index
    picked = log_probs[xp.arange(flat_target.shape[0]), xp.where(keep, flat_target, 0)]  # (M,)
    losses = where(keep, -picked, 0.0)
    return _reduce("nll_loss", losses.reshape(shape), reduction, int(keep.sum()))


def _check_same_shape(op, input, target):
    if input.shape != target.shape:
        raise ShapeError(f"{op}: input has shape {input.shape} but target has {target.shape}; "
                         "they must be equal (broadcasting here is almost always a bug)")


def mse_loss(input, target, reduction="mean"):
    """loss = (x - y)²;  dx = 2 g (x - y),  dy = -2 g (x - y). x and y of the same shape."""
    _check_same_shape("mse_loss", input, target)
    return _reduce("mse_loss", (input - target) ** 2, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """loss = -y log σ(x) - (1 - y) log(1 - σ(x)), computed from logits without overflow.

    Backward: dx = g (σ(x) - y). Formulas: ``minigrad.functions.nn_ops.BCEWithLogits``.
    x (logits) and y (targets in [0, 1]) of the same shape.
    """
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    return _reduce("binary_cross_entropy_with_logits", BCEWithLogits.apply(input, target),
                   reduction)


# ---- attention ------------------------------------------------------------------------------
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """O = softmax(Q Kᵀ · scale + mask) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    FORMULAS C3 (A = softmax(QKᵀ/√d_k), O = A V); forward and backward formulas:
    ``minigrad.functions.nn_ops.ScaledDotProductAttention``.
    Shapes: query (..., Tq, D), key (..., Tk, D), value (..., Tk, Dv) -> (..., Tq, Dv); the
    leading dims (batch, heads) broadcast.
    attn_mask: bool, True = may attend (PyTorch's rule), or float, added to the scores;
    broadcastable to (..., Tq, Tk). is_causal: query i attends key j only if j <= i (not
    together with attn_mask, as in PyTorch). scale: 1/√D unless given.
    dropout_p: attention weights are dropped whenever dropout_p > 0 — this function has no
    training flag (as PyTorch's), so pass ``dropout_p=p if self.training else 0.0``.

    With no mask or a bool mask and no dropout, this is the fused op (which, with the Numba
    kernels, never stores the (Tq, Tk) matrix); a float mask or dropout composes matmul,
    softmax and dropout instead, as PyTorch's math path does.
    Difference from PyTorch: a query whose keys are all masked (bool mask) gets zeros in every
    path; PyTorch's fused CPU kernel gives zeros too, but its math path gives NaN.

    >>> import minigrad as mg
    >>> v = mg.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])            # (Tk, Dv) = (3, 2)
    >>> q = mg.zeros(2, 4)                                                 # equal scores
    >>> mask = mg.tensor([[True, True, False], [False, False, False]])    # (Tq, Tk)
    >>> scaled_dot_product_attention(q, mg.ones(3, 4), v, attn_mask=mask).tolist()
    [[0.5, 0.5], [0.0, 0.0]]
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(f"scaled_dot_product_attention: {name} of shape {t.shape} needs at "
                             "least 2 dims (..., T, D)")
    tq, tk, d = query.shape[-2], key.shape[-2], query.shape[-1]
    if key.shape[-1] != d or value.shape[-2] != tk:
        raise ShapeError(f"scaled_dot_product_attention: query {query.shape} (..., Tq, D), key "
                         f"{key.shape} (..., Tk, D) and value {value.shape} (..., Tk, Dv) do not "
                         "agree on D or Tk")
    try:
        lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: the leading dims of query {query.shape}, "
                         f"key {key.shape} and value {value.shape} do not broadcast") from None
    scores_shape = (*lead, tq, tk)
    if attn_mask is not None:
        if is_causal:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal=True, "
                             "not both (as PyTorch)")
        try:
            fits = np.broadcast_shapes(attn_mask.shape, scores_shape) == scores_shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {attn_mask.shape} "
                             f"does not broadcast to the scores' shape {scores_shape} (..., Tq, Tk)")
        if attn_mask.dtype != np.bool_ and not np.issubdtype(attn_mask.dtype, np.floating):
            raise DTypeError(f"scaled_dot_product_attention: attn_mask must be bool (True = "
                             f"attend) or float (added to the scores), got {attn_mask.dtype}")
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p}")
    scale = 1 / math.sqrt(d) if scale is None else float(scale)
    query, key, value = (t if t.shape[:-2] == lead else t.expand(*lead, *t.shape[-2:])
                         for t in (query, key, value))                     # (B..., T, D)
    is_bool = attn_mask is None or attn_mask.dtype == np.bool_
    if is_bool:
        attn_mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
    if is_bool and dropout_p == 0:
        return ScaledDotProductAttention.apply(query, key, value, attn_mask, is_causal, scale)

    scores = (query @ key.transpose(-2, -1)) * scale                       # (B..., Tq, Tk)
    xp = array_module(query.data)
    allowed = xp.tril(xp.ones((tq, tk), dtype=bool)) if is_causal else attn_mask
    if not is_bool:
        scores = scores + (attn_mask if isinstance(attn_mask, Tensor)
                           else Tensor(attn_mask.astype(scores.dtype)))
    elif allowed is not None:
        has_key = allowed.any(axis=-1, keepdims=True)                      # (B..., Tq, 1)
        # a row with no allowed key is left unmasked (no 0/0) and its weights zeroed below
        scores = scores.masked_fill(~(allowed | ~has_key), float("-inf"))
    weights = softmax(scores, dim=-1)                                      # (B..., Tq, Tk)
    if is_bool and allowed is not None:
        weights = weights * Tensor(has_key.astype(weights.dtype))
    return dropout(weights, dropout_p) @ value                             # (B..., Tq, Dv)


def packed_qkv_attention(qkv, n_head, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """Multi-head self-attention from the packed projection qkv = [Q | K | V], heads merged.

    Equals ``q, k, v = qkv.split(C, dim=-1)``, each reshaped to H heads (B, H, T, D),
    ``scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale)`` and the
    heads concatenated back to (B, T, C) — the middle of ``MultiHeadAttention`` (FORMULAS C3).
    minigrad's own (PyTorch has no public twin). With no mask or a bool mask and no dropout it
    is one op (``PackedQKVAttention``) whose backward writes the gradients of Q, K and V straight
    into one array of qkv's shape, instead of one zero-filled array per third, summed.
    Shapes: qkv (B, T, 3C) with C divisible by n_head; attn_mask broadcastable to (B, H, T, T)
    -> (B, T, C).
    """
    if qkv.ndim != 3 or qkv.shape[-1] % 3 or (qkv.shape[-1] // 3) % n_head:
        raise ShapeError(f"packed_qkv_attention: qkv must be (B, T, 3C) with C divisible by "
                         f"n_head={n_head}, got shape {qkv.shape}")
    B, T, C = qkv.shape[0], qkv.shape[1], qkv.shape[2] // 3
    D = C // n_head
    simple = (attn_mask is None or attn_mask.dtype == np.bool_) and dropout_p == 0
    if simple and not (attn_mask is not None and is_causal):
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
        if mask is not None and not _broadcasts(mask.shape, (B, n_head, T, T)):
            raise ShapeError(f"packed_qkv_attention: attn_mask of shape {mask.shape} does not "
                             f"broadcast to (B, H, T, T) = {(B, n_head, T, T)}")
        scale = 1 / math.sqrt(D) if scale is None else float(scale)
        return PackedQKVAttention.apply(qkv, mask, is_causal, scale, n_head)
    q, k, v = (t.reshape(B, T, n_head, D).transpose(1, 2) for t in qkv.split(C, dim=2))  # (B, H, T, D)
    y = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale)  # (B, H, T, D)
    return y.transpose(1, 2).reshape(B, T, C)                      # concat heads: (B, T, C)


def _broadcasts(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False
