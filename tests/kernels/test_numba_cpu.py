"""Every Numba kernel computes its reference: same values (float32 ≤ 1e-5, float64 ≤ 1e-12 of the
magnitude), same dtype, NaN in the same places; on awkward sizes, strided views, extreme inputs.

Tests named ``small`` also run as plain Python (``NUMBA_DISABLE_JIT=1``, see the last test).
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.kernels import numba_cpu as K
from minigrad.kernels import reference as R

TOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]
SMALL = [(1, 1), (7, 13)]
SHAPES = ([pytest.param(s, id=f"small-{s[0]}x{s[1]}") for s in SMALL]
          + [pytest.param((m, n), id=f"{m}x{n}") for m in (1, 7, 129) for n in (1, 13, 64, 1000)
             if (m, n) not in SMALL])


def ref(fn, *args):
    """The reference result (its 0/0 and log 0 on extreme rows are intended: no warnings)."""
    with np.errstate(all="ignore"):
        return fn(*args)


def assert_matches(actual, expected, dtype):
    """Same dtype, NaN at the same places, |a - e| ≤ tol · (|e| + max|e|) elsewhere."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype == dtype
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(actual[~finite & ~np.isnan(expected)],
                                  expected[~finite & ~np.isnan(expected)])       # ±inf
    scale = np.abs(expected[finite]).max(initial=0.0)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=TOL[dtype],
                               atol=TOL[dtype] * scale)


