"""The GPU kernels: CUDA C (``kernels/cuda/*.cu``) compiled by CuPy, plus element-wise GELU
and Adam.

Each function here computes exactly its namesake in ``reference.py`` (same signature, same
returns, tested against it); its docstring says how: which CUDA kernel and the launch layout
(grid, block). The CUDA sources carry the formulas and the optimizations in their header
comments. ``kernels/__init__.py`` sends CuPy arrays here (and to the reference for any kernel
this module lacks); this module imports CuPy, so it is imported only once a CuPy array is seen.

Conventions of every launch:
    - inputs are made C-contiguous (``cupy.ascontiguousarray``: a no-op when they already are);
    - sizes go as ``np.int32``, scalars as the array's dtype (``np.float32(eps)``): a CUDA
      kernel takes its arguments' raw bytes, so a Python float would arrive as garbage;
    - float32 and float64 have compiled kernels (one module per dtype, ``-DSCALAR_T=...``);
      any other dtype, an empty array, or a mismatch of dtypes goes to the reference;
    - nothing synchronizes: a launch returns at once, and CuPy orders the work on its stream.
      (Benchmarks synchronize before reading the clock: ``benchmarks/gpu_check.py``.)
Modules are compiled on first use and kept in ``_modules`` (CuPy also caches the binaries on
disk, so the compile cost, up to ~20 s for the attention kernels, is paid once per machine).
"""
import math

import cupy
import numpy as np

from minigrad.kernels import cuda_sources, reference

__all__ = ["matmul", "matmul_tiled", "softmax_forward", "softmax_backward",
           "log_softmax_forward", "log_softmax_backward", "layer_norm_forward",
           "layer_norm_backward", "cross_entropy_forward", "cross_entropy_backward",
           "gelu_forward", "gelu_backward", "attention_forward", "attention_backward",
           "adam_update"]

_modules = {}          # (file, dtype name, head_dim_max) -> cupy.RawModule


def _kernel(file, name, dtype, head_dim_max=None):
    """The compiled kernel ``name`` of ``kernels/cuda/<file>`` for ``dtype`` (compiled once)."""
    if name not in cuda_sources.KERNELS[file]:
        raise KeyError(f"{file} defines no kernel {name!r} "
                       f"(cuda_sources.KERNELS lists {cuda_sources.KERNELS[file]})")
    key = (file, np.dtype(dtype).name, head_dim_max)
    if key not in _modules:
        _modules[key] = cupy.RawModule(code=cuda_sources.source(file),
                                       options=cuda_sources.defines(file, dtype, head_dim_max))
    return _modules[key].get_function(name)


def _compiled(*arrays):
    """True when the CUDA kernels handle these arrays: float32 or float64, one dtype, non-empty."""
    dtype = arrays[0].dtype
    return (dtype.name in cuda_sources.SCALAR_TYPES and arrays[0].size > 0
            and all(a.dtype == dtype for a in arrays[1:]))


def _row_threads(n):
    """Threads per block of the one-block-per-row kernels: a multiple of 32, at most 1024,
    about one per element for short rows (32 is the least: a warp)."""
    return min(1024, max(32, 1 << (n - 1).bit_length()))


def _as_rows(x):
    """x as a contiguous (M, N) array over its last axis (a view when x is contiguous)."""
    x = cupy.ascontiguousarray(x)
    return x.reshape(-1, x.shape[-1])                                   # (M, N)


def _row_launch(name, file, x, *others):
    """Run a one-block-per-row kernel ``name(x, *others, out, rows, n)`` on (..., N) arrays."""
    rows = _as_rows(x)                                                  # (M, N)
    others = [_as_rows(a) for a in others]                              # (M, N) each
    out = cupy.empty_like(rows)
    m, n = rows.shape
    _kernel(file, name, x.dtype)((m,), (_row_threads(n),),
                                 (rows, *others, out, np.int32(m), np.int32(n)))
    return out.reshape(x.shape)


# ---- matmul -------------------------------------------------------------------------------
def matmul(a, b):
    """Computes: see reference.matmul. ``cupy.matmul``: cuBLAS (the default GPU matmul)."""
    return cupy.matmul(a, b)


