"""PyTorch as the oracle: forward and backward of every op equal torch's in float64.

One helper, one line per op (tinygrad's ``helper_test_op``): the same random float64 inputs go
to a minigrad function and a torch function; the outputs must agree, and so must the gradients
of a random projection Σ out ⊙ r with respect to every input.

Known, documented difference: minigrad's ``max``/``min`` return values only, so they are
compared with ``torch.amax``/``torch.amin``.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.registry import OPS, trace_ops
from minigrad.functions.elementwise import Cast
from minigrad.functions.linalg import Linear
from minigrad.functions.shape import ToDevice
from minigrad.functions.nn_ops import (GELU, BCEWithLogits, CrossEntropy, LayerNorm,
                                       PackedQKVAttention, ScaledDotProductAttention)

torch = pytest.importorskip("torch", reason="torch is the optional oracle; pip install torch==2.13.0")
F = torch.nn.functional

pytestmark = pytest.mark.torch

COMPARED = set()   # names of the ops that helper_test_op has compared with torch


def helper_test_op(shapes, mg_fn, torch_fn, *, low=-2.0, high=2.0, values=None, atol=1e-10,
                   rtol=1e-10, seed=0):
    """Compare ``mg_fn`` and ``torch_fn`` on the same random float64 inputs of ``shapes``.

    ``values``: "distinct" (no ties, for max/min) or "nonzero" (|x| >= 0.25, for abs/relu);
    otherwise uniform in [low, high).
    """
    r = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        if values == "distinct":
            n = int(np.prod(shape))
            a = (r.permutation(n) + r.uniform(0, 0.5)).reshape(shape) - n / 2
        elif values == "nonzero":
            a = r.uniform(0.25, 2.0, shape) * r.choice([-1.0, 1.0], shape)
        else:
            a = r.uniform(low, high, shape)
        arrays.append(np.asarray(a, dtype=np.float64))
    mg_in = [mg.tensor(a, requires_grad=True) for a in arrays]
    torch_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    with trace_ops() as used:
        mg_out = mg_fn(*mg_in)
    COMPARED.update(used)
    torch_out = torch_fn(*torch_in)
    if not isinstance(mg_out, (tuple, list)):
        mg_out, torch_out = (mg_out,), (torch_out,)
    assert len(mg_out) == len(torch_out)
    loss_mg = loss_torch = 0
    for m, t in zip(mg_out, torch_out):
        assert m.shape == tuple(t.shape), f"forward shape {m.shape} != torch {tuple(t.shape)}"
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), atol=atol, rtol=rtol,
                                   err_msg="forward differs from torch")
        projection = r.standard_normal(m.shape)
        loss_mg = (m * mg.tensor(projection.astype(m.dtype))).sum() + loss_mg
        loss_torch = (t * torch.tensor(projection, dtype=t.dtype)).sum() + loss_torch
    loss_mg.backward()
    loss_torch.backward()
    for i, (m, t) in enumerate(zip(mg_in, torch_in)):
        expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        actual = np.zeros(m.shape) if m.grad is None else m.grad
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i} differs from torch")


def T(array):
    return torch.as_tensor(np.asarray(array))


# ---- element-wise ---------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [((3, 4), (3, 4)), ((), (3, 4)), ((3, 1), (1, 4)),
                                    ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1))])
def test_binary(sa, sb):
    helper_test_op([sa, sb], lambda a, b: a + b, lambda a, b: a + b)
    helper_test_op([sa, sb], lambda a, b: a - b, lambda a, b: a - b)
    helper_test_op([sa, sb], lambda a, b: a * b, lambda a, b: a * b)
    helper_test_op([sa, sb], lambda a, b: a / (b * b + 0.5), lambda a, b: a / (b * b + 0.5))
    helper_test_op([sa, sb], lambda a, b: a ** b, lambda a, b: a ** b, low=0.5)


def test_scalars():
    helper_test_op([(3, 4)], lambda x: 2.5 - x * 1.5 + 1, lambda x: 2.5 - x * 1.5 + 1)
    helper_test_op([(3, 4)], lambda x: 3.0 / x, lambda x: 3.0 / x, low=0.5)
    helper_test_op([(3, 4)], lambda x: x ** 3 + x ** 0.5, lambda x: x ** 3 + x ** 0.5, low=0.5)
    helper_test_op([(3, 4)], lambda x: 2.0 ** x, lambda x: 2.0 ** x)


def test_unary():
    helper_test_op([(3, 4)], lambda x: -x, lambda x: -x)
    helper_test_op([(3, 4)], mg.exp, torch.exp)
    helper_test_op([(3, 4)], mg.log, torch.log, low=0.1)
    helper_test_op([(3, 4)], mg.sqrt, torch.sqrt, low=0.1)
    helper_test_op([(3, 4)], mg.abs, torch.abs, values="nonzero")
    helper_test_op([(3, 4)], mg.tanh, torch.tanh)
    helper_test_op([(3, 4)], mg.sigmoid, torch.sigmoid, low=-8, high=8)
    helper_test_op([(3, 4)], mg.relu, torch.relu, values="nonzero")
    helper_test_op([(3, 4)], lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7))
    helper_test_op([(3, 4)], lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1))
    helper_test_op([(3, 4)], lambda x: GELU.apply(x, "none"), F.gelu, low=-4, high=4)
    helper_test_op([(3, 4)], lambda x: GELU.apply(x, "tanh"),
                   lambda x: F.gelu(x, approximate="tanh"), low=-4, high=4)


def test_cast_and_device():
    helper_test_op([(3, 4)], lambda x: x.float().double(), lambda x: x.float().double(),
                   atol=1e-6, rtol=1e-6)
    helper_test_op([(3, 4)], lambda x: Cast.apply(x, np.dtype(np.float32)),
                   lambda x: x.to(torch.float32), atol=1e-6, rtol=1e-6)
    helper_test_op([(3, 4)], lambda x: x.to("cpu") * x, lambda x: x.to("cpu") * x)
    helper_test_op([(3, 4)], lambda x: ToDevice.apply(x, "cpu") * x, lambda x: x.to("cpu") * x)


def test_where_and_masked_fill():
    cond = np.random.default_rng(1).random((3, 4)) < 0.5
    helper_test_op([(3, 4), (4,)], lambda a, b: mg.where(cond, a, b),
                   lambda a, b: torch.where(T(cond), a, b))
    helper_test_op([(3, 4)], lambda a: mg.where(cond, a, 0.0),
                   lambda a: torch.where(T(cond), a, 0.0))
    helper_test_op([(2, 3, 4)], lambda x: x.masked_fill(mg.tensor(cond), -3.0),
                   lambda x: x.masked_fill(T(cond), -3.0))
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    helper_test_op([(2, 4, 4)], lambda x: x.masked_fill(causal, float("-inf")).softmax(-1),
                   lambda x: x.masked_fill(T(causal), float("-inf")).softmax(-1))


# ---- matmul ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)),
                                    ((2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
                                    ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (5, 3, 4)),
                                    ((3,), (5, 3, 4)), ((5, 2, 3), (3,))])
def test_matmul(sa, sb):
    helper_test_op([sa, sb], lambda a, b: a @ b, lambda a, b: a @ b)


def test_linear():
    helper_test_op([(5, 3), (4, 3), (4,)], Linear.apply, F.linear)
    helper_test_op([(5, 3), (4, 3)], lambda x, w: Linear.apply(x, w, None), F.linear)


# ---- reductions -----------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [None, 1, -1, (0, 2), (-1, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions(dim, keepdim):
    tdim = tuple(range(3)) if dim is None else dim
    helper_test_op([(2, 3, 4)], lambda x: x.sum(dim=dim, keepdim=keepdim),
                   lambda x: x.sum(dim=tdim, keepdim=keepdim))
    helper_test_op([(2, 3, 4)], lambda x: x.mean(dim=dim, keepdim=keepdim),
                   lambda x: x.mean(dim=tdim, keepdim=keepdim))
    helper_test_op([(2, 3, 4)], lambda x: x.max(dim=dim, keepdim=keepdim),
                   lambda x: torch.amax(x, dim=tdim, keepdim=keepdim), values="distinct")
    helper_test_op([(2, 3, 4)], lambda x: x.min(dim=dim, keepdim=keepdim),
                   lambda x: torch.amin(x, dim=tdim, keepdim=keepdim), values="distinct")
    helper_test_op([(2, 3, 4)], lambda x: x.logsumexp(dim, keepdim=keepdim),
                   lambda x: torch.logsumexp(x, dim=tdim, keepdim=keepdim))
    for unbiased in (True, False):
        helper_test_op([(2, 3, 4)], lambda x: x.var(dim=dim, unbiased=unbiased, keepdim=keepdim),
                       lambda x: torch.var(x, dim=dim, correction=int(unbiased), keepdim=keepdim))


def test_max_ties_share_the_gradient_like_amax():
    helper_test_op([(3, 4)], lambda x: (x * 0.0 + 1.0).max(dim=1) * x.sum(),
                   lambda x: torch.amax(x * 0.0 + 1.0, dim=1) * x.sum())


def test_softmax_family():
    for dim in (0, 1, -1):
        helper_test_op([(2, 3, 4)], lambda x: x.softmax(dim), lambda x: x.softmax(dim))
        helper_test_op([(2, 3, 4)], lambda x: mg.log_softmax(x, dim), lambda x: x.log_softmax(dim))
    helper_test_op([(2, 5)], lambda x: (x * 100).softmax(-1), lambda x: (x * 100).softmax(-1))


# ---- fused nn ops ---------------------------------------------------------------------------
def test_layer_norm():
    helper_test_op([(2, 3, 4), (4,), (4,)], lambda x, w, b: LayerNorm.apply(x, w, b, 1, 1e-5),
                   lambda x, w, b: F.layer_norm(x, (4,), w, b, 1e-5))
    helper_test_op([(2, 3, 4), (3, 4), (3, 4)], lambda x, w, b: LayerNorm.apply(x, w, b, 2, 1e-5),
                   lambda x, w, b: F.layer_norm(x, (3, 4), w, b, 1e-5))
    helper_test_op([(3, 5)], lambda x: LayerNorm.apply(x, None, None, 1, 1e-5),
                   lambda x: F.layer_norm(x, (5,), eps=1e-5))


@pytest.mark.parametrize("ignore_index, smoothing", [(-100, 0.0), (-100, 0.1), (2, 0.0), (2, 0.2)])
def test_cross_entropy(ignore_index, smoothing):
    target = np.random.default_rng(3).integers(0, 5, size=7)
    helper_test_op([(7, 5)], lambda x: CrossEntropy.apply(x, mg.tensor(target), ignore_index, smoothing),
                   lambda x: F.cross_entropy(x, T(target), ignore_index=ignore_index,
                                             label_smoothing=smoothing, reduction="none"))


def test_bce_with_logits():
    helper_test_op([(3, 4), (3, 4)], lambda x, y: BCEWithLogits.apply(x, y * y * 0.25),
                   lambda x, y: F.binary_cross_entropy_with_logits(x, y * y * 0.25, reduction="none"),
                   low=-3, high=3)


def test_scaled_dot_product_attention():
    sdpa, mask = ScaledDotProductAttention.apply, np.random.default_rng(4).random((3, 5)) < 0.6
    mask[1] = False                                  # a query with no key: zeros, as torch's
    helper_test_op([(2, 3, 4), (2, 5, 4), (2, 5, 6)], lambda q, k, v: sdpa(q, k, v, None, False, 0.7),
                   lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.7))
    helper_test_op([(2, 2, 4, 3)] * 3, lambda q, k, v: sdpa(q, k, v, None, True, 3 ** -0.5),
                   lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
    helper_test_op([(2, 3, 4), (2, 5, 4), (2, 5, 4)], lambda q, k, v: sdpa(q, k, v, mask, False, 0.5),
                   lambda q, k, v: F.scaled_dot_product_attention(q, k, v, T(mask), scale=0.5))


def test_packed_qkv_attention():
    """Equals torch's split, heads, SDPA and concat."""
    B, L, H, D = 2, 5, 3, 2          # L positions (T is the tensor helper here)
    mask = np.random.default_rng(5).random((B, 1, L, L)) < 0.6
    mask[0, 0, 3] = False                            # a query with no key: zeros, as torch's

    def torch_packed(qkv, mask=None, is_causal=False, scale=None):
        q, k, v = (t.reshape(B, L, H, D).transpose(1, 2) for t in qkv.split(H * D, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, scale=scale)
        return y.transpose(1, 2).reshape(B, L, H * D)

    helper_test_op([(B, L, 3 * H * D)], lambda qkv: PackedQKVAttention.apply(qkv, None, True, D ** -0.5, H),
                   lambda qkv: torch_packed(qkv, is_causal=True))
    helper_test_op([(B, L, 3 * H * D)], lambda qkv: PackedQKVAttention.apply(qkv, mask, False, 0.6, H),
                   lambda qkv: torch_packed(qkv, T(mask), scale=0.6))

# ---- shape ops and indexing -----------------------------------------------------------------
def test_shape_ops():
    helper_test_op([(3, 4)], lambda x: x.reshape(2, 6), lambda x: x.reshape(2, 6))
    helper_test_op([(3, 4)], lambda x: x.view(-1, 2), lambda x: x.view(-1, 2))
    helper_test_op([(2, 3, 4)], lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2))
    helper_test_op([(2, 3, 4)], lambda x: x.transpose(-1, -2), lambda x: x.transpose(-1, -2))
    helper_test_op([(2, 3, 4)], lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1))
    helper_test_op([(2, 3, 4)], lambda x: x.permute(-1, 0, 1), lambda x: x.permute(-1, 0, 1))
    helper_test_op([(3, 4)], lambda x: x.T, lambda x: x.T)
    helper_test_op([(3,)], lambda x: x.unsqueeze(0) * x.unsqueeze(-1),
                   lambda x: x.unsqueeze(0) * x.unsqueeze(-1))
    helper_test_op([(1, 3, 1)], lambda x: x.squeeze(), lambda x: x.squeeze())
    helper_test_op([(1, 3, 1)], lambda x: x.squeeze(-1), lambda x: x.squeeze(-1))
    helper_test_op([(1, 3, 1)], lambda x: x.squeeze(1), lambda x: x.squeeze(1))
    helper_test_op([(2, 3, 4)], lambda x: x.flatten(), lambda x: x.flatten())
    helper_test_op([(2, 3, 4)], lambda x: x.flatten(1), lambda x: x.flatten(1))
    helper_test_op([(2, 3, 4)], lambda x: x.flatten(0, 1), lambda x: x.flatten(0, 1))
    helper_test_op([(3, 1)], lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4))
    helper_test_op([(3, 1)], lambda x: x.expand(-1, 4), lambda x: x.expand(-1, 4))
    helper_test_op([(2, 3), (1, 3)], lambda a, b: mg.cat([a, b, a]), lambda a, b: torch.cat([a, b, a]))
    helper_test_op([(2, 3), (2, 1)], lambda a, b: mg.cat([a, b], dim=-1),
                   lambda a, b: torch.cat([a, b], dim=-1))
    helper_test_op([(2, 3), (2, 3)], lambda a, b: mg.stack([a, b, a]), lambda a, b: torch.stack([a, b, a]))
    helper_test_op([(2, 3), (2, 3)], lambda a, b: mg.stack([a, b], dim=-1),
                   lambda a, b: torch.stack([a, b], dim=-1))
    helper_test_op([(2, 5)], lambda x: x.split(2, dim=1), lambda x: x.split(2, dim=1))
    helper_test_op([(2, 5)], lambda x: x.split([1, 3, 1], dim=-1), lambda x: x.split([1, 3, 1], dim=-1))
    helper_test_op([(5, 2)], lambda x: x.chunk(3), lambda x: x.chunk(3))
    helper_test_op([(6, 2)], lambda x: x.chunk(4), lambda x: x.chunk(4))


