"""Exercise 01 — the backward of Mul, Div and Pow, with broadcasting.

Taught in lessons 01 and 02.

Task: write ``backward`` for the three ops below. Each ``forward`` is given; it works on NumPy
arrays and broadcasts as NumPy does. ``backward(ctx, grad)`` receives ``grad`` = dL/dy (the
upstream gradient, the output's shape) and returns ``(da, db)``: dL/da with a's shape and dL/db
with b's shape.

Formulas (element-wise, ⊙ is the element-wise product):

    y = a ⊙ b      da = grad ⊙ b                 db = grad ⊙ a
    y = a / b      da = grad / b                 db = −grad ⊙ a / b²
    y = a ** b     da = grad ⊙ b ⊙ a^(b−1)       db = grad ⊙ a^b ⊙ log a      (a > 0)

Broadcasting: a of shape (2, 3) times b of shape (3,) gives y of shape (2, 3): b's row was used
by every row of y, so dL/db is the SUM over the rows of (grad ⊙ a). In general, sum the
gradient over every axis that broadcasting added or stretched from size 1, to get back the
input's shape. ``minigrad.broadcast.unbroadcast(grad, shape)`` does exactly this sum — use it,
or write the sum yourself (lesson 02 shows how).

Shapes: a, b any shapes that broadcast together, e.g. (2, 1, 4) and (3, 1) -> y (2, 3, 4).

Hint: first get the formula right for equal shapes (``x = g * b``), then sum it back.

Check your work:
    python -m lessons check ex01
"""
import numpy as np

import minigrad as mg
from minigrad.broadcast import unbroadcast


class Mul(mg.Function):
    """y = a ⊙ b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("Mul.backward: return (da, db)")


class Div(mg.Function):
    """y = a / b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("Div.backward: return (da, db)")


class Pow(mg.Function):
    """y = a ** b, for a > 0."""

    @staticmethod
    def forward(ctx, a, b):
        y = a ** b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("Pow.backward: return (da, db)")
