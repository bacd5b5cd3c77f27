"""The Numba kernels: the same functions as ``reference.py``, compiled and fused for the CPU.

Computes: see reference.softmax_forward, reference.softmax_backward,
reference.log_softmax_forward, reference.log_softmax_backward, reference.cross_entropy_forward,
reference.cross_entropy_backward, reference.layer_norm_forward, reference.layer_norm_backward,
reference.gelu_forward, reference.gelu_backward, reference.embedding_backward,
reference.adam_update — same names, arguments, results and dtypes.
``matmul_blocked`` is the teaching twin of reference.matmul (BLAS stays the default).

Each public kernel is a thin Python wrapper that makes the input 2-d rows (M, N), contiguous,
and calls an ``@njit`` row kernel. Optimizations:
  - fused: one loop nest per row, two or three passes over it (max; exp and sum; scale), and no
    (M, N) temporaries besides the outputs;
  - float32 stays float32: constants are made in the input's dtype (``dt(0.5)``), because a
    Python float literal inside a float32 expression promotes it to float64;
  - a vectorizable float32 exp (``exp_f32``: no call into libm, so LLVM can use SIMD — this
    Numba build has no SVML) and an erf/tanh built on it; float64 keeps math.exp/erf/tanh;
    where the argument is never positive (x - max in softmax, -x² in erf and GELU's φ, -2|x|
    in tanh) the shorter ``exp_nonpositive_f32`` serves (same polynomial, no overflow handling);
  - ``fastmath={'reassoc'}`` on the row kernels only: sums may be reordered, so they vectorize;
    NaN and Inf behave as in IEEE arithmetic (no 'nnan'/'ninf'). Not 'contract' there: a fused
    a*b - c keeps the exact product, and layer norm's dx̂ - mean(dx̂) would no longer cancel to 0;
  - 'contract' (fused multiply-add) only in the float32 helpers and the GELU kernels, which are
    polynomials (Horner steps become one FMA each: GELU 1.6 -> 1.2 ms forward at 2048×512);
  - ``parallel=True``, ``prange`` over rows (chunks of rows for layer-norm backward) where it
    pays on large inputs (``python -m benchmarks.crossover``); ``cache=True`` everywhere;
  - ``error_model='numpy'``: 0/0 gives NaN (as in the reference), not ZeroDivisionError.
"""
import math

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from minigrad.kernels import reference

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
           "cross_entropy_forward", "cross_entropy_backward", "layer_norm_forward",
           "layer_norm_backward", "gelu_forward", "gelu_backward", "embedding_backward",
           "adam_update", "matmul_blocked",
           "exp_f32", "exp_nonpositive_f32", "erf_f32", "tanh_f32"]

ROWS = dict(cache=True, error_model="numpy", fastmath={"reassoc"}, parallel=True)
POLY = dict(cache=True, error_model="numpy", fastmath={"contract"})    # the float32 helpers
GELU = dict(ROWS, fastmath={"reassoc", "contract"})

# ---- float32 scalar helpers (pure arithmetic, so a loop that calls them vectorizes) ----------
_f32 = np.float32
_EXP_LO, _EXP_HI = _f32(-104.0), _f32(89.0)     # e^-104 < half the smallest float32, e^89 > max
_LOG2E, _LN2_HI, _LN2_LO = _f32(1.4426950408889634), _f32(0.693359375), _f32(-2.12194440e-4)
_EXP_P = [_f32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                            4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)]
_EP0, _EP1, _EP2, _EP3, _EP4, _EP5 = _EXP_P
_ERF_P = _f32(0.3275911)
_ERF_A1, _ERF_A2, _ERF_A3, _ERF_A4, _ERF_A5 = (_f32(c) for c in (
    0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))
_ONE, _TWO, _HALF = _f32(1.0), _f32(2.0), _f32(0.5)
_NONPOS_LO = _f32(-87.33654)                     # e^-87.33654 = 1.1755e-38, the smallest normal


