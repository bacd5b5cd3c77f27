"""Multi-head attention (FORMULAS C3, correct form) with masks and a KV cache.

For one sequence E (T, C) of embeddings and one head h of width D = C / H:

    Q_h = E W_Q^h,  K_h = E W_K^h,  V_h = E W_V^h                      (T, D) each
    A_h = softmax(Q_h K_hᵀ / √D)   row-wise                           (T, T)
    O_h = A_h V_h                                                     (T, D)
    MultiHead(E) = concat(O_1, ..., O_H) W_O                          (T, C)

Cross-attention takes Q from the decoder's states and K, V from the encoder's output
("memory"), so A is (Tq, Tk). Masks remove keys before the softmax: the causal mask (a query
sees only keys at its own position or before) and the key padding mask (no query sees a padded
key). The softmax, its √D scaling and the backward are ``F.scaled_dot_product_attention``;
self-attention without a cache calls ``F.packed_qkv_attention``, the same computation with the
split into Q, K, V and heads and their concatenation inside one op (a faster backward).
"""
import numpy as np

from minigrad.device import array_module, to_device
from minigrad.errors import DTypeError, ShapeError
from minigrad.functions import cat
from minigrad.nn import Linear, Module
from minigrad.nn import functional as F
from minigrad.tensor import array_of

__all__ = ["KVCache", "MultiHeadAttention", "causal_mask"]


class KVCache:
    """The keys and values one attention layer has already computed, for incremental decoding.

    Generating token t with a decoder needs K and V of every earlier position, but those do not
    change when a token is appended (causal attention: position j sees only ≤ j). So each layer
    keeps them here and computes K, V only for the new positions:
    ``k, v = cache.append(k_new, v_new)``, all (B, H, T, D). ``len(cache)`` is the number of
    positions held (the position of the next token). For cross-attention the cache holds the
    memory's K, V, computed once.
    Growing by concatenation copies the cache at every step (O(T²) copying for T steps): simple,
    and small next to the attention itself at the sizes this project runs.
    """

    def __init__(self):
        self.k = self.v = None

    def __len__(self):
        return 0 if self.k is None else self.k.shape[2]

    def append(self, k, v):
        """Add k, v (B, H, T_new, D) after the cached positions; return all keys and values."""
        if self.k is None:
            self.k, self.v = k, v
        else:
            if k.shape[:2] != self.k.shape[:2] or k.shape[3] != self.k.shape[3]:
                raise ShapeError(f"KVCache.append: new keys of shape {k.shape} do not fit the "
                                 f"cached ones of shape {self.k.shape} (B, H, T, D)")
            self.k = cat([self.k, k], dim=2)                          # (B, H, T_past + T_new, D)
            self.v = cat([self.v, v], dim=2)                          # (B, H, T_past + T_new, D)
        return self.k, self.v

    def __repr__(self):
        return f"KVCache(positions={len(self)})"


def causal_mask(tq, tk, xp=None):
    """Bool (Tq, Tk), True = may attend: the last Tq of Tk positions, each seeing itself and before.

    Query i sits at position Tk - Tq + i (the earlier Tk - Tq positions are cached), so it may
    attend key j when j <= i + Tk - Tq. With Tq == Tk this is the lower triangle (what
    ``is_causal=True`` means in ``F.scaled_dot_product_attention``, which is top-left aligned
    and so wrong for Tq < Tk).

    >>> causal_mask(2, 3).astype(int).tolist()
    [[1, 1, 0], [1, 1, 1]]
    """
    xp = np if xp is None else xp
    return xp.tril(xp.ones((tq, tk), dtype=bool), k=tk - tq)


