"""Checks of the backward exercises: ex01 Mul/Div/Pow, ex02 softmax, ex03 cross-entropy,
ex04 layer norm, ex10 embedding, ex12 GELU.

Each compares the student's gradients with minigrad's autograd on the library op, on fresh
random inputs of several shapes (broadcast ones included), then runs ``mg.gradcheck`` through
``op.apply``. ``variants`` name the usual mistakes, so that a message can say which one it is.
"""
import math

import numpy as np
from scipy.special import erf

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.broadcast import unbroadcast
from lessons.exercises.checks.helpers import (check_backward, gradcheck_op, need, nonzero,
                                              positive, shapes)

__all__ = ["check_mul", "check_div", "check_pow", "check_softmax", "check_cross_entropy",
           "check_layer_norm", "check_embedding", "check_gelu"]

# (a's shape, b's shape, what broadcasts)
BINARY_CASES = [((3, 4), (3, 4), "same shapes"), ((2, 3), (3,), "b broadcast over the rows"),
                ((2, 1, 4), (3, 1), "both broadcast"), ((4,), (), "b a 0-d scalar"),
                ((1, 3), (2, 1), "both stretched from size 1")]


def _binary(op_name, reference, make_b, hint, variants):
    def check(module, rng):
        op = need(module, op_name)
        for a_shape, b_shape, note in BINARY_CASES:
            a, b = positive(rng, a_shape), make_b(rng, b_shape)
            case = f"{shapes('ab', (a, b))} ({note})"
            check_backward(op, (a, b), ("a", "b"), ("a", "b"), reference, case, rng, hint,
                           lambda g: variants(g, a, b))
        a, b = positive(rng, (2, 3)), make_b(rng, (3,))
        gradcheck_op(op, (a, b), ("a", "b"), ("a", "b"), f"{shapes('ab', (a, b))}")
    return check


def _sum_to(shape_of):
    return lambda full: unbroadcast(np.asarray(full, np.float64), np.shape(shape_of))


check_mul = _binary(
    "Mul", mg.mul, nonzero,
    "y = a ⊙ b: da = grad ⊙ b and db = grad ⊙ a, each summed back to its input's shape "
    "(unbroadcast(grad * b, a.shape))",
    lambda g, a, b: {"a": {"the two gradients are swapped (da = grad ⊙ a)":
                           _sum_to(a)(g * a)},
                     "b": {"the two gradients are swapped (db = grad ⊙ b)":
                           _sum_to(b)(g * b)}})

check_div = _binary(
    "Div", mg.div, nonzero,
    "y = a / b: da = grad / b and db = −grad ⊙ a / b², each summed back to its input's shape",
    lambda g, a, b: {"a": {"da = grad ⊙ b (multiplied where you should divide)":
                           _sum_to(a)(g * b)},
                     "b": {"db = −grad / b² (the factor a is missing)": _sum_to(b)(-g / b**2),
                           "db = −grad ⊙ a / b (b must be squared)": _sum_to(b)(-g * a / b),
                           "db = grad ⊙ a / b² (the minus sign is missing)":
                           _sum_to(b)(g * a / b**2)}})

