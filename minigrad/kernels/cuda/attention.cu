// attention.cu — scaled dot-product attention, forward and backward, the "flash" way: the
// (Tq, Tk) score matrix is never stored; keys stream through shared memory in tiles.
//
// Computes (per batch b; q: (B, Tq, D), k: (B, Tk, D), v: (B, Tk, Dv), g = dL/do: (B, Tq, Dv),
// all row-major and contiguous; lse, delta: (B, Tq)):
//   allowed(i, j) = (!causal || j <= i) && (!has_mask || mask[b, i, j])
//   s_ij = scale q_i·k_j,  lse_i = log Σ_{allowed j} exp(s_ij),  P_ij = exp(s_ij - lse_i)
//   attention_forward      reference.attention_forward: o_i = Σ_j P_ij v_j, and lse_i;
//                          a row with no allowed key gets o_i = 0, lse_i = -inf (never NaN)
//   attention_backward_dq  dq_i = scale Σ_j dS_ij k_j          } reference.attention_backward,
//   attention_backward_dkdv dk_j = scale Σ_i dS_ij q_i,        } with Δ_i = Σ_d g_id o_id
//                          dv_j = Σ_i P_ij g_i                 } (computed by cupy_gpu.py),
//                          dS_ij = P_ij (g_i·v_j - Δ_i), P recomputed from the saved lse
// The mask is read through element strides (mask_sb, mask_sq, mask_sk), so a broadcast view
// (stride 0) is never materialized.
//
// Launch (QUERY_BLOCK, TILE, HEAD_DIM_MAX are set by cuda_sources.py per dtype and head dim):
//   forward, dq:  grid (B · ceil(Tq / QUERY_BLOCK)), block (QUERY_BLOCK): one thread per query
//                 row; its q_i and output accumulator (dq: q_i, g_i, dq_i) in registers, the
//                 forward's scores for the current key tile in shared memory S[thread][j].
//   dkdv:         grid (B · ceil(Tk / TILE)), block (TILE): one thread per key row, its dk_j and
//                 dv_j accumulators in registers, its k_j and v_j in (padded) shared memory.
//   D, Dv <= HEAD_DIM_MAX (the register arrays have that size; d >= D is skipped).
// Optimizations:
//   - Online softmax (forward): per key tile, the running max m and sum l are updated and the
//     accumulator rescaled by exp(m_old - m_new): one pass over the keys, O(Tq·D) memory.
//   - Tiles in shared memory: a block loads TILE rows of k and v (coalesced: the tile is one
//     contiguous chunk) and all its threads read each element as a broadcast (one address for
//     the whole warp: no bank conflicts); per-thread rows (the forward's S, dkdv's own k_j, v_j)
//     are padded by one word so the warp's different rows fall in different banks.
//   - Tiles are zero-padded to HEAD_DIM_MAX columns, so the inner dot products are fully
//     unrolled loops with no bounds test (D < HEAD_DIM_MAX costs the padded FMAs).
//   - Causal: blocks skip whole tiles above the diagonal (keys after the block's last query;
//     in dkdv, queries before the block's first key).
//   - Backward in two kernels instead of atomicAdd: the dq kernel owns a query row, the dkdv
//     kernel owns a key row, so every output is written once by one thread: no atomics, no
//     contention, deterministic sums. The price: S and P are recomputed in both kernels
//     (about 1.5x the arithmetic of the atomic version), which is cheap next to atomics on
//     (Tk, D) floats from every query block.
#include "common.cuh"

#ifndef HEAD_DIM_MAX
#define HEAD_DIM_MAX 64
#endif
#ifndef QUERY_BLOCK
#define QUERY_BLOCK 64
#endif
#ifndef TILE
#define TILE 32
#endif

__device__ __forceinline__ bool allowed(const bool* __restrict__ mask, long long mask_row,
                                        long long mask_sk, int has_mask, int causal, int i, int j) {
    if (causal && j > i) return false;
    return !has_mask || mask[mask_row + j * mask_sk];
}

