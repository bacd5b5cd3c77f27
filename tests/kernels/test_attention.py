"""Scaled dot-product attention: the op, its kernels, and F.scaled_dot_product_attention.

- gradcheck of the op under every CPU kernel set (masks, causal, Tq != Tk, D != Dv, heads);
- the Numba flash kernels equal the reference kernels at awkward sizes (tiles that do not
  divide T, head dim 1, a single query), fully-masked rows give exact zeros;
- PyTorch as the oracle for F.scaled_dot_product_attention (forward and backward);
- the Numba forward never allocates a (T, T) array;
- F.packed_qkv_attention (the op on packed [Q | K | V]) equals split, heads, attention, concat.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.functions.nn_ops import PackedQKVAttention, ScaledDotProductAttention
from minigrad.registry import trace_ops
from minigrad.kernels import numba_attention, reference

MODES = ["numpy", "numba"]


def leaf(r, *shape):
    return mg.tensor(r.standard_normal(shape), requires_grad=True)


def empty_row_mask(r, *shape):
    """A random bool mask (..., Tq, Tk) whose query 1 may attend no key."""
    mask = r.random(shape) < 0.6
    mask[..., 1, :] = False
    return mask


# ---- gradcheck, under each kernel set --------------------------------------------------------
GRAD_CASES = {   # name -> (q, k, v shapes, mask builder or None, is_causal)
    "tq-ne-tk-d-ne-dv": ((2, 3, 4), (2, 5, 4), (2, 5, 2), None, False),
    "causal": ((2, 5, 3), (2, 5, 3), (2, 5, 3), None, True),
    "causal-tq-gt-tk": ((1, 5, 3), (1, 3, 3), (1, 3, 2), None, True),
    "mask-empty-row": ((2, 4, 3), (2, 6, 3), (2, 6, 3), lambda r: empty_row_mask(r, 2, 4, 6), False),
    "heads-broadcast-mask": ((2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 2),
                             lambda r: empty_row_mask(r, 4, 4), True),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradcheck(name, mode, rng):
    sq, sk, sv, make_mask, causal = GRAD_CASES[name]
    mask = make_mask(rng) if make_mask else None
    q, k, v = leaf(rng, *sq), leaf(rng, *sk), leaf(rng, *sv)
    with mg.kernels.use(mode):
        assert mg.gradcheck(lambda q, k, v: ScaledDotProductAttention.apply(q, k, v, mask, causal, 0.6),
                            q, k, v)


@pytest.mark.parametrize("mode", MODES)
def test_fully_masked_query_gives_zeros_and_no_gradient(mode, rng):
    q, k, v = leaf(rng, 2, 4, 3), leaf(rng, 2, 5, 3), leaf(rng, 2, 5, 3)
    mask = empty_row_mask(rng, 2, 4, 5)
    with mg.kernels.use(mode):
        out = ScaledDotProductAttention.apply(q, k, v, mask, False, 0.5)
        (out * mg.tensor(rng.standard_normal(out.shape))).sum().backward()
    assert np.all(out.numpy()[:, 1] == 0)
    assert np.all(q.grad[:, 1] == 0) and np.isfinite(q.grad).all()
    assert np.isfinite(k.grad).all() and np.isfinite(v.grad).all()


def test_numba_mode_runs_the_flash_kernel():
    x = np.zeros((2, 3, 4), dtype=np.float32)
    with mg.kernels.use("numba"):
        assert mg.kernels.implementation("attention_forward", x) is numba_attention.attention_forward
        assert mg.kernels.implementation("attention_backward", x) is numba_attention.attention_backward
    with mg.kernels.use("numpy"):
        assert mg.kernels.implementation("attention_forward", x) is reference.attention_forward


# ---- Numba kernels == reference kernels ------------------------------------------------------
SIZES = [  # (B, Tq, Tk, D, Dv): tiles are 64 × 128, so 7 and 129 leave partial tiles
    (1, 1, 1, 1, 1), (1, 7, 7, 13, 13), (2, 129, 129, 64, 64), (3, 7, 129, 1, 5), (2, 129, 7, 13, 2),
]
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def assert_close(actual, expected, dtype, what):
    """max |actual - expected| <= tol · max |expected| (error relative to the magnitude)."""
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    scale = max(float(np.abs(expected).max(initial=0)), 1e-30)
    error = float(np.abs(actual - expected).max(initial=0)) / scale
    assert error <= TOLERANCE[dtype], f"{what}: relative error {error:.2e}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("masking", ["none", "causal", "mask", "mask-causal", "broadcast-mask"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: "x".join(map(str, s)))
def test_numba_equals_reference(size, masking, dtype, rng):
    B, Tq, Tk, D, Dv = size
    q, k = rng.standard_normal((B, Tq, D)), rng.standard_normal((B, Tk, D))
    v, g = rng.standard_normal((B, Tk, Dv)), rng.standard_normal((B, Tq, Dv))
    q, k, v, g = (a.astype(dtype) for a in (q, k, v, g))
    causal = "causal" in masking
    mask = None
    if masking.startswith("mask"):
        mask = rng.random((B, Tq, Tk)) < 0.7
        mask[0, Tq // 2] = False                                  # a query with no key
    elif masking == "broadcast-mask":
        mask = np.broadcast_to(rng.random((1, Tq, Tk)) < 0.5, (B, Tq, Tk))   # zero strides
    scale = float(D) ** -0.5
    o_ref, lse_ref = reference.attention_forward(q, k, v, mask, causal, scale)
    o, lse = numba_attention.attention_forward(q, k, v, mask, causal, scale)
    empty = np.isneginf(lse_ref)
    assert np.array_equal(np.isneginf(lse), empty), "rows with no allowed key differ"
    assert not np.isnan(o).any() and not np.isnan(lse).any()
    assert np.all(o[empty] == 0)
    assert_close(o, o_ref, dtype, "o")
    assert_close(lse[~empty], lse_ref[~empty], dtype, "lse")
    grads_ref = reference.attention_backward(q, k, v, o_ref, lse_ref, g, mask, causal, scale)
    grads = numba_attention.attention_backward(q, k, v, o, lse, g, mask, causal, scale)
    for name, actual, expected in zip(("dq", "dk", "dv"), grads, grads_ref):
        assert not np.isnan(actual).any(), name
        assert_close(actual, expected, dtype, name)
    assert np.all(grads[0][empty] == 0)



# ---- F.scaled_dot_product_attention ----------------------------------------------------------
def test_functional_checks_shapes():
    q = mg.zeros(2, 3, 4)
    with pytest.raises(mg.ShapeError, match=r"\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, mg.zeros(2, 5, 3), mg.zeros(2, 5, 3))
    with pytest.raises(mg.ShapeError, match="attn_mask"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 3), dtype=bool))
    with pytest.raises(mg.ShapeError, match="do not broadcast"):
        F.scaled_dot_product_attention(q, mg.zeros(3, 3, 4), mg.zeros(3, 3, 4))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), dtype=bool), is_causal=True)


def test_dropout_path_is_softmax_dropout_matmul(rng):
    q, k, v = leaf(rng, 2, 5, 4), leaf(rng, 2, 6, 4), leaf(rng, 2, 6, 3)
    mg.manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    mg.manual_seed(7)
    weights = ((q @ k.transpose(-2, -1)) * 0.5).softmax(-1)
    expected = F.dropout(weights, 0.3) @ v
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
    assert not np.allclose(out.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())


def test_dropout_keeps_the_mean(rng):
    """Uniform attention over ones: each output is Σ_j m_j / ((1-p) Tk), mean 1."""
    q, k, v = mg.zeros(64, 32, 4), mg.zeros(64, 32, 4), mg.ones(64, 32, 2)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).numpy()
    assert abs(out.mean() - 1) < 0.02 and out.std() > 0.05


def test_bool_mask_and_float_mask_agree(rng):
    q, k, v = leaf(rng, 2, 4, 3), leaf(rng, 2, 5, 3), leaf(rng, 2, 5, 2)
    mask = rng.random((4, 5)) < 0.6
    mask[:, 0] = True
    additive = np.where(mask, 0.0, -np.inf)
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    composed = F.scaled_dot_product_attention(q, k, v, attn_mask=additive)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("mode", MODES)
def test_functional_matches_torch(mode, rng):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    TF = torch.nn.functional
    mask = rng.random((3, 6, 7)) < 0.6
    mask[0, 2] = False
    float_mask = rng.standard_normal((6, 7))
    cases = [  # shapes (q, k, v), keyword arguments
        ([(2, 3, 6, 4), (2, 3, 7, 4), (2, 3, 7, 5)], {}),
        ([(2, 3, 6, 4), (2, 3, 6, 4), (2, 3, 6, 5)], {"is_causal": True}),
        ([(2, 3, 6, 4), (2, 3, 7, 4), (2, 3, 7, 5)], {"attn_mask": mask, "scale": 0.3}),
        ([(2, 3, 6, 4), (1, 3, 7, 4), (3, 7, 5)], {"attn_mask": float_mask}),
    ]
    for shapes, kwargs in cases:
        arrays = [rng.standard_normal(s) for s in shapes]
        ours = [mg.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        torch_kwargs = {n: torch.tensor(a) if isinstance(a, np.ndarray) else a
                        for n, a in kwargs.items()}
        with mg.kernels.use(mode):
            out = F.scaled_dot_product_attention(*ours, **kwargs)
            expected = TF.scaled_dot_product_attention(*theirs, **torch_kwargs)
            np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
            projection = rng.standard_normal(out.shape)
            (out * mg.tensor(projection)).sum().backward()
        (expected * torch.tensor(projection)).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- memory ---------------------------------------------------------------------------------
def _peak_rss_after(fn):
    """Bytes by which the process's peak resident memory rose while ``fn`` ran (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                                          # resets VmHWM to VmRSS
    except OSError:
        pytest.skip("needs /proc/self/clear_refs (Linux) to reset the peak RSS")

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))
    before = status("VmRSS:")
    fn()
    return status("VmHWM:") - before