check_pow = _binary(
    "Pow", mg.pow, nonzero,
    "y = a ** b (a > 0 here): da = grad ⊙ b ⊙ a^(b−1) and db = grad ⊙ a^b ⊙ log a",
    lambda g, a, b: {"a": {"da = grad ⊙ b ⊙ a^b (the exponent must be b − 1)":
                           _sum_to(a)(g * b * a**b),
                           "da = grad ⊙ a^(b−1) (the factor b is missing)":
                           _sum_to(a)(g * a ** (b - 1))},
                     "b": {"db = grad ⊙ a^b (the factor log a is missing)": _sum_to(b)(g * a**b),
                           "db = grad ⊙ b ⊙ a^(b−1) (that is da's formula; "
                           "d(a^b)/db = a^b log a)":
                           _sum_to(b)(g * b * a ** (b - 1))}})


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_softmax(module, rng):
    op = need(module, "Softmax")
    hint = ("softmax's Jacobian is diag(y) − y yᵀ, so dx = y ⊙ (grad − Σ_j grad_j y_j), the sum "
            "over the last axis with keepdims=True")

    def variants(x):
        def known(g):
            y = _softmax(x)
            found = {"dx = y ⊙ grad (the Jacobian's diagonal only: the − Σ grad ⊙ y term is "
                     "missing)": y * g,
                     "the sum is Σ grad instead of Σ grad ⊙ y": y * (g - g.sum(-1, keepdims=True)),
                     "dx = grad − Σ grad ⊙ y (the outer factor y is missing)":
                     g - (g * y).sum(-1, keepdims=True)}
            if x.ndim > 1:
                found["the sum runs over axis 0 instead of the last axis"] = \
                    y * (g - (g * y).sum(0, keepdims=True))
            return {"x": found}
        return known

    for shape in [(5,), (3, 4), (2, 3, 5), (4, 1)]:
        x = nonzero(rng, shape)
        check_backward(op, (x,), ("x",), ("x",), lambda t: mg.softmax(t, dim=-1),
                       f"x {shape}", rng, hint, variants(x))
    x = nonzero(rng, (2, 3))
    gradcheck_op(op, (x,), ("x",), ("x",), "x (2, 3)")


def check_cross_entropy(module, rng):
    op = need(module, "CrossEntropy")
    hint = ("loss = mean over the M rows of −log softmax(logits)[target], so "
            "dlogits = grad ⊙ (softmax(logits) − onehot(target)) / M, and None for target")
    for m, c in [(1, 3), (4, 5), (6, 2), (8, 10)]:
        logits = nonzero(rng, (m, c))
        target = rng.integers(0, c, size=m)

        def variants(g, logits=logits, target=target, m=m, c=c):
            p, onehot = _softmax(logits), np.eye(c)[target]
            return {"logits": {
                "the division by M is missing (the loss is the mean over the M rows)":
                g * (p - onehot),
                "dlogits = grad ⊙ softmax / M (the − onehot(target) term is missing)": g * p / m,
                "the upstream grad is not multiplied in (the chain rule's last factor)":
                (p - onehot) / m}}
        check_backward(op, (logits, target), ("logits", "target"), ("logits",),
                       lambda t, y: F.cross_entropy(t, y), f"logits ({m}, {c}), target ({m},)",
                       rng, hint, variants)
    logits, target = nonzero(rng, (3, 4)), rng.integers(0, 4, size=3)
    gradcheck_op(op, (logits, target), ("logits", "target"), ("logits",), "logits (3, 4)")


def check_layer_norm(module, rng):
    op = need(module, "LayerNorm")
    eps = getattr(op, "EPS", 1e-5)
    hint = ("with x̂ = (x − μ)/σ and dx̂ = grad ⊙ w: dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / σ "
            "(means over the last axis); dw = Σ grad ⊙ x̂ and db = Σ grad over every other axis")
    for shape in [(4,), (3, 5), (2, 3, 4)]:
        c = shape[-1]
        x, w, b = nonzero(rng, shape), nonzero(rng, (c,)), nonzero(rng, (c,))

        def variants(g, x=x, w=w):
            mu = x.mean(-1, keepdims=True)
            rstd = 1 / np.sqrt(x.var(-1, keepdims=True) + eps)
            xh, dxh = (x - mu) * rstd, g * w
            mean = lambda t: t.mean(-1, keepdims=True)          # noqa: E731
            batch = tuple(range(x.ndim - 1))
            return {"x": {"dx = grad ⊙ w / σ (μ and σ treated as constants: they depend on x "
                          "too)": dxh * rstd,
                          "the − mean(dx̂) term is missing": (dxh - xh * mean(dxh * xh)) * rstd,
                          "the − x̂ ⊙ mean(dx̂ ⊙ x̂) term is missing": (dxh - mean(dxh)) * rstd,
                          "w is missing from dx̂ (dx̂ = grad ⊙ w)":
                          (g - mean(g) - xh * mean(g * xh)) * rstd},
                    "weight": {"dw = Σ grad (that is db's formula; dw = Σ grad ⊙ x̂)":
                               g.sum(batch) if batch else g,
                               "dw = Σ grad ⊙ x (x̂, the normalized x, is the factor)":
                               (g * x).sum(batch) if batch else g * x},
                    "bias": {"db = Σ grad ⊙ x̂ (that is dw's formula; db = Σ grad)":
                             (g * xh).sum(batch) if batch else g * xh}}
        check_backward(op, (x, w, b), ("x", "weight", "bias"), ("x", "weight", "bias"),
                       lambda t, tw, tb, c=c: F.layer_norm(t, (c,), tw, tb, eps=eps),
                       shapes(("x", "weight", "bias"), (x, w, b)), rng, hint, variants)
    x, w, b = nonzero(rng, (2, 3)), nonzero(rng, (3,)), nonzero(rng, (3,))
    gradcheck_op(op, (x, w, b), ("x", "weight", "bias"), ("x", "weight", "bias"),
                 "x (2, 3), weight (3,), bias (3,)")


