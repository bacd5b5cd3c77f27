"""Exercise 08 — one step of the Adam optimizer.

Taught in lessons 01 and 12; FORMULAS B4.

Task: write ``adam_step``, which returns the new parameter and the new moment estimates after
step t (t = 1, 2, ...), given the gradient g of this step:

    m = β1 m + (1 − β1) g            running mean of the gradient        (first moment)
    v = β2 v + (1 − β2) g²           running mean of its square          (second moment)
    m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)                             (bias correction)
    param = param − lr · m̂ / (√v̂ + ε)

m and v start at 0, which pulls them towards 0 in the first steps; dividing by 1 − β^t undoes
that pull (at t = 1, m̂ = g exactly). Return m and v themselves (not m̂, v̂): they are what
the next step needs.

Shapes: param, grad, m, v all the same shape; NumPy arrays. t is an int ≥ 1.

Hint: at t = 1 every parameter moves by about lr against the sign of its gradient, whatever
the gradient's size — a quick check of your code by hand.

Check your work:
    python -m lessons check ex08
"""
import numpy as np


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step; returns (new param, new m, new v)."""
    # Your code here, in place of the line below.
    raise NotImplementedError("adam_step: return (param, m, v)")