def test_numba_forward_stores_no_t_by_t_matrix():
    T, D = 2048, 32
    r = np.random.default_rng(0)
    q, k, v = (r.standard_normal((1, T, D)).astype(np.float32) for _ in range(3))
    numba_attention.attention_forward(q[:, :8], k[:, :8], v[:, :8], None, True, 0.2)  # compile
    t_by_t = T * T * 4
    assert _peak_rss_after(lambda: reference.attention_forward(q, k, v, None, True, 0.2)) > t_by_t
    assert _peak_rss_after(lambda: numba_attention.attention_forward(q, k, v, None, True, 0.2)) < t_by_t / 8


# ---- F.packed_qkv_attention ------------------------------------------------------------------
def split_heads_attention(qkv, n_head, **options):
    """What packed_qkv_attention stands for, spelled out with split, reshape and SDPA."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    q, k, v = (t.reshape(B, T, n_head, C // n_head).transpose(1, 2) for t in qkv.split(C, dim=2))
    return F.scaled_dot_product_attention(q, k, v, **options).transpose(1, 2).reshape(B, T, C)


PACKED_CASES = {   # name -> (B, T, H, D, mask builder or None, is_causal)
    "causal": (2, 7, 3, 5, None, True),
    "one-position": (1, 1, 2, 1, None, True),
    "tiles-do-not-divide-t": (1, 129, 2, 13, None, True),
    "key-padding-mask": (2, 6, 2, 4, lambda r: empty_row_mask(r, 2, 1, 6, 6), False),
    "no-mask": (3, 5, 1, 3, None, False),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(PACKED_CASES))
def test_packed_qkv_attention_equals_split_heads(name, dtype, mode, rng):
    """Same kernels on the same numbers: forward and qkv's gradient equal, bit for bit."""
    B, T, H, D, make_mask, causal = PACKED_CASES[name]
    mask = make_mask(rng) if make_mask else None
    qkv = rng.standard_normal((B, T, 3 * H * D)).astype(dtype)
    g = mg.tensor(rng.standard_normal((B, T, H * D)).astype(dtype))
    results = []
    with mg.kernels.use(mode):
        for fn in (F.packed_qkv_attention, split_heads_attention):
            x = mg.tensor(qkv, requires_grad=True)
            with trace_ops() as used:
                y = fn(x, H, attn_mask=mask, is_causal=causal)
            y.backward(g)
            assert y.dtype == x.grad.dtype == dtype
            results.append((y.numpy(), x.grad, used))
    (y1, g1, used), (y2, g2, _) = results
    assert used == {"PackedQKVAttention"}
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("mode", MODES)
def test_packed_qkv_attention_gradcheck(mode, rng):
    qkv = leaf(rng, 2, 5, 12)
    mask = empty_row_mask(rng, 5, 5)
    with mg.kernels.use(mode):
        assert mg.gradcheck(lambda x: PackedQKVAttention.apply(x, mask, False, 0.4, 2), qkv)
        assert mg.gradcheck(lambda x: PackedQKVAttention.apply(x, None, True, 0.4, 4), qkv)


def test_packed_qkv_attention_dropout_and_checks(rng):
    qkv = leaf(rng, 2, 5, 12)
    mg.manual_seed(3)
    dropped = F.packed_qkv_attention(qkv, 2, dropout_p=0.3, is_causal=True)
    mg.manual_seed(3)
    expected = split_heads_attention(qkv, 2, dropout_p=0.3, is_causal=True)
    np.testing.assert_array_equal(dropped.numpy(), expected.numpy())
    with pytest.raises(mg.ShapeError, match=r"\(B, T, 3C\).*n_head=5"):
        F.packed_qkv_attention(qkv, 5)
    with pytest.raises(mg.ShapeError, match="attn_mask"):
        F.packed_qkv_attention(qkv, 2, attn_mask=np.ones((4, 5), dtype=bool))
    with pytest.raises(ValueError, match="not both"):
        F.packed_qkv_attention(qkv, 2, attn_mask=np.ones((5, 5), dtype=bool), is_causal=True)