def check_embedding(module, rng):
    op = need(module, "Embedding")
    hint = ("every position t adds grad[t] into row idx[t] of dW, also when an index repeats: "
            "np.add.at(dW, idx, grad) (or dW = onehot(idx)ᵀ @ grad); `dW[idx] += grad` keeps "
            "only one of the repeated rows")
    for v, c, idx in [(6, 3, np.array([1, 4, 1, 0, 1])), (7, 2, rng.integers(0, 3, size=(2, 4))),
                      (5, 4, np.full((3, 3), 2)), (9, 3, rng.integers(0, 9, size=(12,)))]:
        weight = nonzero(rng, (v, c))

        def variants(g, idx=idx, v=v, c=c):
            last_wins = np.zeros((v, c))
            last_wins[idx.reshape(-1)] += g.reshape(-1, c)
            repeated = [int(i) for i in np.unique(idx) if (idx == i).sum() > 1]
            return {"weight": {"you wrote `dW[idx] += grad` (or `dW[idx] = grad`): NumPy makes "
                               "one update per distinct index, so the rows whose index repeats "
                               f"in idx ({repeated}) keep only one contribution": last_wins}}
        check_backward(op, (weight, idx), ("weight", "idx"), ("weight",),
                       lambda w, i: F.embedding(i, w), f"weight ({v}, {c}), idx {idx.shape} = "
                       f"{idx.tolist()}", rng, hint, variants)
    weight, idx = nonzero(rng, (4, 2)), np.array([3, 0, 3])
    gradcheck_op(op, (weight, idx), ("weight", "idx"), ("weight",), "weight (4, 2), idx [3, 0, 3]")


def check_gelu(module, rng):
    op = need(module, "GELU")
    hint = ("d/dx [x Φ(x)] = Φ(x) + x φ(x), with Φ(x) = (1 + erf(x/√2))/2 and "
            "φ(x) = exp(−x²/2)/√(2π); multiply by grad")

    def variants(x):
        def known(g):
            cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
            pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
            return {"x": {"dx = grad ⊙ Φ(x) (the x φ(x) term is missing: by the product "
                          "rule, d[x Φ(x)]/dx = Φ(x) + x Φ'(x))":
                          g * cdf,
                          "dx = grad ⊙ x φ(x) (the Φ(x) term is missing)": g * x * pdf,
                          "φ lacks its 1/√(2π)": g * (cdf + x * np.exp(-x * x / 2)),
                          "the upstream grad is not multiplied in": cdf + x * pdf}}
        return known

    for shape in [(7,), (3, 4), (2, 3, 2)]:
        x = nonzero(rng, shape, low=0.1, high=3.0)
        check_backward(op, (x,), ("x",), ("x",), F.gelu, f"x {shape}", rng, hint, variants(x))
    x = nonzero(rng, (5,), low=0.1, high=3.0)
    gradcheck_op(op, (x,), ("x",), ("x",), "x (5,)")