// Load rows [first, first + TILE) of a (rows, width) matrix into tile[TILE][HEAD_DIM_MAX],
// zeros past the last row and past column width: the dot products then run over all
// HEAD_DIM_MAX columns with no bounds test (the padding adds 0). All threads take part.
template <int STRIDE>
__device__ __forceinline__ void load_tile(scalar_t (*tile)[STRIDE], const scalar_t* __restrict__ src,
                                          int first, int rows, int width) {
    for (int idx = threadIdx.x; idx < TILE * HEAD_DIM_MAX; idx += blockDim.x) {
        const int r = idx / HEAD_DIM_MAX, d = idx % HEAD_DIM_MAX;
        tile[r][d] = (first + r < rows && d < width) ? src[(long long)(first + r) * width + d]
                                                     : (scalar_t)0;
    }
}

extern "C" __global__ void attention_forward(
        const scalar_t* __restrict__ q, const scalar_t* __restrict__ k, const scalar_t* __restrict__ v,
        const bool* __restrict__ mask, long long mask_sb, long long mask_sq, long long mask_sk,
        int has_mask, scalar_t* __restrict__ o, scalar_t* __restrict__ lse,
        int Tq, int Tk, int D, int Dv, int causal, scalar_t scale) {
    __shared__ scalar_t Ks[TILE][HEAD_DIM_MAX];
    __shared__ scalar_t Vs[TILE][HEAD_DIM_MAX];
    __shared__ scalar_t S[QUERY_BLOCK][TILE + 1];    // each thread's scores for the tile
    const int tiles = (Tq + QUERY_BLOCK - 1) / QUERY_BLOCK;
    const int b = blockIdx.x / tiles, first = (blockIdx.x % tiles) * QUERY_BLOCK;
    const int i = first + threadIdx.x;
    const bool active = i < Tq;
    const long long row = (long long)b * Tq + i;
    const long long mask_row = b * mask_sb + (long long)i * mask_sq;
    const scalar_t neg_inf = -infinity();

    scalar_t qi[HEAD_DIM_MAX], acc[HEAD_DIM_MAX];
#pragma unroll
    for (int d = 0; d < HEAD_DIM_MAX; ++d) {
        qi[d] = (active && d < D) ? q[row * D + d] : (scalar_t)0;
        acc[d] = 0;
    }
    scalar_t m = neg_inf, l = 0;                 // running max and Σ exp(s - m) of row i
    const int key_end = causal ? imin(Tk, first + QUERY_BLOCK) : Tk;
    for (int key0 = 0; key0 < key_end; key0 += TILE) {
        __syncthreads();                         // the previous tile is consumed
        load_tile(Ks, k + (long long)b * Tk * D, key0, Tk, D);
        load_tile(Vs, v + (long long)b * Tk * Dv, key0, Tk, Dv);
        __syncthreads();
        if (!active) continue;
        scalar_t tile_max = neg_inf;
        for (int j = 0; j < TILE; ++j) {          // scores of this tile, masked ones -inf
            scalar_t dot = 0;
#pragma unroll
            for (int d = 0; d < HEAD_DIM_MAX; ++d) dot += qi[d] * Ks[j][d];
            const int key = key0 + j;
            const scalar_t s = (key < Tk && allowed(mask, mask_row, mask_sk, has_mask, causal, i, key))
                                   ? scale * dot : neg_inf;
            S[threadIdx.x][j] = s;
            tile_max = fmax_(tile_max, s);
        }
        const scalar_t m_new = fmax_(m, tile_max);
        if (m_new == neg_inf) continue;          // no allowed key so far: nothing to add
        const scalar_t alpha = exp_(m - m_new);  // rescales the old sums (0 when m was -inf)
        l *= alpha;
#pragma unroll
        for (int d = 0; d < HEAD_DIM_MAX; ++d) acc[d] *= alpha;
        for (int j = 0; j < TILE; ++j) {
            const scalar_t p = exp_(S[threadIdx.x][j] - m_new);   // 0 for masked keys
            l += p;
#pragma unroll
            for (int d = 0; d < HEAD_DIM_MAX; ++d) acc[d] += p * Vs[j][d];
        }
        m = m_new;
    }
    if (!active) return;
    scalar_t* oi = o + row * Dv;
    const bool any = l > 0;                      // at least one allowed key
#pragma unroll
    for (int d = 0; d < HEAD_DIM_MAX; ++d)
        if (d < Dv) oi[d] = any ? acc[d] / l : (scalar_t)0;
    lse[row] = any ? m + log_(l) : neg_inf;
}