def matmul_tiled(a, b):
    """Computes: see reference.matmul, for 2-d a (M, K) and b (K, N) -> (M, N).

    Kernel ``matmul_tiled`` (matmul_tiled.cu), the shared-memory tiling teaching kernel:
    grid (ceil(N/16), ceil(M/16)), block (16, 16), one thread per element of C.
    Not the default (cuBLAS is much faster); other dtypes or shapes use cupy.matmul.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or not _compiled(a, b):
        return cupy.matmul(a, b)
    tile = 16                                                           # TILE in matmul_tiled.cu
    (m, k), n = a.shape, b.shape[1]
    grid = ((n + tile - 1) // tile, (m + tile - 1) // tile)
    if n == 0 or grid[1] > 65535:                  # an empty grid; CUDA's limit on grid.y
        return cupy.matmul(a, b)
    c = cupy.empty((m, n), dtype=a.dtype)
    _kernel("matmul_tiled.cu", "matmul_tiled", a.dtype)(
        grid, (tile, tile), (cupy.ascontiguousarray(a), cupy.ascontiguousarray(b), c,
                             np.int32(m), np.int32(n), np.int32(k)))
    return c


# ---- softmax and log-softmax ------------------------------------------------------------
def softmax_forward(x):
    """Computes: see reference.softmax_forward.  x, y: (..., N), over the last axis.

    Kernel ``softmax_forward`` (softmax.cu): grid (M rows), block (32..1024 threads) per row.
    """
    if x.ndim == 0 or not _compiled(x):
        return reference.softmax_forward(x)
    return _row_launch("softmax_forward", "softmax.cu", x)


def softmax_backward(y, g):
    """Computes: see reference.softmax_backward.  y, g, dx: (..., N).

    Kernel ``softmax_backward`` (softmax.cu): grid (M rows), block (32..1024 threads) per row.
    """
    if y.ndim == 0 or y.shape != g.shape or not _compiled(y, g):
        return reference.softmax_backward(y, g)
    return _row_launch("softmax_backward", "softmax.cu", y, g)


def log_softmax_forward(x):
    """Computes: see reference.log_softmax_forward.  x, y: (..., N).

    Kernel ``log_softmax_forward`` (softmax.cu): grid (M rows), block (32..1024 threads) per row.
    """
    if x.ndim == 0 or not _compiled(x):
        return reference.log_softmax_forward(x)
    return _row_launch("log_softmax_forward", "softmax.cu", x)


def log_softmax_backward(y, g):
    """Computes: see reference.log_softmax_backward.  y, g, dx: (..., N).

    Kernel ``log_softmax_backward`` (softmax.cu): grid (M rows), block (32..1024) per row.
    """
    if y.ndim == 0 or y.shape != g.shape or not _compiled(y, g):
        return reference.log_softmax_backward(y, g)
    return _row_launch("log_softmax_backward", "softmax.cu", y, g)


# ---- layer norm --------------------------------------------------------------------------
def layer_norm_forward(x, weight, bias, eps):
    """Computes: see reference.layer_norm_forward.  x (M, N), w, b (N,) or None
    -> y (M, N), mean (M,), rstd (M,).

    Kernel ``layer_norm_forward`` (layer_norm.cu): grid (M rows), block (32..1024) per row.
    """
    params = [p for p in (weight, bias) if p is not None]
    if x.ndim != 2 or not _compiled(x, *params):
        return reference.layer_norm_forward(x, weight, bias, eps)
    x = cupy.ascontiguousarray(x)
    m, n = x.shape
    dummy = cupy.empty(1, dtype=x.dtype)                    # stands for a missing w or b
    w = dummy if weight is None else cupy.ascontiguousarray(weight)
    b = dummy if bias is None else cupy.ascontiguousarray(bias)
    y = cupy.empty_like(x)
    mean = cupy.empty(m, dtype=x.dtype)
    rstd = cupy.empty(m, dtype=x.dtype)
    _kernel("layer_norm.cu", "layer_norm_forward", x.dtype)(
        (m,), (_row_threads(n),),
        (x, w, b, y, mean, rstd, np.int32(m), np.int32(n), x.dtype.type(eps),
         np.int32(weight is not None), np.int32(bias is not None)))
    return y, mean, rstd


def layer_norm_backward(x, weight, mean, rstd, g):
    """Computes: see reference.layer_norm_backward.  x, g (M, N), w (N,) or None, mean, rstd (M,)
    -> dx (M, N), dw (N,), db (N,).

    dx: kernel ``layer_norm_backward`` (layer_norm.cu), grid (M rows), block (32..1024) per row.
    dw = Σ_rows g ⊙ x̂ and db = Σ_rows g: cupy reductions over the rows (column sums across
    all blocks: a per-row kernel would need atomics for them).
    """
    params = [] if weight is None else [weight]
    if x.ndim != 2 or g.shape != x.shape or not _compiled(x, g, mean, rstd, *params):
        return reference.layer_norm_backward(x, weight, mean, rstd, g)
    x, g = cupy.ascontiguousarray(x), cupy.ascontiguousarray(g)
    mean, rstd = cupy.ascontiguousarray(mean), cupy.ascontiguousarray(rstd)
    m, n = x.shape
    w = cupy.empty(1, dtype=x.dtype) if weight is None else cupy.ascontiguousarray(weight)
    dx = cupy.empty_like(x)
    _kernel("layer_norm.cu", "layer_norm_backward", x.dtype)(
        (m,), (_row_threads(n),),
        (x, w, mean, rstd, g, dx, np.int32(m), np.int32(n), np.int32(weight is not None)))
    xhat = (x - mean[:, None]) * rstd[:, None]                          # (M, N)
    return dx, (g * xhat).sum(axis=0), g.sum(axis=0)


# ---- cross-entropy -----------------------------------------------------------------------
def cross_entropy_forward(x, target, ignore_index, label_smoothing):
    """Computes: see reference.cross_entropy_forward.  x (M, C), target (M,) ints
    -> loss (M,), lse (M,).  (A target outside [0, C) gives NaN: the reference raises.)

    Kernel ``cross_entropy_forward`` (cross_entropy.cu): grid (M rows), block (32..1024) per row.
    """
    if x.ndim != 2 or not _compiled(x):
        return reference.cross_entropy_forward(x, cupy.asarray(target), ignore_index,
                                               label_smoothing)
    x = cupy.ascontiguousarray(x)
    target = cupy.ascontiguousarray(cupy.asarray(target), dtype=np.int64)
    m, c = x.shape
    loss = cupy.empty(m, dtype=x.dtype)
    lse = cupy.empty(m, dtype=x.dtype)
    _kernel("cross_entropy.cu", "cross_entropy_forward", x.dtype)(
        (m,), (_row_threads(c),),
        (x, target, loss, lse, np.int32(m), np.int32(c), np.int64(ignore_index),
         x.dtype.type(label_smoothing)))
    return loss, lse


def cross_entropy_backward(x, target, lse, g, ignore_index, label_smoothing):
    """Computes: see reference.cross_entropy_backward.  x (M, C), target, lse, g (M,) -> dx (M, C).

    Kernel ``cross_entropy_backward`` (cross_entropy.cu): element-wise, a grid-stride loop:
    grid (min(ceil(M·C / 256), 65535)), block (256).
    """
    if x.ndim != 2 or not _compiled(x, lse, g):
        return reference.cross_entropy_backward(x, cupy.asarray(target), lse, g, ignore_index,
                                                label_smoothing)
    x = cupy.ascontiguousarray(x)
    target = cupy.ascontiguousarray(cupy.asarray(target), dtype=np.int64)
    lse, g = cupy.ascontiguousarray(lse), cupy.ascontiguousarray(g)    # g: often a broadcast
    m, c = x.shape
    dx = cupy.empty_like(x)
    blocks = min((m * c + 255) // 256, 65535)
    _kernel("cross_entropy.cu", "cross_entropy_backward", x.dtype)(
        (blocks,), (256,),
        (x, target, lse, g, dx, np.int32(m), np.int32(c), np.int64(ignore_index),
         x.dtype.type(label_smoothing)))
    return dx


# ---- GELU (element-wise: cupy.ElementwiseKernel writes the index arithmetic) ---------------
_GELU_KERNELS = {}
_GELU_CODE = {
    ("forward", "none"): "y = (T)0.5 * x * ((T)1 + erf(x / (T)1.4142135623730951))",
    ("forward", "tanh"): """
        const T u = (T)0.7978845608028654 * (x + (T)0.044715 * x * x * x);
        y = (T)0.5 * x * ((T)1 + tanh(u))""",
    ("backward", "none"): """
        const T cdf = (T)0.5 * ((T)1 + erf(x / (T)1.4142135623730951));
        const T pdf = exp((T)-0.5 * x * x) / (T)2.5066282746310002;
        y = g * (cdf + x * pdf)""",
    ("backward", "tanh"): """
        const T t = tanh((T)0.7978845608028654 * (x + (T)0.044715 * x * x * x));
        const T du = (T)0.7978845608028654 * ((T)1 + (T)3 * (T)0.044715 * x * x);
        y = g * ((T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * du)""",
}


def _gelu_kernel(direction, approximate):
    key = (direction, "tanh" if approximate == "tanh" else "none")
    if key not in _GELU_KERNELS:
        params = "T x" if direction == "forward" else "T x, T g"
        _GELU_KERNELS[key] = cupy.ElementwiseKernel(params, "T y", _GELU_CODE[key],
                                                    f"minigrad_gelu_{direction}_{key[1]}")
    return _GELU_KERNELS[key]


def gelu_forward(x, approximate):
    """Computes: see reference.gelu_forward (exact: CUDA's erf; or the tanh form).

    ``cupy.ElementwiseKernel``: one thread per element, CuPy picks grid and block.
    """
    if not _compiled(x):
        return reference.gelu_forward(x, approximate)
    return _gelu_kernel("forward", approximate)(x)


def gelu_backward(x, g, approximate):
    """Computes: see reference.gelu_backward.  One thread per element (ElementwiseKernel)."""
    if not _compiled(x, g):
        return reference.gelu_backward(x, g, approximate)
    return _gelu_kernel("backward", approximate)(x, g)


# ---- Adam / AdamW (element-wise, in place: p, m, v and v_max are the kernel's outputs) -----
_ADAM_KERNELS = {}
_ADAM_CODE = """
    const T grad = g + wd * p;                  // wd: the L2 penalty's (0 for AdamW)
    p *= decay;                                 // 1 - lr wd for AdamW, else 1
    m = beta1 * m + one_minus_beta1 * grad;
    v = beta2 * v + one_minus_beta2 * grad * grad;
    {amsgrad}
    p -= step_size * (m / (sqrt({v_hat}) / bias2_root + eps));"""


def _adam_kernel(amsgrad):
    if amsgrad not in _ADAM_KERNELS:
        code = _ADAM_CODE.format(amsgrad="v_max = max(v_max, v);" if amsgrad else "",
                                 v_hat="v_max" if amsgrad else "v")
        _ADAM_KERNELS[amsgrad] = cupy.ElementwiseKernel(
            "T g, T wd, T decay, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, "
            "T step_size, T bias2_root, T eps",
            "T p, T m, T v" + (", T v_max" if amsgrad else ""), code,
            "minigrad_adam_amsgrad" if amsgrad else "minigrad_adam")
    return _ADAM_KERNELS[amsgrad]


def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
                beta2, eps, weight_decay, decoupled):
    """Computes: see reference.adam_update (its formulas and scalars, in its order of
    operations; CUDA may fuse a multiply and an add, so a last bit can differ).

    One ``cupy.ElementwiseKernel`` launch per parameter, one thread per element, updating
    p, m, v (and v_max) in place as the kernel's outputs: one pass over memory where the
    reference's dozen array operations make a dozen. Scalars go in the parameter's dtype.
    """
    for p, g, m, v, v_max, step in zip(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                       steps):
        outputs = (p, m, v) if v_max is None else (p, m, v, v_max)
        if not _compiled(g, *outputs):
            reference.adam_update([p], [g], [m], [v], [v_max], [step], lr, beta1, beta2, eps,
                                  weight_decay, decoupled)
            continue
        t = p.dtype.type
        wd, decay = (0.0, 1 - lr * weight_decay) if decoupled else (weight_decay, 1.0)
        _adam_kernel(v_max is not None)(
            g, t(wd), t(decay), t(beta1), t(1 - beta1), t(beta2), t(1 - beta2),
            t(lr / (1 - beta1 ** step)),
            t(math.sqrt(1 - beta2 ** step)), t(eps), *outputs)


# ---- attention ---------------------------------------------------------------------------
def _attention_plan(q, k, v, *others):
    """(head_dim_max, tile) for the CUDA attention kernels, or None: use the reference."""
    if q.ndim != 3 or not _compiled(q, k, v, *others) or k.size == 0 or v.size == 0:
        return None
    head_dim_max = cuda_sources.head_dim_bucket(max(q.shape[2], v.shape[2]))
    if head_dim_max is None:
        return None
    return head_dim_max, cuda_sources.attention_tile(head_dim_max, q.dtype.itemsize)


def _mask_arguments(mask, shape):
    """The kernel's mask arguments: (pointer, stride_b, stride_q, stride_k, has_mask).

    A broadcast mask stays a view: its element strides (0 along broadcast axes) go to the
    kernel, so a (1, Tq, Tk) or (Tq, Tk) mask is never copied B times.
    """
    if mask is None:
        return cupy.empty(1, dtype=bool), np.int64(0), np.int64(0), np.int64(0), np.int32(0)
    mask = cupy.broadcast_to(mask.astype(bool, copy=False), shape)      # (B, Tq, Tk) view
    return (mask, *(np.int64(s // mask.itemsize) for s in mask.strides), np.int32(1))


def attention_forward(q, k, v, mask, is_causal, scale):
    """Computes: see reference.attention_forward.  q (B, Tq, D), k (B, Tk, D), v (B, Tk, Dv),
    mask None or bool (B, Tq, Tk) -> o (B, Tq, Dv), lse (B, Tq).

    Kernel ``attention_forward`` (attention.cu, the online-softmax "flash" forward):
    grid (B · ceil(Tq / 64)), block (64): one thread per query, key tiles in shared memory.
    D or Dv above 128, or dtypes other than float32/float64: the reference.
    """
    mask = None if mask is None else cupy.asarray(mask)     # a host mask: to the GPU
    plan = _attention_plan(q, k, v)
    if plan is None:
        return reference.attention_forward(q, k, v, mask, is_causal, scale)
    head_dim_max, _ = plan
    q, k, v = (cupy.ascontiguousarray(a) for a in (q, k, v))
    (b, tq, d), (tk, dv) = q.shape, v.shape[1:]
    o = cupy.empty((b, tq, dv), dtype=q.dtype)
    lse = cupy.empty((b, tq), dtype=q.dtype)
    blocks = b * ((tq + cuda_sources.QUERY_BLOCK - 1) // cuda_sources.QUERY_BLOCK)
    _kernel("attention.cu", "attention_forward", q.dtype, head_dim_max)(
        (blocks,), (cuda_sources.QUERY_BLOCK,),
        (q, k, v, *_mask_arguments(mask, (b, tq, tk)), o, lse, np.int32(tq), np.int32(tk),
         np.int32(d), np.int32(dv), np.int32(bool(is_causal)), q.dtype.type(scale)))
    return o, lse


def attention_backward(q, k, v, o, lse, g, mask, is_causal, scale):
    """Computes: see reference.attention_backward -> dq (B, Tq, D), dk (B, Tk, D), dv (B, Tk, Dv).

    Δ_i = Σ_d g_id o_id by a cupy reduction; then two kernels of attention.cu, no atomics:
    ``attention_backward_dq``: grid (B · ceil(Tq / 64)), block (64), one thread per query;
    ``attention_backward_dkdv``: grid (B · ceil(Tk / TILE)), block (TILE), one thread per key
    (TILE = 32, or 16 / 8 for wide float64 rows: cuda_sources.attention_tile).
    """
    mask = None if mask is None else cupy.asarray(mask)
    plan = _attention_plan(q, k, v, o, lse, g)
    if plan is None:
        return reference.attention_backward(q, k, v, o, lse, g, mask, is_causal, scale)
    head_dim_max, tile = plan
    q, k, v, o, lse, g = (cupy.ascontiguousarray(a) for a in (q, k, v, o, lse, g))
    (b, tq, d), (tk, dv_dim) = q.shape, v.shape[1:]
    delta = (g * o).sum(axis=-1)                                        # (B, Tq)
    dq, dk, dv = cupy.empty_like(q), cupy.empty_like(k), cupy.empty_like(v)
    masks = _mask_arguments(mask, (b, tq, tk))
    sizes = (np.int32(tq), np.int32(tk), np.int32(d), np.int32(dv_dim),
             np.int32(bool(is_causal)), q.dtype.type(scale))
    query_blocks = b * ((tq + cuda_sources.QUERY_BLOCK - 1) // cuda_sources.QUERY_BLOCK)
    _kernel("attention.cu", "attention_backward_dq", q.dtype, head_dim_max)(
        (query_blocks,), (cuda_sources.QUERY_BLOCK,),
        (q, k, v, *masks, lse, delta, g, dq, *sizes))
    _kernel("attention.cu", "attention_backward_dkdv", q.dtype, head_dim_max)(
        (b * math.ceil(tk / tile),), (tile,),
        (q, k, v, *masks, lse, delta, g, dk, dv, *sizes))
    return dq, dk, dv
