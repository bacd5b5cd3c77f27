"""Exercise 02 — the backward of softmax.

Taught in lesson 06; FORMULAS C3.

Task: write ``Softmax.backward``. The forward is given: softmax over the last axis,

    y_i = exp(x_i − max x) / Σ_j exp(x_j − max x)          x, y: (..., n)

Formula: each y_i depends on every x_j, with ∂y_i/∂x_j = y_i (δ_ij − y_j) (the Jacobian is
diag(y) − y yᵀ). Multiplying grad = dL/dy by it gives

    dx = y ⊙ (grad − Σ_j grad_j y_j)          the sum over the last axis, one number per row

Shapes: x, y, grad, dx all (..., n): a single row (n,), or a batch (B, n), (B, T, n), ...

Hint: in NumPy, ``(grad * y).sum(axis=-1, keepdims=True)`` is the per-row sum, kept as
(..., 1) so that it broadcasts against (..., n). Without keepdims, (B, n) − (B,) does not
broadcast (or worse, broadcasts wrongly when B = n).

Check your work:
    python -m lessons check ex02
"""
import numpy as np

import minigrad as mg


class Softmax(mg.Function):
    """y = softmax(x) over the last axis."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("Softmax.backward: return dx")
