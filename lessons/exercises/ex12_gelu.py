"""Exercise 12 — the backward of GELU, the activation of GPT and BERT.

Taught in lesson 09; FORMULAS C5.

Task: write ``GELU.backward``. The forward is given:

    y = x Φ(x),      Φ(x) = (1 + erf(x / √2)) / 2          the standard normal's CDF

GELU lets a unit pass in proportion to how likely a standard normal variable is below x: close
to ReLU for large |x|, smooth around 0.

Formula (the product rule: x is a factor, and Φ depends on x too):

    dx = grad ⊙ (Φ(x) + x φ(x)),      φ(x) = exp(−x²/2) / √(2π)   (the normal density)

Shapes: x, grad, dx all the same shape (...).

Hint: check the formula at x = 0 by hand: Φ(0) = 1/2, so dx = grad / 2 there.

Check your work:
    python -m lessons check ex12
"""
import math

import numpy as np
from scipy.special import erf

import minigrad as mg


class GELU(mg.Function):
    """y = x Φ(x) (the exact GELU, not the tanh approximation)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 0.5 * (1 + erf(x / math.sqrt(2)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("GELU.backward: return dx")