@njit(**POLY)
def exp_f32(x):
    """e^x for float32 (Cephes expf): relative error < 2e-7 (subnormal results: absolute < 2e-45);
exp(-inf) = 0, exp(x > 88.73) = inf, NaN -> NaN.

    Range reduction x = n ln2 + r, |r| ≤ ln2/2 (n = round(x / ln2), ln2 split in two parts so
    n·ln2 is exact: Cody-Waite); e^r = 1 + r + r² P(r), P a degree-5 minimax polynomial;
    2^n built from the float32 bit pattern (exponent field n + 127), in two halves so that
    overflow to inf and underflow to 0 (through subnormals) come out of the final product.

    >>> abs(exp_f32(np.float32(1.0)) - math.e) < 1e-6
    True
    """
    xc = _EXP_LO if x < _EXP_LO else x               # -inf -> e^-104 = 0
    xc = _EXP_HI if xc > _EXP_HI else xc             # +inf -> e^89 = inf
    xc = xc if x == x else _f32(0.0)                 # NaN: compute e^0, return NaN below
    n = np.floor(xc * _LOG2E + _HALF)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = ((((_EP0 * r + _EP1) * r + _EP2) * r + _EP3) * r + _EP4) * r + _EP5
    p = p * r * r + r + _ONE                          # e^r
    k = np.int32(n)
    half = k >> 1
    two_a = np.int32((half + 127) << 23).view(np.float32)         # 2^half
    two_b = np.int32((k - half + 127) << 23).view(np.float32)     # 2^(k - half)
    y = p * two_a * two_b
    return y if x == x else x


@njit(**POLY)
def exp_nonpositive_f32(x):
    """e^x for float32 x ≤ 0 (as x - max(row) in a softmax): exp_f32 without its overflow care.

    Same reduction and polynomial as ``exp_f32``, so the same relative error (< 2e-7) down to
    x = -87.33 (e^x = 1.2e-38, float32's smallest normal number); below that, and for -inf, 0
    (absolute error < 1.2e-38, where exp_f32 would give a subnormal). NaN -> NaN. With n in
    [-126, 0], 2^n is one normal float32, built in one step: fewer instructions per element.
    Wrong for x > 0: callers guarantee x ≤ 0.
    """
    xc = x if x >= _NONPOS_LO else _NONPOS_LO       # NaN too: never convert NaN to int
    n = np.floor(xc * _LOG2E + _HALF)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = ((((_EP0 * r + _EP1) * r + _EP2) * r + _EP3) * r + _EP4) * r + _EP5
    p = p * r * r + r + _ONE                          # e^r
    y = p * np.int32((np.int32(n) + 127) << 23).view(np.float32)      # e^r · 2^n
    return y if x >= _NONPOS_LO else (_f32(0.0) if x < _NONPOS_LO else x)   # 0, or NaN


@njit(**POLY)
def erf_f32(x):
    """erf(x) for float32, Abramowitz–Stegun 7.1.26: |error| < 1.5e-7 in exact arithmetic, < 6e-7
in float32 (worst near 0, where 1 - poly·e^(-x²) cancels).

    erf(|x|) = 1 - (a1 t + a2 t² + a3 t³ + a4 t⁴ + a5 t⁵) e^(-x²),  t = 1 / (1 + p |x|);  odd in x.
    """
    a = abs(x)
    t = _ONE / (_ONE + _ERF_P * a)
    poly = ((((_ERF_A5 * t + _ERF_A4) * t + _ERF_A3) * t + _ERF_A2) * t + _ERF_A1) * t
    y = _ONE - poly * exp_nonpositive_f32(-a * a)
    return y if x >= 0 else -y


@njit(**POLY)
def tanh_f32(x):
    """tanh(x) for float32 from exp_f32: tanh|x| = (1 - e) / (1 + e), e = e^(-2|x|); odd in x.

    |error| < 2e-7 (absolute: near 0 the relative error grows, harmless in 1 + tanh).
    """
    e = exp_nonpositive_f32(-_TWO * abs(x))
    y = (_ONE - e) / (_ONE + e)
    return y if x >= 0 else -y