BOOL_MASK = np.random.default_rng(2).random((3, 4)) < 0.5
INDEXES = [1, -1, slice(1, 3), (slice(None), slice(None, None, 2)), slice(-2, None), (None, 1),
           (Ellipsis, 0), (1, Ellipsis, None), BOOL_MASK, np.array([True, False, True]),
           np.array([0, 2, 0, 0]), np.array([-1, 0, -1]),
           (np.array([0, 1, 0, 0]), np.array([3, 2, 3, 3])), (slice(1, None), np.array([0, 0, 2])),
           np.array([[0, 1], [1, 1], [2, 0]])]


@pytest.mark.parametrize("index", INDEXES, ids=lambda i: repr(i).replace("\n", ""))
def test_getitem(index):
    def torch_index(i):
        if isinstance(i, tuple):
            return tuple(torch_index(j) for j in i)
        return T(i) if isinstance(i, np.ndarray) else i
    helper_test_op([(3, 4)], lambda x: x[index], lambda x: x[torch_index(index)])


def test_getitem_with_tensor_indices():
    helper_test_op([(3, 4)], lambda x: x[mg.tensor([2, 0, 2])], lambda x: x[T([2, 0, 2])])
    helper_test_op([(3, 4)], lambda x: x[mg.tensor(BOOL_MASK)], lambda x: x[T(BOOL_MASK)])


def test_every_op_is_compared_with_torch():
    """Runs last in this module: every registered op went through helper_test_op above."""
    if not COMPARED:
        pytest.skip("run the whole module: the comparisons above collect the ops they cover")
    missing = sorted(set(OPS) - COMPARED)
    assert not missing, f"ops never compared with torch: {missing}"
