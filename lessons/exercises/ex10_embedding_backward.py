"""Exercise 10 — the backward of an embedding lookup: a scatter-add.

Taught in lesson 05; FORMULAS C2.

Task: write ``Embedding.backward``. The forward is given: row idx[...] of the table,

    y[..., :] = W[idx[...], :]          W (V, C),  idx (...) integers in [0, V),  y (..., C)

which is the same as onehot(idx) @ W. So the gradient of W is onehot(idx)ᵀ @ grad: row v of
dW is the sum of grad over every position where idx == v, and 0 for a token never used:

    dW[v, :] = Σ_{positions p with idx[p] = v} grad[p, :]          dW (V, C)

``backward`` returns ``(dW, None)``: the indices are integers, they have no gradient.

Hint: start from ``np.zeros(weight_shape)`` and add each row of grad into its row of dW.
``np.add.at(dW, idx, grad)`` does that. Beware ``dW[idx] += grad``: when an index repeats (a
word used twice), NumPy applies only one of the updates — and words repeat all the time.

Check your work:
    python -m lessons check ex10
"""
import numpy as np

import minigrad as mg


class Embedding(mg.Function):
    """y = weight[idx]: a lookup of rows."""

    @staticmethod
    def forward(ctx, weight, idx):
        ctx.save_for_backward(idx)
        ctx.weight_shape = weight.shape
        return weight[idx]

    @staticmethod
    def backward(ctx, grad):
        (idx,) = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("Embedding.backward: return (dW, None)")