def _by_precision(fast32, exact, name):
    """A scalar function that runs ``fast32`` on float32 and ``exact`` (math.*) on float64.

    Numba picks the branch from the argument's type at compile time (``overload``); run as
    Python (NUMBA_DISABLE_JIT=1) it checks the type itself.
    """
    def pick(x):
        return fast32(x) if isinstance(x, np.float32) else exact(x)

    @overload(pick)
    def _compiled(x):
        return (lambda x: fast32(x)) if x == types.float32 else (lambda x: exact(x))
    pick.__name__ = pick.__qualname__ = name
    return pick


_exp = _by_precision(exp_f32, math.exp, "_exp")
_exp_nonpositive = _by_precision(exp_nonpositive_f32, math.exp, "_exp_nonpositive")
_erf = _by_precision(erf_f32, math.erf, "_erf")
_tanh = _by_precision(tanh_f32, math.tanh, "_tanh")


@njit(cache=True)
def row_max(row, n, start):
    """max(start, row[0], ..., row[n-1]) (NaNs skipped unless ``start`` is one); eight running
    maxima: independent comparisons overlap in the CPU, 3x faster than one chain."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = start
    body = n - n % 8
    for j in range(0, body, 8):
        m0 = max(m0, row[j]); m1 = max(m1, row[j + 1]); m2 = max(m2, row[j + 2])
        m3 = max(m3, row[j + 3]); m4 = max(m4, row[j + 4]); m5 = max(m5, row[j + 5])
        m6 = max(m6, row[j + 6]); m7 = max(m7, row[j + 7])
    m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    for j in range(body, n):
        m = max(m, row[j])
    return m


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _max_and_sum_exp(row):
    """(m, Σ_j exp(row_j - m)), m = the row's max, or 0 if that is not finite (as
    reference._row_max); every row_j - m ≤ 0 then, so the shorter exp serves."""
    m = row_max(row, row.shape[0], row[0])
    s = row.dtype.type(0)
    if np.isfinite(m):
        for j in range(row.shape[0]):
            s += _exp_nonpositive(row[j] - m)
        return m, s
    for j in range(row.shape[0]):
        s += _exp(row[j])
    return row.dtype.type(0), s


def _rows(a):
    """``a`` as contiguous rows over its last axis (a view when it already is)."""
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])                 # (M, N)


# ---- softmax and log-softmax ------------------------------------------------------------------
@njit(**ROWS)
def _softmax_rows(x, out):
    dt = x.dtype.type
    for i in prange(x.shape[0]):
        row, o = x[i], out[i]
        m = row_max(row, row.shape[0], row[0])
        s = dt(0)
        if np.isfinite(m):                  # every x - m ≤ 0 (or NaN): the cheaper exp
            for j in range(row.shape[0]):
                o[j] = _exp_nonpositive(row[j] - m)
                s += o[j]
        else:                               # max not finite: as the reference, shift by 0
            for j in range(row.shape[0]):
                o[j] = _exp(row[j])
                s += o[j]
        inv = dt(1) / s
        for j in range(row.shape[0]):
            o[j] *= inv


def softmax_forward(x):
    """Computes reference.softmax_forward; fused: max, exp + sum into out, scale (3 passes)."""
    rows = _rows(x)                                                         # (M, N)
    out = np.empty_like(rows)
    _softmax_rows(rows, out)
    return out.reshape(x.shape)                                             # (..., N)


@njit(**ROWS)
def _softmax_backward_rows(y, g, out):
    for i in prange(y.shape[0]):
        yr, gr, o = y[i], g[i], out[i]
        dot = out.dtype.type(0)
        for j in range(yr.shape[0]):
            dot += gr[j] * yr[j]
        for j in range(yr.shape[0]):
            o[j] = yr[j] * (gr[j] - dot)


def softmax_backward(y, g):
    """Computes reference.softmax_backward; fused: Σ g⊙y, then y⊙(g - Σ) (2 passes)."""
    dtype = np.result_type(y, g)
    y_rows, g_rows = _rows(y.astype(dtype, copy=False)), _rows(g.astype(dtype, copy=False))
    out = np.empty(y_rows.shape, dtype)                                     # (M, N)
    _softmax_backward_rows(y_rows, g_rows, out)
    return out.reshape(y.shape)                                             # (..., N)


@njit(**ROWS)
def _log_softmax_rows(x, out):
    for i in prange(x.shape[0]):
        row, o = x[i], out[i]
        m, s = _max_and_sum_exp(row)
        log_s = np.log(s)
        for j in range(row.shape[0]):
            o[j] = (row[j] - m) - log_s


def log_softmax_forward(x):
    """Computes reference.log_softmax_forward; fused: max, Σ exp, (x - m) - log Σ (3 passes)."""
    rows = _rows(x)                                                         # (M, N)
    out = np.empty_like(rows)
    _log_softmax_rows(rows, out)
    return out.reshape(x.shape)                                             # (..., N)


@njit(**ROWS)
def _log_softmax_backward_rows(y, g, out):
    for i in prange(y.shape[0]):
        yr, gr, o = y[i], g[i], out[i]
        s = out.dtype.type(0)
        for j in range(yr.shape[0]):
            s += gr[j]
        for j in range(yr.shape[0]):
            o[j] = gr[j] - _exp(yr[j]) * s


def log_softmax_backward(y, g):
    """Computes reference.log_softmax_backward; fused: Σ g, then g - exp(y) Σ g (2 passes)."""
    dtype = np.result_type(y, g)
    y_rows, g_rows = _rows(y.astype(dtype, copy=False)), _rows(g.astype(dtype, copy=False))
    out = np.empty(y_rows.shape, dtype)                                     # (M, N)
    _log_softmax_backward_rows(y_rows, g_rows, out)
    return out.reshape(y.shape)                                             # (..., N)


# ---- cross-entropy from logits ---------------------------------------------------------------
@njit(**ROWS)
def _cross_entropy_rows(x, target, ignore_index, smoothing, loss, lse):
    dt = x.dtype.type
    eps, one_minus_eps = dt(smoothing), dt(1 - smoothing)
    for i in prange(x.shape[0]):
        row = x[i]
        m, s = _max_and_sum_exp(row)
        total = dt(0)
        for j in range(row.shape[0]):
            total += row[j]
        lse[i] = m + np.log(s)
        if target[i] == ignore_index:
            loss[i] = 0
            continue
        loss[i] = lse[i] - row[target[i]]
        if smoothing:
            loss[i] = one_minus_eps * loss[i] + eps * (lse[i] - total / dt(row.shape[0]))


def cross_entropy_forward(x, target, ignore_index, label_smoothing):
    """Computes reference.cross_entropy_forward; fused: max, then Σ exp and Σ x in one pass
    (log-softmax is never materialized)."""
    x = np.ascontiguousarray(x)                                             # (M, C)
    loss, lse = np.empty(x.shape[0], x.dtype), np.empty(x.shape[0], x.dtype)
    _cross_entropy_rows(x, np.ascontiguousarray(target), ignore_index,
                        float(label_smoothing), loss, lse)
    return loss, lse


@njit(**ROWS)
def _cross_entropy_backward_rows(x, target, lse, g, ignore_index, smoothing, out):
    dt = x.dtype.type
    uniform, on_target = dt(smoothing / x.shape[1]), dt(1 - smoothing)
    for i in prange(x.shape[0]):
        row, o = x[i], out[i]
        keep = target[i] != ignore_index
        gi = g[i] if keep else dt(0)
        for j in range(row.shape[0]):
            o[j] = (_exp(row[j] - lse[i]) - uniform) * gi
        if keep:                               # the target column, in the reference's order
            t = target[i]
            o[t] = ((_exp(row[t] - lse[i]) - uniform) - on_target) * gi


def cross_entropy_backward(x, target, lse, g, ignore_index, label_smoothing):
    """Computes reference.cross_entropy_backward; fused: g (softmax - q) in one pass per row,
    the softmax recomputed from the saved log Σ exp."""
    x = np.ascontiguousarray(x)                                             # (M, C)
    out = np.empty_like(x)
    _cross_entropy_backward_rows(x, np.ascontiguousarray(target), np.ascontiguousarray(lse),
                                 np.ascontiguousarray(g, dtype=x.dtype), ignore_index,
                                 float(label_smoothing), out)
    return out


# ---- layer norm -------------------------------------------------------------------------------
@njit(**ROWS)
def _layer_norm_rows(x, w, b, eps, y, mean, rstd):
    dt = x.dtype.type
    n = dt(x.shape[1])
    for i in prange(x.shape[0]):
        row, o = x[i], y[i]
        s = dt(0)
        for j in range(row.shape[0]):
            s += row[j]
        mu = s / n
        ss = dt(0)
        for j in range(row.shape[0]):
            ss += (row[j] - mu) * (row[j] - mu)
        r = dt(1) / np.sqrt(ss / n + dt(eps))
        for j in range(row.shape[0]):
            o[j] = (row[j] - mu) * r * w[j] + b[j]
        mean[i], rstd[i] = mu, r


def layer_norm_forward(x, weight, bias, eps):
    """Computes reference.layer_norm_forward; fused: Σ x, Σ (x - μ)², write y (3 passes).

    weight None means ones and bias None zeros, so one compiled kernel serves all four cases.
    """
    dtype = np.result_type(x, *(p for p in (weight, bias) if p is not None))
    x = np.ascontiguousarray(x, dtype=dtype)                                # (M, N)
    w = np.ones(x.shape[1], dtype) if weight is None else np.ascontiguousarray(weight, dtype)
    b = np.zeros(x.shape[1], dtype) if bias is None else np.ascontiguousarray(bias, dtype)
    y, mean, rstd = np.empty_like(x), np.empty(x.shape[0], dtype), np.empty(x.shape[0], dtype)
    _layer_norm_rows(x, w, b, float(eps), y, mean, rstd)
    return y, mean, rstd


@njit(**ROWS)
def _layer_norm_backward_rows(x, w, mean, rstd, g, dx, dw_parts, db_parts):
    dt = x.dtype.type
    M, N = x.shape
    chunks = dw_parts.shape[0]
    for c in prange(chunks):                      # each chunk of rows sums its own dw, db
        for i in range(c * M // chunks, (c + 1) * M // chunks):
            mu, r = mean[i], rstd[i]
            s_dxhat, s_dxhat_xhat = dt(0), dt(0)
            for j in range(N):
                dxhat = g[i, j] * w[j]
                s_dxhat += dxhat
                s_dxhat_xhat += dxhat * ((x[i, j] - mu) * r)
            a, bb = s_dxhat / dt(N), s_dxhat_xhat / dt(N)
            for j in range(N):
                xhat = (x[i, j] - mu) * r
                dx[i, j] = (g[i, j] * w[j] - a - xhat * bb) * r
                dw_parts[c, j] += g[i, j] * xhat
                db_parts[c, j] += g[i, j]


def layer_norm_backward(x, weight, mean, rstd, g):
    """Computes reference.layer_norm_backward; fused: per row Σ dx̂ and Σ dx̂⊙x̂, then dx, dw, db
    in one pass (x̂ recomputed, never stored); dw, db summed per chunk of rows in float64."""
    dtype = np.result_type(x, g, *(() if weight is None else (weight,)))
    x, g = np.ascontiguousarray(x, dtype), np.ascontiguousarray(g, dtype)  # (M, N)
    w = np.ones(x.shape[1], dtype) if weight is None else np.ascontiguousarray(weight, dtype)
    chunks = max(1, min(numba.get_num_threads(), x.shape[0]))
    dw_parts = np.zeros((chunks, x.shape[1]))                               # (threads, N)
    db_parts = np.zeros((chunks, x.shape[1]))
    dx = np.empty_like(x)
    _layer_norm_backward_rows(x, w, np.ascontiguousarray(mean, dtype),
                              np.ascontiguousarray(rstd, dtype), g, dx, dw_parts, db_parts)
    return dx, dw_parts.sum(axis=0).astype(dtype), db_parts.sum(axis=0).astype(dtype)


# ---- GELU -------------------------------------------------------------------------------------
@njit(**GELU)
def _gelu_flat(x, tanh_form, out):
    dt = x.dtype.type
    half, inv_sqrt2 = dt(0.5), dt(1 / math.sqrt(2))
    c, k = dt(math.sqrt(2 / math.pi)), dt(0.044715)
    for i in prange(x.shape[0]):
        v = x[i]
        if tanh_form:
            out[i] = half * v * (dt(1) + _tanh(c * (v + k * v * v * v)))
        else:
            out[i] = half * v * (dt(1) + _erf(v * inv_sqrt2))


def gelu_forward(x, approximate):
    """Computes reference.gelu_forward; one pass, erf (float32: erf_f32) or tanh (tanh_f32)."""
    flat = np.ascontiguousarray(x).reshape(-1)                              # (M·N,)
    out = np.empty_like(flat)
    _gelu_flat(flat, approximate == "tanh", out)
    return out.reshape(x.shape)


@njit(**GELU)
def _gelu_backward_flat(x, g, tanh_form, out):
    dt = x.dtype.type
    half, inv_sqrt2, inv_sqrt_2pi = dt(0.5), dt(1 / math.sqrt(2)), dt(1 / math.sqrt(2 * math.pi))
    c, k = dt(math.sqrt(2 / math.pi)), dt(0.044715)
    for i in prange(x.shape[0]):
        v = x[i]
        if tanh_form:
            t = _tanh(c * (v + k * v * v * v))
            du = c * (dt(1) + dt(3) * k * v * v)
            out[i] = g[i] * (half * (dt(1) + t) + half * v * (dt(1) - t * t) * du)
        else:
            cdf = half * (dt(1) + _erf(v * inv_sqrt2))
            out[i] = g[i] * (cdf + v * _exp_nonpositive(-half * v * v) * inv_sqrt_2pi)


def gelu_backward(x, g, approximate):
    """Computes reference.gelu_backward; one pass, Φ and φ (or tanh and its derivative) fused."""
    dtype = np.result_type(x, g)
    flat = np.ascontiguousarray(x, dtype).reshape(-1)                       # (M·N,)
    out = np.empty_like(flat)
    _gelu_backward_flat(flat, np.ascontiguousarray(g, dtype).reshape(-1), approximate == "tanh", out)
    return out.reshape(x.shape)


# ---- embedding backward (scatter-add of rows) ---------------------------------------------------
@njit(cache=True)
def _add_rows(g, idx, dw):
    V = dw.shape[0]
    for i in range(idx.shape[0]):                   # in idx's order, as np.add.at: same sums
        v = idx[i] + V if idx[i] < 0 else idx[i]
        row, g_i = dw[v], g[i]
        for c in range(row.shape[0]):
            row[c] += g_i[c]


def embedding_backward(g, idx, num_embeddings):
    """Computes reference.embedding_backward: one pass over the rows of g, each added into
    its row of dW (np.add.at checks and dispatches per element). No fastmath: each dW element
    sums its rows in the reference's order, so the results are identical, bit for bit."""
    if idx.size and (idx.min() < -num_embeddings or idx.max() >= num_embeddings):
        raise IndexError(f"embedding_backward: idx holds values outside [-{num_embeddings}, "
                         f"{num_embeddings})")
    width = math.prod(g.shape[idx.ndim:])
    dw = np.zeros((num_embeddings, *g.shape[idx.ndim:]), dtype=g.dtype)    # (V, C...)
    _add_rows(np.ascontiguousarray(g).reshape(idx.size, width),            # (N, C)
              idx.reshape(-1).astype(np.int64, copy=False), dw.reshape(num_embeddings, width))
    return dw


