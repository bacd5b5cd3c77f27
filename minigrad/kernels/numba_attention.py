"""Scaled dot-product attention on the CPU: a tiled "flash" kernel compiled with Numba.

Computes: see reference.attention_forward / attention_backward (same arguments, same results).

Each tile's matrix products run on BLAS: ``np.dot`` inside ``@njit``, which Numba supports
through SciPy's BLAS bindings (scipy.linalg.cython_blas); the softmax of each row runs in
Numba loops between them.

The algorithm:
- Tiles, never the (Tq, Tk) matrix. The forward takes a tile of queries against a tile of keys
  at a time and keeps, per query, the running max m, the running sum l = Σ exp(s - m) and an
  output accumulator; when a new key tile raises the max, l and the accumulator are rescaled
  by exp(m_old - m_new) (the online softmax). Memory: O((Tq + Tk)·D) plus a few tiles.
- The backward recomputes P tile by tile from q, k and the saved lse (FlashAttention-2):
  Δ = rowsum(g ⊙ o) first, then for each key tile it accumulates that tile's dk and dv and adds
  each query's share to dq.
- Causal: key tiles wholly after a query tile's last query are skipped; queries with no
  allowed key give o = 0, lse = -inf and no gradient.
- float32: exp by a vectorizable polynomial (``_exp32``; the Numba here has no SVML, so
  ``math.exp`` in a loop is a scalar call). float64 uses ``math.exp``, to match the reference
  to 1e-12. float32 stays float32: every constant is typed, accumulators take the inputs' dtype.
- ``prange`` over (batch entry, query tile) in the forward and over batch entries in the
  backward (each thread owns its dk, dv rows; no atomics).

The kernels (tiles of BQ = 64 queries × BK = 128 keys, row-major, scores (queries, keys)).
Per tile, forward: S = (scale·Q_i) K_jᵀ (sgemm), then per query row, in
Numba: mask, row max, p = exp(s - m), row sum, rescale of the accumulator; then O_i += P V_j
(sgemm into a scratch tile, added). Backward, per tile: S = (scale·Q_i) K_jᵀ and
dP = dO_i V_jᵀ (two sgemms), then per row in Numba P = exp(S - lse), dS = P ⊙ (dP - Δ); then
dV_j += Pᵀ dO_i, dK_j += dSᵀ (scale·Q_i), dQ_i += scale · dS K_j (three sgemms). Causal: a
tile's GEMMs stop at the last key its queries can see (on the diagonal the key range shrinks
to the tile's queries), and the exp and the dS loops stop at each row's last allowed key; the
rest of the row is set to 0 so the GEMMs add nothing from it. Scratch tiles are flat buffers
viewed as (rows, cols) with ``reshape``, so every GEMM operand is contiguous (Numba would
otherwise copy it).
Threads: SciPy brings its own OpenBLAS, separate from NumPy's (threadpoolctl sees both;
``mg.set_num_threads`` limits both once SciPy is loaded, which importing this module does).
The GEMMs run inside ``prange`` threads, so SciPy's OpenBLAS is held at one thread during each
call (``_one_blas_thread``): a multi-threaded OpenBLAS called from Numba's OpenMP threads
oversubscribes and prints "Detect OpenMP Loop and this application may hang".
Measured (2026-11-29, 1 thread, float32, forward + backward with dq, dk, dv, median of 9–11
runs alternating with torch's SDPA in the same process; ranges over three runs): B16 H4 T128
D32 causal 1.08–1.20× torch's speed (plain NumPy batched matmuls with Numba softmax rows:
0.62–0.78×), non-causal 0.86–0.96×, B2 H4 T1024 D32 causal 1.08–1.23×. The tile GEMMs are
small (64×128×32), below OpenBLAS's 80 GFLOP/s peak; the exp rows are most of the rest. Tiles
of 128×128 measured the same within noise, 64×64 lost at T = 1024 (0.75–0.89×). First call
with a cold cache: about 24 s; importing SciPy's BLAS adds about 0.4 s.
Later the same day, in CPU time (steadier on the shared machine), five alternations: causal
1.09–1.12×, non-causal 0.89×, B8 H4 T64 D16 causal 1.00×. The tile GEMMs are ~80% of the
time (non-causal backward: 6.4 of 7.8 ms) and run at ~53 GFLOP/s through SciPy's BLAS from
Numba, where NumPy's batched matmul runs the same shapes at ~68: a direct CBLAS call (with
beta = 1 to accumulate dK, dV in place) is the next step, not faster row loops.

Why BLAS on the tiles: hand-written Numba loops for the same tiles (axpys over contiguous
query rows, vectorized with AVX2) ran at about 27 GFLOP/s, store-bound, and reached only
0.60–0.68× torch's speed; four keys per pass, 2×4 blocked dot products and a 4×16 accumulator
tile were no faster. Two lessons from them stay true for every Numba kernel here: index inner
loops by their own loop variable only (slice first: ``qd = qT[d, i0:i0 + rows]``, then
``qd[r]``), since an offset index carries a negative-index check that blocks vectorization;
and keep loop lengths whole multiples of the vector width.
"""
import math