def randn(rng, shape, dtype, scale=3.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# ---- softmax, log-softmax ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_and_log_softmax(rng, shape, dtype):
    x, g = randn(rng, shape, dtype), randn(rng, shape, dtype)
    for forward, backward in [(K.softmax_forward, K.softmax_backward),
                              (K.log_softmax_forward, K.log_softmax_backward)]:
        reference_forward, reference_backward = (getattr(R, f.__name__) for f in (forward, backward))
        y = ref(reference_forward, x)
        assert_matches(forward(x), y, dtype)
        assert_matches(backward(y, g), ref(reference_backward, y, g), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_small_strided_views(rng, dtype):
    """Softmax over a non-last dim arrives as a moveaxis view; n-d inputs keep their shape."""
    x = randn(rng, (5, 6, 7), dtype)
    for view in (np.moveaxis(x, 0, -1), np.moveaxis(x, 1, -1), x[:, ::2, 1:]):
        assert not view.flags.c_contiguous
        for name in ("softmax_forward", "log_softmax_forward"):
            assert_matches(getattr(K, name)(view), ref(getattr(R, name), view), dtype)
        y, g = ref(R.softmax_forward, view), randn(rng, view.shape, dtype)
        assert_matches(K.softmax_backward(y, g), ref(R.softmax_backward, y, g), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_extreme_rows(rng, dtype):
    """±1e4 logits, -inf entries, all -inf rows (NaN, as the reference), +inf, NaN."""
    x = randn(rng, (6, 37), dtype)
    x[0] *= 1e4 / 3                                    # ±1e4: exp would overflow without the max
    x[1, ::3] = -np.inf
    x[2] = -np.inf                                     # 0/0: NaN everywhere
    x[3, 5] = np.inf
    x[4, 7] = np.nan
    x[5, :-1] = -np.inf                                # one finite entry: probability 1
    for name in ("softmax_forward", "log_softmax_forward"):
        assert_matches(getattr(K, name)(x), ref(getattr(R, name), x), dtype)
    assert np.isnan(K.softmax_forward(x)[2]).all()


# ---- cross-entropy ----------------------------------------------------------------------------
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy(rng, shape, dtype, smoothing):
    x = randn(rng, shape, dtype)
    target = rng.integers(0, shape[1], shape[0])
    target[rng.random(shape[0]) < 0.3] = -100                                  # ignored rows
    g = randn(rng, shape[0], dtype)
    loss, lse = ref(R.cross_entropy_forward, x, target, -100, smoothing)
    for actual, expected in zip(K.cross_entropy_forward(x, target, -100, smoothing), (loss, lse)):
        assert_matches(actual, expected, dtype)
    assert_matches(K.cross_entropy_backward(x, target, lse, g, -100, smoothing),
                   ref(R.cross_entropy_backward, x, target, lse, g, -100, smoothing), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_small_custom_ignore_index_and_view(rng, dtype):
    x = randn(rng, (9, 14), dtype)[:, ::2]                                     # (9, 7) view
    target = np.array([0, 1, 2, 3, 4, 5, 6, 1, 1])                             # class 1 ignored
    loss, lse = ref(R.cross_entropy_forward, x, target, 1, 0.2)
    actual_loss, actual_lse = K.cross_entropy_forward(x, target, 1, 0.2)
    assert_matches(actual_loss, loss, dtype)
    assert_matches(actual_lse, lse, dtype)
    assert (actual_loss[target == 1] == 0).all()
    g = randn(rng, 9, dtype)
    assert_matches(K.cross_entropy_backward(x, target, lse, g, 1, 0.2),
                   ref(R.cross_entropy_backward, x, target, lse, g, 1, 0.2), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(rng, dtype):
    x = randn(rng, (4, 11), dtype)
    x[0] *= 1e4 / 3
    x[1, 1::2] = -np.inf
    x[2] = -np.inf
    target = np.array([3, 0, 4, 5])
    for smoothing in (0.0, 0.1):
        loss, lse = ref(R.cross_entropy_forward, x, target, -100, smoothing)
        actual = K.cross_entropy_forward(x, target, -100, smoothing)
        assert_matches(actual[0], loss, dtype)
        assert_matches(actual[1], lse, dtype)
        g = randn(rng, 4, dtype)
        assert_matches(K.cross_entropy_backward(x, target, lse, g, -100, smoothing),
                       ref(R.cross_entropy_backward, x, target, lse, g, -100, smoothing), dtype)


# ---- layer norm -------------------------------------------------------------------------------
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm(rng, shape, dtype, affine):
    x = randn(rng, shape, dtype) + dtype(2.0)                                  # mean ≠ 0
    g = randn(rng, shape, dtype)
    w, b = (randn(rng, shape[1], dtype), randn(rng, shape[1], dtype)) if affine else (None, None)
    expected = ref(R.layer_norm_forward, x, w, b, 1e-5)
    for actual, want in zip(K.layer_norm_forward(x, w, b, 1e-5), expected):
        assert_matches(actual, want, dtype)
    _, mean, rstd = expected
    for actual, want in zip(K.layer_norm_backward(x, w, mean, rstd, g),
                            ref(R.layer_norm_backward, x, w, mean, rstd, g)):
        assert_matches(actual, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_small_strided_weight_only(rng, dtype):
    x, g = randn(rng, (7, 26), dtype)[:, ::2], randn(rng, (7, 13), dtype)      # x: a (7, 13) view
    w = randn(rng, 13, dtype)
    expected = ref(R.layer_norm_forward, x, w, None, 1e-3)
    for actual, want in zip(K.layer_norm_forward(x, w, None, 1e-3), expected):
        assert_matches(actual, want, dtype)
    for actual, want in zip(K.layer_norm_backward(x, w, *expected[1:], g),
                            ref(R.layer_norm_backward, x, w, *expected[1:], g)):
        assert_matches(actual, want, dtype)


# ---- GELU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gelu(rng, shape, dtype, approximate):
    x, g = randn(rng, shape, dtype), randn(rng, shape, dtype)
    assert_matches(K.gelu_forward(x, approximate), ref(R.gelu_forward, x, approximate), dtype)
    assert_matches(K.gelu_backward(x, g, approximate), ref(R.gelu_backward, x, g, approximate),
                   dtype)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_extremes_and_3d_view(rng, dtype, approximate):
    x = randn(rng, (3, 4, 10), dtype)[:, :, ::2]                               # (3, 4, 5) view
    x[0, 0] = [1e4, -1e4, 40.0, -40.0, 0.5]
    x[1, 0, :3] = [np.inf, -np.inf, np.nan]
    g = randn(rng, x.shape, dtype)
    assert_matches(K.gelu_forward(x, approximate), ref(R.gelu_forward, x, approximate), dtype)
    assert_matches(K.gelu_backward(x, g, approximate), ref(R.gelu_backward, x, g, approximate),
                   dtype)


# ---- matmul (the teaching kernel) -------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (7, 13, 1), (1, 129, 7), (130, 67, 129),
                                     (65, 300, 513)])
def test_matmul_blocked(rng, m, k, n, dtype):
    a, b = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    expected = (a.astype(np.float64) @ b.astype(np.float64)).astype(dtype)
    actual = K.matmul_blocked(a, b)
    assert actual.dtype == dtype
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype],
                               atol=TOL[dtype] * math.sqrt(k) * np.abs(a).max() * np.abs(b).max())


def test_matmul_blocked_small_views(rng):
    a, b = randn(rng, (13, 14), np.float64).T, randn(rng, (7, 26), np.float64)[:, ::2]
    np.testing.assert_allclose(K.matmul_blocked(a[:7], b[:, :13].T), a[:7] @ b[:, :13].T,
                               rtol=1e-12)


# ---- the float32 scalar helpers ---------------------------------------------------------------
def _apply(fn, xs):
    return np.array([fn(v) for v in xs], dtype=np.float64)


def test_exp_f32_relative_error():
    xs = np.linspace(-87.3, 88.7, 20001, dtype=np.float32)
    exact = np.exp(xs.astype(np.float64))
    assert (np.abs(_apply(K.exp_f32, xs) - exact) / exact).max() < 2e-7
    tiny = np.linspace(-104, -87.3, 2001, dtype=np.float32)                   # subnormal results
    assert np.abs(_apply(K.exp_f32, tiny) - np.exp(tiny.astype(np.float64))).max() < 2e-45


def test_exp_nonpositive_f32_error_and_special_values():
    xs = np.linspace(-87.33, 0, 20001, dtype=np.float32)
    exact = np.exp(xs.astype(np.float64))
    assert (np.abs(_apply(K.exp_nonpositive_f32, xs) - exact) / exact).max() < 2e-7
    tiny = np.linspace(-200, -87.34, 2001, dtype=np.float32)                 # flushed to 0
    assert np.abs(_apply(K.exp_nonpositive_f32, tiny) - np.exp(tiny.astype(np.float64))).max() < 1.2e-38
    special = np.array([np.nan, -np.inf, 0.0, -0.0, -1e30], dtype=np.float32)
    assert_matches(_apply(K.exp_nonpositive_f32, special), [math.nan, 0, 1, 1, 0], np.float64)


def test_erf_and_tanh_f32_absolute_error():
    xs = np.linspace(-10, 10, 20001, dtype=np.float32)
    exact_erf = np.array([math.erf(v) for v in xs.astype(np.float64)])
    assert np.abs(_apply(K.erf_f32, xs) - exact_erf).max() < 6e-7
    assert np.abs(_apply(K.tanh_f32, xs) - np.tanh(xs.astype(np.float64))).max() < 2e-7


def test_float32_helpers_special_values():
    special = np.array([np.nan, np.inf, -np.inf, 0.0, 1e30, -1e30], dtype=np.float32)
    with np.errstate(over="ignore"):
        assert_matches(_apply(K.exp_f32, special), np.exp(special.astype(np.float64)), np.float64)
    assert_matches(_apply(K.tanh_f32, special), np.tanh(special.astype(np.float64)), np.float64)
    assert_matches(_apply(K.erf_f32, special), [math.nan, 1, -1, 0, 1, -1], np.float64)
    assert all(type(f(np.float32(0.5))) in (float, np.float32)
               for f in (K.exp_f32, K.erf_f32, K.tanh_f32))


# ---- the ops, through the switch --------------------------------------------------------------
OPS = {
    "softmax_dim0": (lambda x: F.softmax(x, 0), (5, 4)),
    "softmax": (lambda x: F.softmax(x, -1), (3, 5)),
    "log_softmax_dim1": (lambda x: F.log_softmax(x, 1), (2, 3, 4)),
    "gelu": (F.gelu, (3, 4)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), (3, 4)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), (3, 4), (4,), (4,)),
    "layer_norm_no_affine": (lambda x: F.layer_norm(x, (3, 4)), (2, 3, 4)),
    "cross_entropy": (lambda x: F.cross_entropy(x, mg.tensor([1, -100, 4, 0]),
                                                label_smoothing=0.1), (4, 5)),
    "cross_entropy_3d": (lambda x: F.cross_entropy(x, mg.tensor([[0, 2], [1, 1]])), (2, 3, 2)),
}