class MultiHeadAttention(Module):
    """concat(head_1, ..., head_H) W_O with head_h = softmax(Q_h K_hᵀ / √D) V_h (FORMULAS C3).

    Args:
        d_model: C, the width of the input and output vectors.
        n_head: H; the head width is D = C / H (C must be divisible by H).
        dropout: probability of dropping attention weights, in training only.
        bias: whether the projections have biases.
        cross: False for self-attention (Q, K, V from x: one fused projection ``qkv_proj``
            C -> 3C); True for cross-attention (Q from x by ``q_proj``, K and V from ``memory``
            by the fused ``kv_proj`` C -> 2C).

    ``out_proj`` is W_O (C -> C). Shapes: x (B, Tq, C), memory (B, Tk, C) -> (B, Tq, C).
    """

    def __init__(self, d_model, n_head, dropout=0.0, bias=True, cross=False):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"MultiHeadAttention: d_model={d_model} is not divisible by "
                             f"n_head={n_head}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1], got {dropout}")
        self.d_model, self.n_head, self.dropout, self.cross = d_model, n_head, dropout, cross
        if cross:
            self.q_proj = Linear(d_model, d_model, bias=bias)          # W_Q
            self.kv_proj = Linear(d_model, 2 * d_model, bias=bias)     # [W_K | W_V]
        else:
            self.qkv_proj = Linear(d_model, 3 * d_model, bias=bias)    # [W_Q | W_K | W_V]
        self.out_proj = Linear(d_model, d_model, bias=bias)            # W_O

    def _heads(self, t):
        """(B, T, C) -> (B, H, T, D)."""
        B, T, C = t.shape
        return t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)   # (B, H, T, D)

    def forward(self, x, memory=None, causal=False, key_padding_mask=None, attn_mask=None,
                cache=None):
        """Attend from x to itself (or to ``memory`` when cross=True).

        Args:
            x: (B, Tq, C) the queries' inputs.
            memory: (B, Tk, C) the encoder output (cross-attention only).
            causal: position i attends only positions ≤ i. With a cache the new queries sit
                after the cached positions and the mask is shifted accordingly.
            key_padding_mask: bool (B, Tk), True = a padded key that no query may attend. With
                a cache it covers every key: the cached ones and the new ones.
            attn_mask: bool, True = may attend, broadcastable to (B, H, Tq, Tk); ANDed with the
                others.
            cache: a ``KVCache`` of this layer (incremental decoding), or None.
        Returns: (B, Tq, C).
        """
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(f"MultiHeadAttention: expected x of shape (B, T, {self.d_model}), "
                             f"got {x.shape}")
        B, Tq, C = x.shape
        if self.cross:
            if memory is None:
                raise ValueError("MultiHeadAttention(cross=True) needs memory (B, Tk, C)")
            if memory.ndim != 3 or memory.shape[0] != B or memory.shape[2] != C:
                raise ShapeError(f"MultiHeadAttention: memory of shape {memory.shape} does not "
                                 f"fit x of shape {x.shape}; expected ({B}, Tk, {C})")
            q = self._heads(self.q_proj(x))                                     # (B, H, Tq, D)
            if cache is not None and len(cache):
                k, v = cache.k, cache.v                                         # (B, H, Tk, D)
            else:
                k, v = self.kv_proj(memory).split(C, dim=2)                     # 2 × (B, Tk, C)
                k, v = self._heads(k), self._heads(v)                           # (B, H, Tk, D)
                if cache is not None:
                    cache.append(k, v)
        else:
            if memory is not None:
                raise ValueError("MultiHeadAttention: memory is for cross-attention; build the "
                                 "module with cross=True")
            if cache is None:       # split, heads, attention and concat below, as one op
                mask = self._mask(x, Tq, Tq, causal, key_padding_mask, attn_mask)
                y = F.packed_qkv_attention(self.qkv_proj(x), self.n_head, attn_mask=mask,
                                           is_causal=causal and mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)
                return self.out_proj(y)                                         # (B, Tq, C)
            q, k, v = self.qkv_proj(x).split(C, dim=2)                          # 3 × (B, Tq, C)
            q, k, v = self._heads(q), self._heads(k), self._heads(v)            # (B, H, Tq, D)
            if cache is not None:
                k, v = cache.append(k, v)                                       # (B, H, Tk, D)
        Tk = k.shape[2]

        mask = self._mask(x, Tq, Tk, causal, key_padding_mask, attn_mask)
        fused_causal = causal and mask is None and Tq == Tk     # top-left aligned: Tq == Tk only
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=fused_causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, Tq, C)          # (B, Tq, H, D) -> (B, Tq, C): concat heads
        return self.out_proj(y)                                                 # (B, Tq, C)

    def _mask(self, x, Tq, Tk, causal, key_padding_mask, attn_mask):
        """The bool attend-mask (True = may attend) broadcastable to (B, H, Tq, Tk), or None when
        the only constraint is a causal mask with Tq == Tk (the fused ``is_causal`` path) or
        with one query after a cache (it sees every key)."""
        xp = array_module(x.data)
        mask = None
        if causal and Tq != Tk and Tq > 1:     # one query, the newest, sees every key: no mask
            mask = causal_mask(Tq, Tk, xp)                                      # (Tq, Tk)
        if key_padding_mask is not None:
            pad = to_device(array_of(key_padding_mask), x.device)
            if pad.dtype != bool:
                raise DTypeError(f"MultiHeadAttention: key_padding_mask must be bool (True = "
                                 f"padded), got {pad.dtype}")
            if pad.shape != (x.shape[0], Tk):
                raise ShapeError(f"MultiHeadAttention: key_padding_mask must be (B, Tk) = "
                                 f"({x.shape[0]}, {Tk}) (cached keys included), got {pad.shape}")
            keep = ~pad[:, None, None, :]                                       # (B, 1, 1, Tk)
            mask = keep if mask is None else mask & keep                        # (B, 1, Tq, Tk)
        if attn_mask is not None:
            extra = to_device(array_of(attn_mask), x.device)
            if extra.dtype != bool:
                raise DTypeError(f"MultiHeadAttention: attn_mask must be bool (True = attend), "
                                 f"got {extra.dtype}")
            mask = extra if mask is None else mask & extra
        if mask is not None and causal and Tq == Tk:
            mask = mask & causal_mask(Tq, Tk, xp)                               # (..., Tq, Tk)
        return mask

    def extra_repr(self):
        return (f"d_model={self.d_model}, n_head={self.n_head}, dropout={self.dropout}, "
                f"cross={self.cross}")
