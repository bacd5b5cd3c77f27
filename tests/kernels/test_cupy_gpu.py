"""The CuPy kernels compute their reference, and the framework runs on GPU tensors.

Two halves:
- without CuPy (or without a GPU), importing and using minigrad works, GPU requests fail with
  a ``DeviceError`` that says why; these tests run everywhere (in a subprocess that hides
  CuPy, so they mean the same on a GPU machine);
- with a GPU, every kernel of ``cupy_gpu.py`` equals ``reference.py`` (run by NumPy on the
  host: the spec) on fresh random inputs at awkward sizes, float32 ≤ 1e-5 and float64 ≤ 1e-12
  of the magnitude, NaN in the same places; and a training step on the GPU equals the CPU's.
  Without one they skip, giving the reason (``mg.cuda.unavailable_reason()``).
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import reference as R

GPU = mg.cuda.is_available()
needs_gpu = pytest.mark.skipif(not GPU, reason=f"no usable GPU for the CuPy kernels "
                               f"({mg.cuda.unavailable_reason()})")
TOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [pytest.param(np.float32, id="f32"), pytest.param(np.float64, id="f64")]
ROWS_COLS = [pytest.param((m, n), id=f"{m}x{n}") for m in (1, 7, 129) for n in (1, 13, 64, 1000)]


# ---- without CuPy ----------------------------------------------------------------------------
def run_without_cupy(code):
    """Run ``code`` in a fresh Python where ``import cupy`` fails; return its stdout."""
    prelude = "import sys\nsys.modules['cupy'] = None   # import cupy -> ImportError\n"
    result = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_minigrad_works_without_cupy():
    out = run_without_cupy("""
        import numpy as np
        import minigrad as mg
        import minigrad.nn.functional as F
        from minigrad.errors import DeviceError
        from minigrad import kernels
        assert "cupy" not in sys.modules or sys.modules["cupy"] is None
        assert not mg.cuda.is_available()
        assert "cupy" in mg.cuda.unavailable_reason().lower()
        assert "cupy" not in kernels.available()
        assert kernels._module("cupy_gpu") is None          # the GPU kernel set cannot load
        x = mg.randn(4, 5, requires_grad=True)
        loss = F.cross_entropy(F.gelu(F.layer_norm(x, (5,))) @ mg.randn(5, 3), mg.tensor([0, 1, 2, 0]))
        loss.backward()
        assert x.grad.shape == (4, 5) and np.isfinite(x.grad).all()
        for move in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: mg.zeros(2, device="cuda"),
                     lambda: mg.nn.Linear(2, 2).to("cuda")):
            try:
                move()
            except DeviceError as err:
                assert "cuda" in str(err) and "cupy" in str(err), err
            else:
                raise AssertionError("a GPU request without CuPy did not raise DeviceError")
        print("ok")
    """)
    assert out.strip() == "ok"


def test_import_minigrad_does_not_import_cupy():
    out = run_without_cupy("""
        del sys.modules['cupy']
        import minigrad, minigrad.nn, minigrad.optim
        print('cupy' in sys.modules)
    """)
    assert out.strip() == "False"


# ---- with a GPU: every kernel equals the reference -------------------------------------------
@pytest.fixture(scope="module")
def G():
    """The cupy_gpu module (imported only here: it needs CuPy)."""
    from minigrad.kernels import cupy_gpu
    return cupy_gpu


def on_gpu(*arrays):
    cupy = mg.cuda.cupy()
    return [None if a is None else cupy.asarray(a) for a in arrays]


def ref(fn, *args):
    """The reference on the host (its 0/0 on all -inf rows is intended: no warnings)."""
    with np.errstate(all="ignore"):
        return fn(*args)


def assert_matches(actual, expected, dtype, what=""):
    """A GPU result equals the host reference: same dtype and shape, NaN and ±inf at the same
    places, |a - e| ≤ tol · (|e| + max|e|) elsewhere."""
    actual = actual.get() if hasattr(actual, "get") else np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype == dtype, (what, actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{what}: NaNs")
    finite = np.isfinite(expected)
    infinite = ~finite & ~np.isnan(expected)
    np.testing.assert_array_equal(actual[infinite], expected[infinite], err_msg=f"{what}: inf")
    scale = np.abs(expected[finite]).max(initial=0.0)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=TOL[dtype],
                               atol=TOL[dtype] * scale, err_msg=what)


def randn(rng, shape, dtype, scale=3.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS_COLS)
def test_softmax_and_log_softmax(G, rng, shape, dtype):
    x, g = randn(rng, shape, dtype), randn(rng, shape, dtype)
    if shape[0] > 2:
        x[1] = -np.inf                        # an all -inf row: NaN, as the reference's 0/0
        x[2, 0] = np.inf
    for name in ("softmax", "log_softmax"):
        forward, backward = (getattr(G, f"{name}_{d}") for d in ("forward", "backward"))
        y = ref(getattr(R, f"{name}_forward"), x)
        assert_matches(forward(*on_gpu(x)), y, dtype, f"{name}_forward")
        y = ref(getattr(R, f"{name}_forward"), randn(rng, shape, dtype))   # finite, for backward
        assert_matches(backward(*on_gpu(y, g)), ref(getattr(R, f"{name}_backward"), y, g), dtype,
                       f"{name}_backward")


@needs_gpu
def test_softmax_of_a_strided_view_and_a_batch(G, rng):
    x = randn(rng, (3, 7, 5), np.float32)
    view = np.moveaxis(x, 1, -1)                                        # (3, 5, 7), not contiguous
    (gpu_view,) = on_gpu(x)
    gpu_view = gpu_view.transpose(0, 2, 1)
    assert_matches(G.softmax_forward(gpu_view), ref(R.softmax_forward, view), np.float32)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS_COLS)
@pytest.mark.parametrize("affine", ["w_b", "w", "none"])
def test_layer_norm(G, rng, shape, dtype, affine):
    n = shape[1]
    x, g = randn(rng, shape, dtype) + 1.5, randn(rng, shape, dtype)
    w = randn(rng, n, dtype, 1.0) if affine != "none" else None
    b = randn(rng, n, dtype, 1.0) if affine == "w_b" else None
    expected = ref(R.layer_norm_forward, x, w, b, 1e-5)
    actual = G.layer_norm_forward(*on_gpu(x, w, b), 1e-5)
    for a, e, what in zip(actual, expected, ("y", "mean", "rstd")):
        assert_matches(a, e, dtype, what)
    _, mean, rstd = expected
    expected = ref(R.layer_norm_backward, x, w, mean, rstd, g)
    actual = G.layer_norm_backward(*on_gpu(x, w, mean, rstd, g))
    for a, e, what in zip(actual, expected, ("dx", "dw", "db")):
        assert_matches(a, e, dtype, what)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS_COLS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy(G, rng, shape, dtype, smoothing):
    m, c = shape
    x, g = randn(rng, shape, dtype), randn(rng, m, dtype)
    target = rng.integers(0, c, m)
    target[::3] = -100                                                  # ignored rows
    expected = ref(R.cross_entropy_forward, x, target, -100, smoothing)
    actual = G.cross_entropy_forward(*on_gpu(x, target), -100, smoothing)
    for a, e, what in zip(actual, expected, ("loss", "lse")):
        assert_matches(a, e, dtype, what)
    lse = expected[1]
    assert_matches(G.cross_entropy_backward(*on_gpu(x, target, lse, g), -100, smoothing),
                   ref(R.cross_entropy_backward, x, target, lse, g, -100, smoothing), dtype, "dx")


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(G, rng, dtype, approximate):
    x, g = randn(rng, (7, 1000), dtype), randn(rng, (7, 1000), dtype)
    assert_matches(G.gelu_forward(*on_gpu(x), approximate), ref(R.gelu_forward, x, approximate),
                   dtype, "gelu_forward")
    assert_matches(G.gelu_backward(*on_gpu(x, g), approximate),
                   ref(R.gelu_backward, x, g, approximate), dtype, "gelu_backward")


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mnk", [(1, 1, 1), (7, 13, 129), (129, 64, 1000), (16, 16, 16)],
                         ids=lambda s: "x".join(map(str, s)))
def test_matmul_tiled(G, rng, dtype, mnk):
    m, n, k = mnk
    a, b = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)              # exact-ish, then cast
    actual = G.matmul_tiled(*on_gpu(a, b))
    assert_matches(actual, expected.astype(dtype), dtype, "matmul_tiled")


ATTENTION = [  # (B, Tq, Tk, D, Dv)
    (1, 1, 1, 1, 1), (2, 7, 7, 13, 13), (3, 129, 129, 64, 64), (2, 7, 129, 13, 5),
    (1, 129, 7, 64, 32), (2, 33, 65, 100, 128), (1, 5, 9, 200, 8),      # D 200: the reference path
]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", ATTENTION, ids=lambda s: "B{}-Tq{}-Tk{}-D{}-Dv{}".format(*s))
@pytest.mark.parametrize("masking", ["none", "causal", "mask", "mask+causal", "broadcast"])
def test_attention(G, rng, dtype, sizes, masking):
    b, tq, tk, d, dv = sizes
    q, k = randn(rng, (b, tq, d), dtype, 1.0), randn(rng, (b, tk, d), dtype, 1.0)
    v, g = randn(rng, (b, tk, dv), dtype), randn(rng, (b, tq, dv), dtype)
    mask = None
    if "mask" in masking:
        mask = rng.random((b, tq, tk)) < 0.7
        mask[:, tq // 2] = False                                        # fully masked rows
    elif masking == "broadcast":
        mask = np.broadcast_to(rng.random((1, tq, tk)) < 0.5, (b, tq, tk))
    causal = "causal" in masking
    scale = 1 / np.sqrt(d)
    o, lse = ref(R.attention_forward, q, k, v, mask, causal, scale)
    actual = G.attention_forward(*on_gpu(q, k, v, mask), causal, scale)
    assert_matches(actual[0], o, dtype, "o")
    assert_matches(actual[1], lse, dtype, "lse")
    assert not np.isnan(actual[0].get()).any(), "a fully masked row must give zeros, not NaN"
    expected = ref(R.attention_backward, q, k, v, o, lse, g, mask, causal, scale)
    actual = G.attention_backward(*on_gpu(q, k, v, o, lse, g, mask), causal, scale)
    for a, e, what in zip(actual, expected, ("dq", "dk", "dv")):
        assert_matches(a, e, dtype, what)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decoupled, weight_decay, amsgrad",
                         [(True, 0.1, False), (False, 0.1, False), (True, 0.0, True)],
                         ids=["adamw", "adam-l2", "amsgrad"])
def test_adam_update(G, rng, dtype, decoupled, weight_decay, amsgrad):
    shapes = [(7, 13), (1,), (129, 64)]
    params, grads, ms = ([randn(rng, s, dtype) for s in shapes] for _ in range(3))
    vs, v_maxes = ([np.abs(randn(rng, s, dtype)) for s in shapes] for _ in range(2))
    v_maxes = v_maxes if amsgrad else [None] * len(shapes)
    host = [[None if a is None else a.copy() for a in arrays]
            for arrays in (params, grads, ms, vs, v_maxes)]
    device = [on_gpu(*arrays) for arrays in (params, grads, ms, vs, v_maxes)]
    steps, scalars = [1, 7, 1000], (1e-2, 0.9, 0.999, 1e-8, weight_decay, decoupled)
    R.adam_update(*host, steps, *scalars)
    G.adam_update(*device, steps, *scalars)
    for name, want, got in zip(("p", "g", "m", "v", "v_max"), host, device):
        for i, (w, d) in enumerate(zip(want, got)):
            if w is not None:
                assert_matches(d, w, dtype, f"adam_update {name}[{i}]")


@needs_gpu
def test_the_switch_sends_gpu_arrays_to_cupy_gpu(G):
    from minigrad import kernels
    (x,) = on_gpu(np.zeros((2, 3), np.float32))
    assert kernels.implementation("softmax_forward", x) is G.softmax_forward
    assert "cupy" in kernels.available()


# ---- with a GPU: the framework on GPU tensors ------------------------------------------------
@needs_gpu
def test_tensor_to_cuda_and_back_carries_the_gradient(rng):
    x = mg.tensor(randn(rng, (3, 4), np.float32), requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and x.device == "cpu"
    (y * y).sum().backward()
    assert x.grad.shape == (3, 4) and isinstance(x.grad, np.ndarray)
    np.testing.assert_allclose(x.grad, 2 * x.numpy(), rtol=1e-6)
    assert y.to("cpu").device == "cpu" and y.cuda() is y


@needs_gpu
def test_linear_cross_entropy_adamw_step_equals_the_cpu_step(rng):
    """The first step's gradients and the losses of three AdamW steps equal the CPU's (not the
    weights: Adam's g / √v turns a rounding difference of a near-zero gradient into a step)."""
    import minigrad.nn.functional as F
    x, target = randn(rng, (16, 8), np.float32), rng.integers(0, 5, 16)
    target[3] = -100
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        model = mg.nn.Sequential(mg.nn.Linear(8, 32), mg.nn.GELU(), mg.nn.LayerNorm(32),
                                 mg.nn.Linear(32, 5)).to(device)
        opt = mg.optim.AdamW(model.parameters(), lr=1e-2)
        losses, grads = [], None
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(model(mg.tensor(x).to(device)),
                                   mg.tensor(target).to(device), label_smoothing=0.1)
            loss.backward()
            losses.append(loss.item())
            grads = grads or [mg.tensor(p.grad).numpy() for p in model.parameters()]
            opt.step()
        results[device] = losses, grads
    assert results["cuda"][0] == pytest.approx(results["cpu"][0], rel=1e-5)
    for gpu, cpu in zip(results["cuda"][1], results["cpu"][1]):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-6)


@needs_gpu
def test_gpu_tensors_save_and_load(tmp_path, rng):
    from minigrad import serialization
    w = mg.tensor(randn(rng, (3, 2), np.float32)).to("cuda")
    serialization.save({"w": w.data}, tmp_path / "ckpt.npz")
    loaded = serialization.load(tmp_path / "ckpt.npz")
    np.testing.assert_array_equal(np.asarray(loaded["w"]), w.numpy())
