"""Property: for any mutually broadcastable shapes, gradients match finite differences.

Hypothesis draws the shapes (0 to 3 dims, sides 1 to 3); the values come from a generator
seeded by hypothesis too, so a failure shrinks to a small, reproducible example.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad as mg

SETTINGS = settings(max_examples=25, deadline=None)
TWO_SHAPES = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
THREE_SHAPES = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)
MATMUL_SHAPES = mutually_broadcastable_shapes(signature="(m,n),(n,p)->(m,p)", max_dims=2,
                                              max_side=3)
SEEDS = st.integers(0, 2**32 - 1)


def leaf(array):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def check_gradients(fn, *inputs):
    """gradcheck, plus: every input's gradient has exactly that input's shape."""
    assert mg.gradcheck(fn, *inputs)
    out = fn(*inputs)
    out.backward(mg.tensor(np.ones(out.shape)))
    for x in inputs:
        assert x.grad.shape == x.shape


@SETTINGS
@given(shapes=TWO_SHAPES, seed=SEEDS, op=st.sampled_from(["add", "sub", "mul", "div"]))
def test_arithmetic_broadcast_gradients(shapes, seed, op):
    r = np.random.default_rng(seed)
    (sa, sb), expected = shapes
    a = leaf(r.standard_normal(sa))
    b = leaf(r.uniform(0.5, 2.0, sb) * r.choice([-1, 1], sb))   # |b| >= 0.5: safe to divide by
    fn = getattr(mg, op)
    assert fn(a, b).shape == expected
    check_gradients(fn, a, b)


@SETTINGS
@given(shapes=TWO_SHAPES, seed=SEEDS)
def test_pow_broadcast_gradients(shapes, seed):
    r = np.random.default_rng(seed)
    (sa, sb), expected = shapes
    base, exponent = leaf(r.uniform(0.5, 2.0, sa)), leaf(r.standard_normal(sb))
    assert (base ** exponent).shape == expected
    check_gradients(mg.pow, base, exponent)


@SETTINGS
@given(shapes=THREE_SHAPES, seed=SEEDS)
def test_where_broadcast_gradients(shapes, seed):
    r = np.random.default_rng(seed)
    (sc, sa, sb), expected = shapes
    cond = r.random(sc) < 0.5
    a, b = leaf(r.standard_normal(sa)), leaf(r.standard_normal(sb))
    assert mg.where(cond, a, b).shape == expected
    check_gradients(lambda a, b: mg.where(cond, a, b), a, b)


@SETTINGS
@given(shapes=MATMUL_SHAPES, seed=SEEDS)
def test_batched_matmul_broadcast_gradients(shapes, seed):
    r = np.random.default_rng(seed)
    (sa, sb), expected = shapes
    a, b = leaf(r.standard_normal(sa)), leaf(r.standard_normal(sb))
    assert (a @ b).shape == expected
    check_gradients(mg.matmul, a, b)