import numpy as np
from numba import njit, prange

from threadpoolctl import ThreadpoolController

from minigrad.kernels.numba_cpu import row_max

_before = {c.filepath for c in ThreadpoolController().lib_controllers}
import scipy.linalg.cython_blas  # noqa: E402,F401  (Numba's np.dot calls SciPy's BLAS)

# SciPy's own BLAS library: the one that importing its BLAS bindings loaded (none when SciPy
# shares NumPy's, as in conda builds).
_SCIPY_BLAS = [c for c in ThreadpoolController().lib_controllers
               if c.filepath not in _before and c.user_api == "blas"]
del _before

__all__ = ["attention_forward", "attention_backward"]

BQ = 64     # queries per tile
BK = 128    # keys per tile

# Cephes expf: exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
# (ln 2 split into a short high part and a correction, so n ln 2 is exact), exp(r) by a
# degree-7 polynomial. Relative error ≤ 2e-7 (≈ 2 ulp) for x in [-87, 88]; 0 for x < -87
# (exp(-87) = 1.6e-38, the bottom of float32's normal range) and for x = -inf.
_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_LOW = np.float32(-87.0)
_HIGH = np.float32(88.0)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_P = (np.float32(1.9875691500e-4), np.float32(1.3981999507e-3), np.float32(8.3334519073e-3),
      np.float32(4.1665795894e-2), np.float32(1.6666665459e-1), np.float32(5.0000001201e-1))
_P0, _P1, _P2, _P3, _P4, _P5 = _P
_BIAS = np.int32(127)
_SHIFT = np.int32(23)


@njit(cache=True)
def _exp32(x, n, bits):
    """x[:n] = exp(x[:n]) in float32, in two vectorizable passes; ``bits`` (int32) is scratch.

    No fastmath here: reassociating x - n·ln2_hi - n·ln2_lo would lose the split's precision.
    """
    scale2n = bits.view(np.float32)                   # 2^n, built from its float bits
    for j in range(n):
        v = min(max(x[j], _LOW), _HIGH)
        k = np.floor(v * _LOG2E + _HALF)
        t = v - k * _LN2_HI - k * _LN2_LO
        p = ((((_P0 * t + _P1) * t + _P2) * t + _P3) * t + _P4) * t + _P5
        bits[j] = (np.int32(k) + _BIAS) << _SHIFT
        x[j] = (p * t * t + t + _ONE) if x[j] >= _LOW else _ZERO
    for j in range(n):
        x[j] *= scale2n[j]


@njit(cache=True)
def _exp(x, n, bits, fast):
    """x[:n] = exp(x[:n]): the polynomial for float32 (``fast``), math.exp for float64."""
    if fast:
        _exp32(x, n, bits)
    else:
        for j in range(n):
            x[j] = math.exp(x[j])


# ---- the BLAS kernels ---------------------------------------------------------------------
# Scores are row-major here, s[r, j] for query i0+r and key j0+j: each tile product is one GEMM
# on contiguous operands (a row slice of a C array, its .T, or a flat scratch buffer viewed as
# (rows, cols)), and the softmax loops run along a query's keys.
@njit(cache=True)
def _seen(is_causal, i, j0, cols):
    """How many of keys j0 .. j0+cols-1 query i may attend: all, or (causal) those <= i."""
    return max(0, min(cols, i - j0 + 1)) if is_causal else cols


@njit(cache=True, fastmath={"reassoc"})
def _sum_of(row, n):
    """row[0] + ... + row[n-1], reassociated so that it vectorizes (one add chain would wait
    4 cycles per element)."""
    total = row.dtype.type(0)
    for j in range(n):
        total += row[j]
    return total


@njit(cache=True, fastmath={"reassoc"})
def _dot_of(a, b):
    """Σ_e a[e] b[e], reassociated so that it vectorizes."""
    total = a.dtype.type(0)
    for e in range(a.shape[0]):
        total += a[e] * b[e]
    return total


@njit(cache=True)
def _mask_row(row, maskb, i, j0, n):
    """-inf where the explicit mask forbids key j0+j (j < n) for query i."""
    allowed = maskb[i, j0:j0 + n]
    for j in range(n):
        if not allowed[j]:
            row[j] = -np.inf


