// layer_norm.cu — layer norm over each row, forward and backward (dx).
//
// Computes (x, y, g, dx: (M, N) row-major, contiguous; w, b: (N,); mean, rstd: (M,)):
//   layer_norm_forward   reference.layer_norm_forward:
//       μ = Σ x / N,  σ² = Σ (x - μ)² / N,  rstd = 1 / √(σ² + ε),  x̂ = (x - μ) · rstd,
//       y = x̂ ⊙ w + b   (has_weight / has_bias = 0: w = 1 / b = 0; the pointer is not read)
//   layer_norm_backward  the dx of reference.layer_norm_backward:
//       dx̂ = g ⊙ w,  dx = (dx̂ - mean(dx̂) - x̂ ⊙ mean(dx̂ ⊙ x̂)) · rstd
//   dw = Σ_rows g ⊙ x̂ and db = Σ_rows g are column sums over all rows: cupy_gpu.py does them
//   with cupy's reductions (a one-block-per-row kernel would need atomics across blocks).
// Launch: grid (M), one block per row; block (threads), a multiple of 32, at most 1024.
// Optimizations: one block per row (reductions on chip: warp shuffles + shared memory);
//   coalesced loads; mean and variance in two passes over the row (as the reference: no
//   cancellation from E[x²] - E[x]²); forward and backward each a single launch.
#include "common.cuh"

extern "C" __global__ void layer_norm_forward(const scalar_t* __restrict__ x,
                                              const scalar_t* __restrict__ w,
                                              const scalar_t* __restrict__ b,
                                              scalar_t* __restrict__ y,
                                              scalar_t* __restrict__ mean,
                                              scalar_t* __restrict__ rstd,
                                              int rows, int n, scalar_t eps,
                                              int has_weight, int has_bias) {
    if (blockIdx.x >= rows) return;
    const long long base = (long long)blockIdx.x * n;
    scalar_t s = 0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += x[base + c];
    const scalar_t mu = block_reduce(s, SumOp(), (scalar_t)0) / n;
    scalar_t ss = 0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        const scalar_t d = x[base + c] - mu;
        ss += d * d;
    }
    const scalar_t r = (scalar_t)1 / sqrt_(block_reduce(ss, SumOp(), (scalar_t)0) / n + eps);
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        scalar_t v = (x[base + c] - mu) * r;
        if (has_weight) v = v * w[c];
        if (has_bias) v = v + b[c];
        y[base + c] = v;
    }
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = mu;
        rstd[blockIdx.x] = r;
    }
}

extern "C" __global__ void layer_norm_backward(const scalar_t* __restrict__ x,
                                               const scalar_t* __restrict__ w,
                                               const scalar_t* __restrict__ mean,
                                               const scalar_t* __restrict__ rstd,
                                               const scalar_t* __restrict__ g,
                                               scalar_t* __restrict__ dx,
                                               int rows, int n, int has_weight) {
    if (blockIdx.x >= rows) return;
    const long long base = (long long)blockIdx.x * n;
    const scalar_t mu = mean[blockIdx.x], r = rstd[blockIdx.x];
    scalar_t sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        const scalar_t xhat = (x[base + c] - mu) * r;
        const scalar_t dxhat = has_weight ? g[base + c] * w[c] : g[base + c];
        sum_dxhat += dxhat;
        sum_dxhat_xhat += dxhat * xhat;
    }
    const scalar_t mean_dxhat = block_reduce(sum_dxhat, SumOp(), (scalar_t)0) / n;
    const scalar_t mean_dxhat_xhat = block_reduce(sum_dxhat_xhat, SumOp(), (scalar_t)0) / n;
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        const scalar_t xhat = (x[base + c] - mu) * r;
        const scalar_t dxhat = has_weight ? g[base + c] * w[c] : g[base + c];
        dx[base + c] = (dxhat - mean_dxhat - xhat * mean_dxhat_xhat) * r;
    }
}
