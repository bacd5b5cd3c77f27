"""Every differentiable op passes ``mg.gradcheck`` in float64 — and a meta-test proves "every".

Each case is a builder ``r -> (fn, inputs)``: ``r`` is a seeded NumPy generator, ``inputs`` are
fresh float64 tensors with requires_grad, and everything that takes no gradient (masks,
indices, targets) is drawn from ``r`` too and closed over by ``fn``. Inputs stay away from the
points where an op has no derivative (kinks of abs/relu/clamp, ties of max/min, log/sqrt at 0).

``test_every_registered_op_has_a_gradcheck_case`` runs every case's forward inside
``trace_ops()`` and fails when ``minigrad.registry.OPS`` holds an op that no case applies.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functions  # noqa: F401  (registers every op)
import minigrad.nn  # noqa: F401  (registers the ops that nn adds, if any)
from minigrad.functions.elementwise import Cast
from minigrad.functions.linalg import Linear
from minigrad.functions.nn_ops import (GELU, BCEWithLogits, CrossEntropy, LayerNorm,
                                       PackedQKVAttention, ScaledDotProductAttention)
from minigrad.functions.shape import ToDevice
from minigrad.registry import OPS, trace_ops


# ---- inputs -------------------------------------------------------------------------------
def leaf(array):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def normal(r, *shape):
    return leaf(r.standard_normal(shape))


def positive(r, *shape):
    return leaf(r.uniform(0.5, 2.0, shape))


def avoiding(r, *shape, kinks=(0.0,), margin=0.1):
    """Uniform in [-2, 2), every element at least ``margin`` away from each kink."""
    x = r.uniform(-2.0, 2.0, shape)
    while True:
        near = np.zeros(shape, dtype=bool)
        for k in kinks:
            near |= np.abs(x - k) < margin
        if not near.any():
            return leaf(x)
        x = np.where(near, r.uniform(-2.0, 2.0, shape), x)


def distinct(r, *shape):
    """Values at least 0.5 apart, in random order: max/min have no ties."""
    n = int(np.prod(shape))
    return leaf((r.permutation(n) + r.uniform(0, 0.5)).reshape(shape) - n / 2)


def mask(r, *shape):
    return r.random(shape) < 0.5


# ---- cases: name -> builder(r) -> (fn, inputs) ---------------------------------------------
CASES = {}


def case(name, builder):
    assert name not in CASES, name
    CASES[name] = builder


BINARY = {"add": mg.add, "sub": mg.sub, "mul": mg.mul, "div": mg.div, "pow": mg.pow}
PATTERNS = {"same": ((3, 4), (3, 4)), "0d-left": ((), (3, 4)), "0d-right": ((3, 4), ()),
            "col-row": ((3, 1), (1, 4)), "trailing": ((2, 3, 4), (4,)),
            "trailing-left": ((4,), (2, 3, 4)), "middle": ((2, 1, 4), (3, 1))}
for op_name, op in BINARY.items():
    for pattern, (sa, sb) in PATTERNS.items():
        if op_name == "pow":      # positive base, any exponent
            case(f"{op_name}-{pattern}",
                 lambda r, op=op, sa=sa, sb=sb: (op, [positive(r, *sa), normal(r, *sb)]))
        elif op_name == "div":    # denominator away from 0
            case(f"{op_name}-{pattern}",
                 lambda r, op=op, sa=sa, sb=sb: (op, [normal(r, *sa), positive(r, *sb)]))
        else:
            case(f"{op_name}-{pattern}",
                 lambda r, op=op, sa=sa, sb=sb: (op, [normal(r, *sa), normal(r, *sb)]))

# Python and NumPy numbers on either side
case("add-scalar", lambda r: (lambda x: 2.5 + x + np.float64(1.5), [normal(r, 3, 4)]))
case("sub-scalar", lambda r: (lambda x: (2.5 - x) - 1.5, [normal(r, 3, 4)]))
case("mul-scalar", lambda r: (lambda x: np.float32(3) * x * -1.5, [normal(r, 3, 4)]))
case("div-scalar", lambda r: (lambda x: 3.0 / x + x / 4.0, [positive(r, 3, 4)]))
case("pow-int", lambda r: (lambda x: x ** 3, [normal(r, 3, 4)]))
case("pow-fractional", lambda r: (lambda x: x ** 0.5 + x ** -1.5, [positive(r, 3, 4)]))
case("pow-scalar-base", lambda r: (lambda x: 2.0 ** x, [normal(r, 3, 4)]))
case("pow-method", lambda r: (lambda x, y: x.pow(y), [positive(r, 3), normal(r, 3)]))

# unary
case("neg", lambda r: (lambda x: -x, [normal(r, 3, 4)]))
case("exp", lambda r: (mg.exp, [normal(r, 3, 4)]))
case("log", lambda r: (mg.log, [positive(r, 3, 4)]))
case("sqrt", lambda r: (mg.sqrt, [positive(r, 3, 4)]))
case("abs", lambda r: (mg.abs, [avoiding(r, 3, 4)]))
case("tanh", lambda r: (mg.tanh, [normal(r, 3, 4)]))
case("sigmoid", lambda r: (mg.sigmoid, [leaf(r.uniform(-6, 6, (3, 4)))]))
case("relu", lambda r: (mg.relu, [avoiding(r, 3, 4)]))
case("clamp-both", lambda r: (lambda x: x.clamp(-1.0, 0.5),
                              [avoiding(r, 3, 4, kinks=(-1.0, 0.5))]))
case("clamp-min", lambda r: (lambda x: mg.clamp(x, min=-0.5), [avoiding(r, 3, 4, kinks=(-0.5,))]))
case("clamp-max", lambda r: (lambda x: mg.clamp(x, max=0.3), [avoiding(r, 3, 4, kinks=(0.3,))]))
case("gelu-exact", lambda r: (lambda x: GELU.apply(x, "none"), [normal(r, 3, 4)]))
case("gelu-tanh", lambda r: (lambda x: GELU.apply(x, "tanh"), [normal(r, 3, 4)]))
case("cast", lambda r: (lambda x: Cast.apply(Cast.apply(x, np.dtype(np.longdouble)),
                                             np.dtype(np.float64)), [normal(r, 3, 4)]))
case("to-device-cpu", lambda r: (lambda x: ToDevice.apply(x, "cpu") * x, [normal(r, 3, 4)]))

# where and masked_fill
case("where-same", lambda r: (lambda a, b, c=mask(r, 3, 4): mg.where(c, a, b),
                              [normal(r, 3, 4), normal(r, 3, 4)]))
case("where-broadcast", lambda r: (lambda a, b, c=mask(r, 3, 1): mg.where(c, a, b),
                                   [normal(r, 1, 4), normal(r, 2, 3, 4)]))
case("where-scalar", lambda r: (lambda a, c=mg.tensor(mask(r, 3, 4)): mg.where(c, a, 0.0),
                                [normal(r, 3, 4)]))
case("masked-fill", lambda r: (lambda x, m=mask(r, 3, 4): x.masked_fill(mg.tensor(m), 2.0),
                               [normal(r, 3, 4)]))
case("masked-fill-broadcast", lambda r: (lambda x, m=mask(r, 1, 4): mg.masked_fill(x, m, -3.0),
                                         [normal(r, 2, 3, 4)]))

# reused nodes
case("reuse-square", lambda r: (lambda x: x * x, [normal(r, 3, 4)]))
case("reuse-three-branches", lambda r: (lambda x: x.exp() + x * 2.0 - x.tanh(), [normal(r, 3, 4)]))
case("reuse-diamond", lambda r: (lambda x: (lambda h: h * h + h.sigmoid() * h)(x * 3.0 - 1.0),
                                 [normal(r, 3, 4)]))
case("reuse-both-inputs", lambda r: (lambda x, y: (x * y) / (x + 3.0) + y * y, [normal(r, 4), positive(r, 4)]))

# indexing
INDEXES = {
    "int": lambda r: 1, "negative-int": lambda r: -1, "slice": lambda r: slice(1, 3),
    "step-slice": lambda r: (slice(None), slice(None, None, 2)),
    "negative-slice": lambda r: slice(-2, None), "none": lambda r: (None, 1),
    "ellipsis": lambda r: (Ellipsis, 0), "ellipsis-none": lambda r: (1, Ellipsis, None),
    "bool-mask": lambda r: mask(r, 3, 4), "bool-tensor-mask": lambda r: mg.tensor(mask(r, 3, 4)),
    "bool-rows": lambda r: np.array([True, False, True]),
    "repeated-ints": lambda r: [0, 2, 0, 0], "negative-ints": lambda r: [-1, 0, -1],
    "tensor-ints": lambda r: mg.tensor([2, 0, 2]), "0d-tensor": lambda r: mg.tensor(1),
    "pairs-repeated": lambda r: (np.array([0, 1, 0, 0]), np.array([3, 2, 3, 3])),
    "mixed-slice-array": lambda r: (slice(1, None), [0, 0, 2]),
    "random-repeats": lambda r: r.integers(0, 3, size=(5, 2)),
}
for index_name, make_index in INDEXES.items():
    case(f"getitem-{index_name}",
         lambda r, make_index=make_index: (lambda x, i=make_index(r): x[i], [normal(r, 3, 4)]))

# matmul
MATMULS = {"1d-1d": ((3,), (3,)), "1d-2d": ((3,), (3, 4)), "2d-1d": ((2, 3), (3,)),
           "2d-2d": ((2, 3), (3, 4)), "batched": ((5, 2, 3), (5, 3, 4)),
           "batch-2d": ((5, 2, 3), (3, 4)), "2d-batch": ((2, 3), (5, 3, 4)),
           "broadcast-batch": ((2, 1, 2, 3), (5, 3, 4)), "1d-batch": ((3,), (5, 3, 4)),
           "batch-1d": ((5, 2, 3), (3,))}
for mm_name, (sa, sb) in MATMULS.items():
    case(f"matmul-{mm_name}",
         lambda r, sa=sa, sb=sb: (lambda a, b: a @ b, [normal(r, *sa), normal(r, *sb)]))

case("linear-bias", lambda r: (Linear.apply, [normal(r, 5, 3), normal(r, 4, 3), normal(r, 4)]))
case("linear-no-bias", lambda r: (lambda x, w: Linear.apply(x, w, None),
                                  [normal(r, 5, 3), normal(r, 4, 3)]))

# reductions: every dim form, with and without keepdim
DIMS = {"all": None, "int": 1, "negative": -1, "tuple": (0, 2), "negative-tuple": (-1, 0)}
for dim_name, dim in DIMS.items():
    for keepdim in (False, True):
        suffix = f"{dim_name}{'-keepdim' if keepdim else ''}"
        case(f"sum-{suffix}", lambda r, d=dim, k=keepdim: (
            lambda x: x.sum(dim=d, keepdim=k), [normal(r, 2, 3, 4)]))
        case(f"mean-{suffix}", lambda r, d=dim, k=keepdim: (
            lambda x: x.mean(dim=d, keepdim=k), [normal(r, 2, 3, 4)]))
        case(f"max-{suffix}", lambda r, d=dim, k=keepdim: (
            lambda x: x.max(dim=d, keepdim=k), [distinct(r, 2, 3, 4)]))
        case(f"min-{suffix}", lambda r, d=dim, k=keepdim: (
            lambda x: mg.min(x, dim=d, keepdim=k), [distinct(r, 2, 3, 4)]))
        case(f"logsumexp-{suffix}", lambda r, d=dim, k=keepdim: (
            lambda x: x.logsumexp(d, keepdim=k), [normal(r, 2, 3, 4)]))
        for unbiased in (True, False):
            case(f"var-{suffix}-{'unbiased' if unbiased else 'biased'}",
                 lambda r, d=dim, k=keepdim, u=unbiased: (
                     lambda x: x.var(dim=d, unbiased=u, keepdim=k), [normal(r, 2, 3, 4)]))
case("sum-0d", lambda r: (lambda x: x.sum(), [normal(r)]))
case("max-with-ties", lambda r: (lambda x: mg.max(x * 0.0 + x.max(), dim=1) * x.sum(),
                                 [normal(r, 2, 3)]))

# softmax family
for d in (0, -1):
    case(f"softmax-dim{d}", lambda r, d=d: (lambda x: mg.softmax(x, dim=d), [normal(r, 3, 4)]))
    case(f"log-softmax-dim{d}", lambda r, d=d: (lambda x: x.log_softmax(d), [normal(r, 3, 4)]))
case("softmax-masked", lambda r: (
    lambda x, m=np.triu(np.ones((4, 4), dtype=bool), 1): x.masked_fill(m, float("-inf")).softmax(-1),
    [normal(r, 4, 4)]))

# shape ops
case("reshape", lambda r: (lambda x: x.reshape(2, 6), [normal(r, 3, 4)]))
case("reshape-infer", lambda r: (lambda x: mg.reshape(x, (-1, 2)), [normal(r, 3, 4)]))
case("view", lambda r: (lambda x: x.view(4, 3) * 2.0, [normal(r, 3, 4)]))
case("transpose", lambda r: (lambda x: x.transpose(0, 2), [normal(r, 2, 3, 4)]))
case("transpose-negative", lambda r: (lambda x: mg.transpose(x, -1, -2), [normal(r, 2, 3, 4)]))
case("permute", lambda r: (lambda x: x.permute(2, 0, 1), [normal(r, 2, 3, 4)]))
case("permute-negative", lambda r: (lambda x: mg.permute(x, (-1, 0, 1)), [normal(r, 2, 3, 4)]))
case("T", lambda r: (lambda x: x.T, [normal(r, 3, 4)]))
case("unsqueeze", lambda r: (lambda x: x.unsqueeze(0) * x.unsqueeze(-1), [normal(r, 3)]))
case("squeeze-all", lambda r: (lambda x: x.squeeze(), [normal(r, 1, 3, 1)]))
case("squeeze-dim", lambda r: (lambda x: mg.squeeze(x, -1), [normal(r, 1, 3, 1)]))
case("flatten", lambda r: (lambda x: x.flatten(), [normal(r, 2, 3, 4)]))
case("flatten-from-1", lambda r: (lambda x: mg.flatten(x, 1), [normal(r, 2, 3, 4)]))
case("expand", lambda r: (lambda x: x.expand(2, 3, 4), [normal(r, 3, 1)]))
case("expand-keep", lambda r: (lambda x: mg.expand(x, -1, 4), [normal(r, 3, 1)]))
case("cat", lambda r: (lambda a, b: mg.cat([a, b, a], dim=0), [normal(r, 2, 3), normal(r, 1, 3)]))
case("cat-last", lambda r: (lambda a, b: mg.cat((a, b), dim=-1), [normal(r, 2, 3), normal(r, 2, 2)]))
case("stack", lambda r: (lambda a, b: mg.stack([a, b, a]), [normal(r, 2, 3), normal(r, 2, 3)]))
case("stack-last", lambda r: (lambda a, b: mg.stack([a, b], dim=-1), [normal(r, 2, 3), normal(r, 2, 3)]))
case("split-size", lambda r: (lambda x: x.split(2, dim=1), [normal(r, 2, 5)]))
case("split-sections", lambda r: (lambda x: mg.split(x, [1, 3, 1], dim=-1), [normal(r, 2, 5)]))
case("chunk", lambda r: (lambda x: x.chunk(3, dim=0), [normal(r, 5, 2)]))

# fused neural-network ops, called as Functions
case("layer-norm", lambda r: (lambda x, w, b: LayerNorm.apply(x, w, b, 1, 1e-5),
                              [normal(r, 2, 3, 4), normal(r, 4), normal(r, 4)]))
case("layer-norm-2dims", lambda r: (lambda x, w, b: LayerNorm.apply(x, w, b, 2, 1e-5),
                                    [normal(r, 2, 3, 4), normal(r, 3, 4), normal(r, 3, 4)]))
case("layer-norm-no-affine", lambda r: (lambda x: LayerNorm.apply(x, None, None, 1, 1e-5),
                                        [normal(r, 3, 5)]))
case("cross-entropy", lambda r: (
    lambda x, t=mg.tensor(r.integers(0, 4, size=6)): CrossEntropy.apply(x, t, -100, 0.0),
    [normal(r, 6, 4)]))
case("cross-entropy-ignore-smoothing", lambda r: (
    lambda x, t=mg.tensor(np.where(np.arange(6) % 3 == 1, -1, r.integers(0, 4, size=6))):
        CrossEntropy.apply(x, t, -1, 0.1),
    [normal(r, 6, 4)]))
case("bce-with-logits", lambda r: (lambda x, y: BCEWithLogits.apply(x, y),
                                   [normal(r, 3, 4), leaf(r.uniform(0.05, 0.95, (3, 4)))]))

# attention (more cases, under every kernel set: tests/kernels/test_attention.py)
SDPA = ScaledDotProductAttention.apply
case("attention-tq-ne-tk-d-ne-dv", lambda r: (lambda q, k, v: SDPA(q, k, v, None, False, 0.5),
                                              [normal(r, 2, 3, 4), normal(r, 2, 5, 4), normal(r, 2, 5, 3)]))
case("attention-causal-heads", lambda r: (lambda q, k, v: SDPA(q, k, v, None, True, 0.4),
                                          [normal(r, 2, 2, 4, 3), normal(r, 2, 2, 4, 3), normal(r, 2, 2, 4, 2)]))
EMPTY_ROW = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1]], dtype=bool)  # (Tq, Tk)
case("attention-mask-empty-row", lambda r: (
    lambda q, k, v: SDPA(q, k, v, EMPTY_ROW, False, 0.6),
    [normal(r, 2, 3, 4), normal(r, 2, 5, 4), normal(r, 2, 5, 4)]))

case("packed-qkv-attention-causal", lambda r: (
    lambda qkv: PackedQKVAttention.apply(qkv, None, True, 0.5, 2), [normal(r, 2, 4, 12)]))
case("packed-qkv-attention-mask-empty-row", lambda r: (
    lambda qkv: PackedQKVAttention.apply(qkv, EMPTY_ROW[:, :3], False, 0.7, 3),   # (T, T) = (3, 3)
    [normal(r, 2, 3, 9)]))

# ---- tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name, rng):
    fn, inputs = CASES[name](rng)
    with trace_ops() as used:
        assert mg.gradcheck(fn, *inputs)
    assert used, f"case {name} applied no op"


def test_every_registered_op_has_a_gradcheck_case():
    r = np.random.default_rng(0)
    covered = set()
    for name, build in CASES.items():
        fn, inputs = build(r)
        with trace_ops() as used:
            fn(*inputs)
        covered |= used
    missing = sorted(set(OPS) - covered)
    assert not missing, (f"ops without a gradcheck case in {__name__}: {missing}; add a case "
                         "that applies each of them")


def test_cases_use_fresh_nonzero_float64_inputs():
    r = np.random.default_rng(1)
    for name, build in CASES.items():
        _, inputs = build(r)
        for x in inputs:
            assert x.dtype == np.float64 and x.requires_grad, name
            assert np.all(x.numpy() != 0), f"case {name} has a zero input"