@njit(cache=True, parallel=True, fastmath={"contract"})
def _forward_blas(q, k, v, mask, has_mask, is_causal, scale, fast, o, lse):
    B, Tq, D = q.shape
    Tk, Dv = v.shape[1], v.shape[2]
    zero = q.dtype.type(0)
    n_tiles = (Tq + BQ - 1) // BQ
    for job in prange(B * n_tiles):                            # (batch entry, query tile)
        b, i0 = job // n_tiles, (job % n_tiles) * BQ
        rows = min(BQ, Tq - i0)
        qs = np.empty((rows, D), dtype=q.dtype)                # scale · q of the tile
        for r in range(rows):
            for d in range(D):
                qs[r, d] = scale * q[b, i0 + r, d]
        sbuf = np.empty(rows * BK, dtype=q.dtype)         # s, then p: (rows, cols)
        pv = np.empty((rows, Dv), dtype=q.dtype)               # this key tile's P V
        bits = np.empty(BK, dtype=np.int32)
        m = np.full(rows, -np.inf, dtype=q.dtype)              # running max
        l = np.zeros(rows, dtype=q.dtype)                      # running Σ exp(s - m)
        acc = np.zeros((rows, Dv), dtype=q.dtype)              # running Σ exp(s - m) v
        end = min(Tk, i0 + rows) if is_causal else Tk          # causal: keys j <= last query
        for j0 in range(0, end, BK):
            cols = min(BK, end - j0)
            s = sbuf[:rows * cols].reshape((rows, cols))
            np.dot(qs, k[b, j0:j0 + cols].T, s)                # S = (scale Q_i) K_jᵀ
            for r in range(rows):
                n = _seen(is_causal, i0 + r, j0, cols)
                row = s[r]
                if has_mask:
                    _mask_row(row, mask[b], i0 + r, j0, n)
                mx = row_max(row, n, m[r])
                shift = mx if mx != -np.inf else zero          # no key yet: s - 0 = -inf
                alpha = math.exp(m[r] - shift)                 # rescales the old sums
                m[r] = mx
                for j in range(n):
                    row[j] -= shift
                _exp(row, n, bits, fast)                       # p = exp(s - m)
                total = _sum_of(row, n)
                for j in range(n, cols):                       # keys after the query: p = 0
                    row[j] = 0
                l[r] = l[r] * alpha + total
                acc_r = acc[r]
                for e in range(Dv):
                    acc_r[e] *= alpha
            np.dot(s, v[b, j0:j0 + cols], pv)                  # acc += P V_j
            for r in range(rows):
                acc_r, pv_r = acc[r], pv[r]
                for e in range(Dv):
                    acc_r[e] += pv_r[e]
        for r in range(rows):
            i = i0 + r
            if l[r] == 0:                                      # no allowed key: 0, -inf
                lse[b, i] = -np.inf
                for e in range(Dv):
                    o[b, i, e] = 0
            else:
                lse[b, i] = m[r] + math.log(l[r])
                inv = _ONE / l[r]
                for e in range(Dv):
                    o[b, i, e] = acc[r, e] * inv