@pytest.mark.parametrize("name", OPS)
def test_small_op_gradcheck_with_numba_kernels(rng, name):
    fn, *shapes = OPS[name]
    inputs = [mg.tensor(rng.standard_normal(s), dtype=mg.float64, requires_grad=True)
              for s in shapes]
    with mg.kernels.use("numba"):
        assert mg.kernels.implementation("softmax_forward", inputs[0].numpy()) is K.softmax_forward
        assert mg.gradcheck(fn, *inputs)
        with_numba = fn(*inputs).numpy()
    with mg.kernels.use("numpy"):
        np.testing.assert_allclose(with_numba, fn(*inputs).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_kernels_run_as_python_without_jit():
    """The ``small`` tests again with NUMBA_DISABLE_JIT=1: the kernel logic, run as Python."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-k", "small",
                           "-p", "no:cacheprovider"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


# ---- embedding backward ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("idx_shape, row_shape", [((1,), ()), ((7,), (13,)), ((3, 129), (64,)),
                                                  ((2, 5), (3, 2)), ((0,), (4,))])
def test_embedding_backward_small_matches_reference_bit_for_bit(rng, dtype, idx_shape, row_shape):
    """Repeated and negative indices; rows added in the reference's order: identical sums."""
    V = 11
    idx = rng.integers(-V, V, size=idx_shape)
    g = randn(rng, idx_shape + row_shape, dtype)
    ours = K.embedding_backward(g, idx, V)
    assert ours.dtype == dtype and ours.shape == (V, *row_shape)
    np.testing.assert_array_equal(ours, R.embedding_backward(g, idx, V))
    if idx.size:
        with pytest.raises(IndexError, match="embedding_backward"):
            K.embedding_backward(g, np.full(idx_shape, V), V)


def test_embedding_gradient_uses_the_kernel_and_equals_numpy(rng):
    weight = mg.tensor(randn(rng, (50, 16), np.float32), requires_grad=True)
    idx = mg.tensor(rng.integers(0, 50, size=(8, 64)))
    g = randn(rng, (8, 64, 16), np.float32)
    grads = []
    for mode in ("numba", "numpy"):
        weight.grad = None
        with mg.kernels.use(mode):
            F.embedding(idx, weight).backward(mg.tensor(g))
        grads.append(weight.grad)
    assert mg.kernels.implementation("embedding_backward", g) is K.embedding_backward
    np.testing.assert_array_equal(*grads)


# ---- Adam / AdamW -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("wd, decoupled, amsgrad", [(0.0, False, False), (0.1, False, True),
                                                    (0.05, True, False), (0.2, True, True)])
