// matmul_tiled.cu — C = A @ B, the shared-memory tiled SGEMM (the classic teaching kernel).
//
// Computes: reference.matmul for 2-d inputs, C_ij = Σ_k A_ik B_kj.
//   A: (M, K), B: (K, N), C: (M, N), all row-major and contiguous.
// Launch: block (TILE, TILE) threads, grid (ceil(N / TILE), ceil(M / TILE)); thread (tx, ty) of
//   block (bx, by) computes C[by·TILE + ty][bx·TILE + tx].
// Optimizations (and what they buy):
//   - Tiling through shared memory: the block loads a TILE×TILE tile of A and one of B once
//     (one element per thread, coalesced: consecutive tx read consecutive addresses), then
//     every thread reads them TILE times from shared memory. Global traffic drops by TILE×.
//   - Bank-conflict-free reads: As[ty][kk] is the same address for a warp's threads (a
//     broadcast), Bs[kk][tx] are consecutive words (32 different banks).
//   - Bounds checks on the loads (zeros outside A and B) and on the store: any M, N, K.
// Not the default: cupy.matmul calls cuBLAS, which also tiles in registers, double-buffers
// and uses tensor cores, and is many times faster. This kernel is here to be read.
#include "common.cuh"

#ifndef TILE
#define TILE 16
#endif

extern "C" __global__ void matmul_tiled(const scalar_t* __restrict__ a,
                                        const scalar_t* __restrict__ b,
                                        scalar_t* __restrict__ c, int M, int N, int K) {
    __shared__ scalar_t As[TILE][TILE];
    __shared__ scalar_t Bs[TILE][TILE];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    scalar_t sum = 0;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        As[ty][tx] = (row < M && k0 + tx < K) ? a[(long long)row * K + k0 + tx] : (scalar_t)0;
        Bs[ty][tx] = (k0 + ty < K && col < N) ? b[(long long)(k0 + ty) * N + col] : (scalar_t)0;
        __syncthreads();              // the tiles are complete
#pragma unroll
        for (int kk = 0; kk < TILE; ++kk) sum += As[ty][kk] * Bs[kk][tx];
        __syncthreads();              // everyone is done with them before the next load
    }
    if (row < M && col < N) c[(long long)row * N + col] = sum;
}