@njit(cache=True, parallel=True, fastmath={"contract"})
def _backward_blas(q, k, v, o, lse, g, mask, has_mask, is_causal, scale, fast, dq, dk, dv):
    B, Tq, D = q.shape
    Tk, Dv = v.shape[1], v.shape[2]
    for b in prange(B):                                        # a thread owns dk[b], dv[b]
        qs = np.empty((Tq, D), dtype=q.dtype)                  # scale · q
        shift = np.empty(Tq, dtype=q.dtype)                    # lse, or 0 where lse = -inf
        delta = np.empty(Tq, dtype=q.dtype)                    # Δ_i = Σ_e g_ie o_ie
        for i in range(Tq):
            for d in range(D):
                qs[i, d] = scale * q[b, i, d]
            delta[i] = _dot_of(g[b, i], o[b, i])
            shift[i] = lse[b, i] if lse[b, i] != -np.inf else 0
        dq_b = np.zeros((Tq, D), dtype=q.dtype)
        pbuf = np.empty(BQ * BK, dtype=q.dtype)      # s, then P: (rows, cols)
        dsbuf = np.empty(BQ * BK, dtype=q.dtype)     # dP, then dS
        dq_t = np.empty(BQ * D, dtype=q.dtype)            # one tile's products, added
        dk_t = np.empty(BK * D, dtype=q.dtype)            # into the accumulators below
        dv_t = np.empty(BK * Dv, dtype=q.dtype)
        dk_j = np.empty(BK * D, dtype=q.dtype)            # this key tile's dk, dv (flat)
        dv_j = np.empty(BK * Dv, dtype=q.dtype)
        bits = np.empty(BK, dtype=np.int32)
        for j0 in range(0, Tk, BK):
            tile_cols = min(BK, Tk - j0)
            dk_j[:] = 0
            dv_j[:] = 0
            for i0 in range((j0 // BQ) * BQ if is_causal else 0, Tq, BQ):
                rows = min(BQ, Tq - i0)
                # causal: only the keys this tile's last query sees
                cols = min(tile_cols, i0 + rows - j0) if is_causal else tile_cols
                if cols <= 0:
                    continue
                kj, vj = k[b, j0:j0 + cols], v[b, j0:j0 + cols]
                qi, gi = qs[i0:i0 + rows], g[b, i0:i0 + rows]
                p = pbuf[:rows * cols].reshape((rows, cols))
                ds = dsbuf[:rows * cols].reshape((rows, cols))
                np.dot(qi, kj.T, p)                            # S = (scale Q_i) K_jᵀ
                np.dot(gi, vj.T, ds)                           # dP = dO_i V_jᵀ
                for r in range(rows):
                    n = _seen(is_causal, i0 + r, j0, cols)
                    row, drow = p[r], ds[r]
                    if has_mask:
                        _mask_row(row, mask[b], i0 + r, j0, n)
                    sh, de = shift[i0 + r], delta[i0 + r]
                    for j in range(n):
                        row[j] -= sh
                    _exp(row, n, bits, fast)                   # P = exp(s - lse)
                    for j in range(n):
                        drow[j] = row[j] * (drow[j] - de)      # dS = P ⊙ (dP - Δ)
                    for j in range(n, cols):
                        row[j] = 0
                        drow[j] = 0
                dv_tile = dv_t[:cols * Dv].reshape((cols, Dv))
                dk_tile = dk_t[:cols * D].reshape((cols, D))
                dq_tile = dq_t[:rows * D].reshape((rows, D))
                np.dot(p.T, gi, dv_tile)                       # dV_j += Pᵀ dO_i
                np.dot(ds.T, qi, dk_tile)                      # dK_j += dSᵀ (scale Q_i)
                np.dot(ds, kj, dq_tile)                        # dQ_i += scale dS K_j
                for x in range(cols * Dv):
                    dv_j[x] += dv_t[x]
                for x in range(cols * D):
                    dk_j[x] += dk_t[x]
                for r in range(rows):
                    dq_r, t_r = dq_b[i0 + r], dq_tile[r]
                    for d in range(D):
                        dq_r[d] += scale * t_r[d]
            for j in range(tile_cols):
                for d in range(D):
                    dk[b, j0 + j, d] = dk_j[j * D + d]
                for e in range(Dv):
                    dv[b, j0 + j, e] = dv_j[j * Dv + e]
        for i in range(Tq):
            for d in range(D):
                dq[b, i, d] = dq_b[i, d]


class _one_blas_thread:
    """Hold SciPy's BLAS at one thread while a kernel runs: its GEMMs are called from Numba's
    parallel threads, which already use the cores."""

    def __enter__(self):
        self.saved = [(c, c.get_num_threads()) for c in _SCIPY_BLAS]
        for c, n in self.saved:
            if n != 1:
                c.set_num_threads(1)

    def __exit__(self, *exc):
        for c, n in self.saved:
            if n != 1:
                c.set_num_threads(n)



def _prepare(q, k, v, mask):
    q, k, v = (np.ascontiguousarray(a) for a in (q, k, v))
    has_mask = mask is not None
    if not has_mask:
        mask = np.ones((q.shape[0], 1, 1), dtype=np.bool_)        # unread placeholder
    return q, k, v, mask, has_mask


def attention_forward(q, k, v, mask, is_causal, scale):
    """See reference.attention_forward."""
    q, k, v, mask, has_mask = _prepare(q, k, v, mask)
    B, Tq, _ = q.shape
    o = np.empty((B, Tq, v.shape[2]), dtype=q.dtype)
    lse = np.empty((B, Tq), dtype=q.dtype)
    args = (q, k, v, mask, has_mask, bool(is_causal), q.dtype.type(scale),
            q.dtype == np.float32, o, lse)
    with _one_blas_thread():
        _forward_blas(*args)
    return o, lse


def attention_backward(q, k, v, o, lse, g, mask, is_causal, scale):
    """See reference.attention_backward."""
    q, k, v, mask, has_mask = _prepare(q, k, v, mask)
    o, g = np.ascontiguousarray(o), np.ascontiguousarray(g, dtype=q.dtype)
    lse = np.ascontiguousarray(lse, dtype=q.dtype)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    args = (q, k, v, o, lse, g, mask, has_mask, bool(is_causal), q.dtype.type(scale),
            q.dtype == np.float32, dq, dk, dv)
    with _one_blas_thread():
        _backward_blas(*args)
    return dq, dk, dv
