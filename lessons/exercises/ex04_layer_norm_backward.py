"""Exercise 04 — the backward of layer normalization.

Taught in lesson 11: every Transformer block has two layer norms.

Task: write ``LayerNorm.backward``. The forward is given: normalise each row (the last axis,
C features) to mean 0 and variance 1, then scale and shift,

    μ = mean(x),  σ = √(var(x) + ε),  x̂ = (x − μ) / σ,  y = x̂ ⊙ w + b
    x, y: (..., C);  weight w, bias b: (C,);  μ, σ: (..., 1), one per row

Formulas, with dx̂ = grad ⊙ w and means over the last axis:

    dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / σ
    dw = Σ grad ⊙ x̂          summed over every axis but the last  -> (C,)
    db = Σ grad              summed over every axis but the last  -> (C,)

Why the two extra terms in dx: μ and σ depend on every x of the row, so moving one x_j moves
them too; treating them as constants gives dx̂ / σ, which is wrong.

Hint: ``tuple(range(grad.ndim - 1))`` names the axes to sum for dw and db (none for a single
row of shape (C,)).

Check your work:
    python -m lessons check ex04
"""
import numpy as np

import minigrad as mg


class LayerNorm(mg.Function):
    """y = (x − mean) / √(var + ε) ⊙ weight + bias, over the last axis."""

    EPS = 1e-5

    @staticmethod
    def forward(ctx, x, weight, bias):
        mu = x.mean(axis=-1, keepdims=True)
        sigma = np.sqrt(x.var(axis=-1, keepdims=True) + LayerNorm.EPS)            # (..., 1)
        x_hat = (x - mu) / sigma
        ctx.save_for_backward(x_hat, sigma, weight)
        return x_hat * weight + bias

    @staticmethod
    def backward(ctx, grad):
        x_hat, sigma, weight = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("LayerNorm.backward: return (dx, dweight, dbias)")