extern "C" __global__ void attention_backward_dq(
        const scalar_t* __restrict__ q, const scalar_t* __restrict__ k, const scalar_t* __restrict__ v,
        const bool* __restrict__ mask, long long mask_sb, long long mask_sq, long long mask_sk,
        int has_mask, const scalar_t* __restrict__ lse, const scalar_t* __restrict__ delta,
        const scalar_t* __restrict__ g, scalar_t* __restrict__ dq,
        int Tq, int Tk, int D, int Dv, int causal, scalar_t scale) {
    __shared__ scalar_t Ks[TILE][HEAD_DIM_MAX];
    __shared__ scalar_t Vs[TILE][HEAD_DIM_MAX];
    const int tiles = (Tq + QUERY_BLOCK - 1) / QUERY_BLOCK;
    const int b = blockIdx.x / tiles, first = (blockIdx.x % tiles) * QUERY_BLOCK;
    const int i = first + threadIdx.x;
    const bool active = i < Tq;
    const long long row = (long long)b * Tq + i;
    const long long mask_row = b * mask_sb + (long long)i * mask_sq;
    const scalar_t neg_inf = -infinity();
    const scalar_t lse_i = active ? lse[row] : neg_inf;
    const scalar_t delta_i = active ? delta[row] : (scalar_t)0;
    const bool live = active && lse_i != neg_inf;   // a row with no allowed key has P = 0: dq = 0

    scalar_t qi[HEAD_DIM_MAX], gi[HEAD_DIM_MAX], dqi[HEAD_DIM_MAX];
#pragma unroll
    for (int d = 0; d < HEAD_DIM_MAX; ++d) {
        qi[d] = (live && d < D) ? q[row * D + d] : (scalar_t)0;
        gi[d] = (live && d < Dv) ? g[row * Dv + d] : (scalar_t)0;
        dqi[d] = 0;
    }
    const int key_end = causal ? imin(Tk, first + QUERY_BLOCK) : Tk;
    for (int key0 = 0; key0 < key_end; key0 += TILE) {
        __syncthreads();
        load_tile(Ks, k + (long long)b * Tk * D, key0, Tk, D);
        load_tile(Vs, v + (long long)b * Tk * Dv, key0, Tk, Dv);
        __syncthreads();
        if (!live) continue;
        const int n_keys = imin(TILE, Tk - key0);
        for (int j = 0; j < n_keys; ++j) {
            if (!allowed(mask, mask_row, mask_sk, has_mask, causal, i, key0 + j)) continue;
            scalar_t dot = 0, dp = 0;
#pragma unroll
            for (int d = 0; d < HEAD_DIM_MAX; ++d) {
                dot += qi[d] * Ks[j][d];
                dp += gi[d] * Vs[j][d];
            }
            const scalar_t p = exp_(scale * dot - lse_i);     // P_ij
            const scalar_t ds = p * (dp - delta_i);           // dS_ij
#pragma unroll
            for (int d = 0; d < HEAD_DIM_MAX; ++d)
                dqi[d] += ds * Ks[j][d];
        }
    }
    if (!active) return;
#pragma unroll
    for (int d = 0; d < HEAD_DIM_MAX; ++d)
        if (d < D) dq[row * D + d] = scale * dqi[d];
}