# ---- Adam / AdamW ------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _adam_flat(p, g, m, v, v_max, amsgrad, decay, wd, beta1, one_minus_beta1, beta2,
               one_minus_beta2, eps, step_size, bias2_sqrt):
    for i in range(p.shape[0]):
        gi = g[i]
        p[i] *= decay                                   # 1 - lr·wd (AdamW), else 1
        gi = gi + wd * p[i] if wd != 0 else gi          # wd = 0 for AdamW: decay did it
        m[i] = m[i] * beta1 + one_minus_beta1 * gi
        v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi
        vi = v[i]
        if amsgrad:
            vi = max(v_max[i], vi)
            v_max[i] = vi
        p[i] -= step_size * (m[i] / (np.sqrt(vi) / bias2_sqrt + eps))


def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1,
                beta2, eps, weight_decay, decoupled):
    """Computes reference.adam_update; fused: one pass over each p, g, m, v (no temporaries),
    the same operations in the same order as the reference (so the same roundings).

    The scalars are computed once per distinct step (all parameters share one, in practice)
    and converted to the arrays' dtype first, as NumPy does when it combines a Python float
    with a float32 array. A parameter with a non-contiguous array, or arrays of mixed dtypes,
    takes the reference's path.
    """
    decoupled = decoupled and weight_decay != 0
    constants = {}                                   # (dtype, step) -> the kernel's scalars
    for p, g, m, v, v_max, step in zip(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                       steps):
        arrays = (p, g, m, v) if v_max is None else (p, g, m, v, v_max)
        if any(not a.flags.c_contiguous or a.dtype != p.dtype for a in arrays):
            reference.adam_update([p], [g], [m], [v], [v_max], [step], lr, beta1, beta2, eps,
                                  weight_decay, decoupled)
            continue
        key = (p.dtype, step)
        if key not in constants:
            dt = p.dtype.type
            constants[key] = (dt(1 - lr * weight_decay) if decoupled else dt(1),
                              dt(0) if decoupled else dt(weight_decay), dt(beta1),
                              dt(1 - beta1), dt(beta2), dt(1 - beta2), dt(eps),
                              dt(lr / (1 - beta1 ** step)), dt(math.sqrt(1 - beta2 ** step)))
        flat = [a.reshape(-1) for a in arrays]
        _adam_flat(flat[0], flat[1], flat[2], flat[3], flat[-1], v_max is not None,
                   *constants[key])


