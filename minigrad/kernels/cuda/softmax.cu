// softmax.cu — row softmax and log-softmax, forward and backward.
//
// Computes (x, y, g, dx: (M, N) row-major, contiguous; every formula is per row):
//   softmax_forward      reference.softmax_forward:      y = exp(x - m) / Σ exp(x - m)
//   softmax_backward     reference.softmax_backward:     dx = y ⊙ (g - Σ g ⊙ y)
//   log_softmax_forward  reference.log_softmax_forward:  y = (x - m) - log Σ exp(x - m)
//   log_softmax_backward reference.log_softmax_backward: dx = g - exp(y) ⊙ Σ g
// where m is the row's max, or 0 when that max is not finite. So a row of all -inf gives
// 0 / 0 = NaN (softmax) and -inf - (-inf) = NaN (log-softmax), exactly as the reference.
// Launch: grid (M), one block per row; block (threads), a multiple of 32 and at most 1024;
//   thread t handles columns t, t + threads, t + 2·threads, ...
// Optimizations:
//   - One block per row: the row's reductions (max, sum) stay on chip: warp shuffles, then one
//     shared-memory exchange between warps (common.cuh block_reduce).
//   - Coalesced access: at each step the warp's 32 threads read 32 consecutive elements.
//   - Fused: max, sum and output in one launch; no (M, N) temporary is written. The row is
//     read three times (max, sum, write); for rows that fit in L1/L2 the re-reads are cheap.
#include "common.cuh"

extern "C" __global__ void softmax_forward(const scalar_t* __restrict__ x, scalar_t* __restrict__ y,
                                           int rows, int n) {
    if (blockIdx.x >= rows) return;
    const scalar_t* xr = x + (long long)blockIdx.x * n;
    scalar_t* yr = y + (long long)blockIdx.x * n;
    scalar_t m = -infinity();
    for (int c = threadIdx.x; c < n; c += blockDim.x) m = fmax_(m, xr[c]);
    m = block_reduce(m, MaxOp(), -infinity());
    if (!is_finite(m)) m = 0;                       // all -inf (or +inf) rows: as the reference
    scalar_t s = 0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += exp_(xr[c] - m);
    s = block_reduce(s, SumOp(), (scalar_t)0);
    for (int c = threadIdx.x; c < n; c += blockDim.x) yr[c] = exp_(xr[c] - m) / s;
}

extern "C" __global__ void softmax_backward(const scalar_t* __restrict__ y,
                                            const scalar_t* __restrict__ g,
                                            scalar_t* __restrict__ dx, int rows, int n) {
    if (blockIdx.x >= rows) return;
    const long long base = (long long)blockIdx.x * n;
    scalar_t s = 0;                                      // Σ g ⊙ y
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += g[base + c] * y[base + c];
    s = block_reduce(s, SumOp(), (scalar_t)0);
    for (int c = threadIdx.x; c < n; c += blockDim.x) dx[base + c] = y[base + c] * (g[base + c] - s);
}

extern "C" __global__ void log_softmax_forward(const scalar_t* __restrict__ x,
                                               scalar_t* __restrict__ y, int rows, int n) {
    if (blockIdx.x >= rows) return;
    const scalar_t* xr = x + (long long)blockIdx.x * n;
    scalar_t* yr = y + (long long)blockIdx.x * n;
    scalar_t m = -infinity();
    for (int c = threadIdx.x; c < n; c += blockDim.x) m = fmax_(m, xr[c]);
    m = block_reduce(m, MaxOp(), -infinity());
    if (!is_finite(m)) m = 0;
    scalar_t s = 0;
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += exp_(xr[c] - m);
    const scalar_t log_s = log_(block_reduce(s, SumOp(), (scalar_t)0));
    for (int c = threadIdx.x; c < n; c += blockDim.x) yr[c] = (xr[c] - m) - log_s;
}

extern "C" __global__ void log_softmax_backward(const scalar_t* __restrict__ y,
                                                const scalar_t* __restrict__ g,
                                                scalar_t* __restrict__ dx, int rows, int n) {
    if (blockIdx.x >= rows) return;
    const long long base = (long long)blockIdx.x * n;
    scalar_t s = 0;                                      // Σ g
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += g[base + c];
    s = block_reduce(s, SumOp(), (scalar_t)0);
    for (int c = threadIdx.x; c < n; c += blockDim.x) dx[base + c] = g[base + c] - exp_(y[base + c]) * s;
}
