"""Reference solution of exercise 06 — scaled dot-product attention, with a causal mask.

Taught in lesson 06; FORMULAS C3.

Task: write ``scaled_dot_product_attention(q, k, v, causal=False)`` with minigrad ops, so that
gradients flow back to q, k and v:

    scores = Q Kᵀ / √D                    (..., Tq, Tk)    how well query i matches key j
    A = softmax(scores) over the keys     (..., Tq, Tk)    each row sums to 1
    O = A V                               (..., Tq, Dv)

Shapes: q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv); the leading dims (batch, heads) are
the same for all three. With ``causal=True`` (then Tq = Tk = T), query i may look only at keys
j ≤ i: the scores above the diagonal become −∞ before the softmax, so their weights are 0.

Hint: ``q @ k.transpose(-2, -1)`` is Q Kᵀ, a batched matrix product;
``scores.masked_fill(mask, float("-inf"))`` writes −∞ where the bool ``mask`` is True, and
``np.triu(np.ones((T, T), dtype=bool), k=1)`` is True exactly above the diagonal;
``mg.softmax(scores, dim=-1)`` normalises over the keys. Do not go through ``.numpy()``: the
result must stay connected to the graph.

Check your work:
    python -m lessons check ex06 --solution
"""
import math

import numpy as np

import minigrad as mg


def scaled_dot_product_attention(q, k, v, causal=False):
    """O = softmax(Q Kᵀ / √D) V, optionally causal. Tensors in, a Tensor (..., Tq, Dv) out."""
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)                # (..., Tq, Tk)
    if causal:
        t = q.shape[-2]
        future = np.triu(np.ones((t, t), dtype=bool), k=1)         # (T, T): True above the diagonal
        scores = scores.masked_fill(future, float("-inf"))
    weights = mg.softmax(scores, dim=-1)                           # (..., Tq, Tk)
    return weights @ v                                             # (..., Tq, Dv)