# ---- matmul: the teaching kernel (not dispatched: reference.matmul = BLAS is faster) ----------
BLOCK_I, BLOCK_K, BLOCK_J = 64, 256, 512   # a (64, 256) tile of A and (256, 512) of B fit in L2


@njit(cache=True, parallel=True)
def _matmul_tiles(a, b, c):
    M, K = a.shape
    N = b.shape[1]
    for ib in prange((M + BLOCK_I - 1) // BLOCK_I):        # row blocks of C, one per task
        i0 = ib * BLOCK_I
        for k0 in range(0, K, BLOCK_K):
            for j0 in range(0, N, BLOCK_J):
                j1 = min(j0 + BLOCK_J, N)
                for i in range(i0, min(i0 + BLOCK_I, M)):
                    c_row = c[i, j0:j1]                         # slices first: the inner loop
                    for k in range(k0, min(k0 + BLOCK_K, K)):   # then indexes from 0 by its own
                        a_ik = a[i, k]                          # variable, so it vectorizes
                        b_row = b[k, j0:j1]
                        for j in range(j1 - j0):
                            c_row[j] += a_ik * b_row[j]


def matmul_blocked(a, b):
    """C = A @ B for 2-d float32/float64 arrays, by loop tiling (the teaching twin of BLAS).

    C[i, j] = Σ_k A[i, k] B[k, j], computed block by block: for a block of rows of C, for a
    block of k, for a block of columns, the i-k-j loop order reads B and writes C along rows
    (unit stride, SIMD), while the tiles stay in cache. a: (M, K), b: (K, N) -> (M, N).
    """
    dtype = np.result_type(a, b)
    a, b = np.ascontiguousarray(a, dtype), np.ascontiguousarray(b, dtype)
    c = np.zeros((a.shape[0], b.shape[1]), dtype)                           # (M, N)
    _matmul_tiles(a, b, c)
    return c