def test_adam_update_matches_reference_bit_for_bit(rng, dtype, wd, decoupled, amsgrad):
    """Same operations in the same order as reference.adam_update: identical results, for a
    list of parameters of several shapes, one of them a step behind the others, and one
    gradient that is not contiguous (that parameter takes the reference's path)."""
    shapes = [(37, 129), (5,), (1,), (3, 4, 6)]
    copies = []
    for _ in range(2):
        r = np.random.default_rng(0)
        params = [randn(r, s, dtype) for s in shapes]
        ms = [randn(r, s, dtype, 0.1) for s in shapes]
        vs = [np.abs(randn(r, s, dtype, 0.1)) for s in shapes]
        v_maxes = [np.abs(randn(r, s, dtype, 0.1)) if amsgrad else None for s in shapes]
        copies.append((params, ms, vs, v_maxes))
    for step in (1, 2, 7):
        grads = [randn(rng, s, dtype) for s in shapes]
        grads[3] = randn(rng, (6, 4, 3), dtype).transpose(2, 1, 0)      # not contiguous
        steps = [step, step, step + 1, step]
        for update, (params, ms, vs, v_maxes) in zip((R.adam_update, K.adam_update), copies):
            update(params, grads, ms, vs, v_maxes, steps, 3e-3, 0.9, 0.999, 1e-8, wd, decoupled)
    for ours, theirs in zip(copies[1], copies[0]):
        for a, b in zip(ours, theirs):
            if b is not None:
                np.testing.assert_array_equal(a, b)
    before = randn(np.random.default_rng(0), shapes[0], dtype)
    assert np.abs(copies[1][0][0] - before).max() > 1e-3              # the step moved p