extern "C" __global__ void attention_backward_dkdv(
        const scalar_t* __restrict__ q, const scalar_t* __restrict__ k, const scalar_t* __restrict__ v,
        const bool* __restrict__ mask, long long mask_sb, long long mask_sq, long long mask_sk,
        int has_mask, const scalar_t* __restrict__ lse, const scalar_t* __restrict__ delta,
        const scalar_t* __restrict__ g, scalar_t* __restrict__ dk, scalar_t* __restrict__ dv,
        int Tq, int Tk, int D, int Dv, int causal, scalar_t scale) {
    // blockDim.x == TILE: thread t owns key j = first + t.
    __shared__ scalar_t Kown[TILE][HEAD_DIM_MAX + 1];    // +1: row t starts in bank t mod 32
    __shared__ scalar_t Vown[TILE][HEAD_DIM_MAX + 1];
    __shared__ scalar_t Qs[TILE][HEAD_DIM_MAX];          // a tile of queries ...
    __shared__ scalar_t Gs[TILE][HEAD_DIM_MAX];          // ... their output gradients,
    __shared__ scalar_t Ls[TILE], Ds[TILE];              // lse_i and Δ_i
    const int tiles = (Tk + TILE - 1) / TILE;
    const int b = blockIdx.x / tiles, first = (blockIdx.x % tiles) * TILE;
    const int t = threadIdx.x, j = first + t;
    const bool active = j < Tk;
    const scalar_t neg_inf = -infinity();
    const scalar_t* qb = q + (long long)b * Tq * D;
    const scalar_t* gb = g + (long long)b * Tq * Dv;

    load_tile(Kown, k + (long long)b * Tk * D, first, Tk, D);
    load_tile(Vown, v + (long long)b * Tk * Dv, first, Tk, Dv);
    scalar_t dkj[HEAD_DIM_MAX], dvj[HEAD_DIM_MAX];
#pragma unroll
    for (int d = 0; d < HEAD_DIM_MAX; ++d) dkj[d] = dvj[d] = 0;

    const int query_start = causal ? first : 0;          // causal: only queries i >= j see key j
    for (int query0 = query_start; query0 < Tq; query0 += TILE) {
        __syncthreads();                                  // (also: the own rows are loaded)
        load_tile(Qs, qb, query0, Tq, D);
        load_tile(Gs, gb, query0, Tq, Dv);
        if (t < TILE) {
            const bool in = query0 + t < Tq;
            Ls[t] = in ? lse[(long long)b * Tq + query0 + t] : neg_inf;
            Ds[t] = in ? delta[(long long)b * Tq + query0 + t] : (scalar_t)0;
        }
        __syncthreads();
        if (!active) continue;
        const int n_queries = imin(TILE, Tq - query0);
        for (int r = 0; r < n_queries; ++r) {
            const int i = query0 + r;
            const long long mask_row = b * mask_sb + (long long)i * mask_sq;
            if (Ls[r] == neg_inf || !allowed(mask, mask_row, mask_sk, has_mask, causal, i, j)) continue;
            scalar_t dot = 0, dp = 0;
#pragma unroll
            for (int d = 0; d < HEAD_DIM_MAX; ++d) {
                dot += Qs[r][d] * Kown[t][d];
                dp += Gs[r][d] * Vown[t][d];
            }
            const scalar_t p = exp_(scale * dot - Ls[r]);     // P_ij
            const scalar_t ds = p * (dp - Ds[r]);             // dS_ij
#pragma unroll
            for (int d = 0; d < HEAD_DIM_MAX; ++d) {
                dvj[d] += p * Gs[r][d];
                dkj[d] += ds * Qs[r][d];
            }
        }
    }
    if (!active) return;
    const long long row = (long long)b * Tk + j;
#pragma unroll
    for (int d = 0; d < HEAD_DIM_MAX; ++d) {
        if (d < D) dk[row * D + d] = scale * dkj[d];
        if (d < Dv) dv[row * Dv + d] = dvj[d];
    }
}
