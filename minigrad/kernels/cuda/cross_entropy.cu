// cross_entropy.cu — cross-entropy from logits (fused log-softmax + NLL), forward and backward,
// with ignore_index and label smoothing ε.
//
// Computes (x: (M, C) row-major logits; target: (M,) int64; loss, lse, g: (M,); dx: (M, C)):
//   cross_entropy_forward   reference.cross_entropy_forward:
//       lse_i = m_i + log Σ_c exp(x_ic - m_i)   (m_i the row max, 0 if not finite)
//       loss_i = (1 - ε)(lse_i - x_{i,t_i}) + ε (lse_i - Σ_c x_ic / C),  0 where t_i = ignore_index
//   cross_entropy_backward  reference.cross_entropy_backward:
//       dx_ic = g_i (exp(x_ic - lse_i) - ε/C - (1 - ε)[c = t_i]),  0 for ignored rows
// A target outside [0, C) (other than ignore_index) gives a NaN loss: a kernel cannot raise,
// and NaN is the loud answer (the reference raises IndexError).
// Launch: forward: grid (M), one block per row, block (threads) a multiple of 32 (≤ 1024).
//   backward: element-wise, grid-stride loop over the M·C elements, 256 threads per block.
// Optimizations: the forward keeps only lse (M values) for backward, never the (M, C)
//   probabilities; one pass computes max, then one pass both Σ exp and Σ x; the backward
//   recomputes each probability from x and lse where it writes dx (one read, one write).
#include "common.cuh"

extern "C" __global__ void cross_entropy_forward(const scalar_t* __restrict__ x,
                                                 const long long* __restrict__ target,
                                                 scalar_t* __restrict__ loss,
                                                 scalar_t* __restrict__ lse,
                                                 int rows, int n_classes,
                                                 long long ignore_index, scalar_t smoothing) {
    if (blockIdx.x >= rows) return;
    const scalar_t* xr = x + (long long)blockIdx.x * n_classes;
    scalar_t m = -infinity();
    for (int c = threadIdx.x; c < n_classes; c += blockDim.x) m = fmax_(m, xr[c]);
    m = block_reduce(m, MaxOp(), -infinity());
    if (!is_finite(m)) m = 0;
    scalar_t s = 0, sum_x = 0;
    for (int c = threadIdx.x; c < n_classes; c += blockDim.x) {
        s += exp_(xr[c] - m);
        sum_x += xr[c];
    }
    s = block_reduce(s, SumOp(), (scalar_t)0);
    sum_x = block_reduce(sum_x, SumOp(), (scalar_t)0);
    if (threadIdx.x != 0) return;
    const scalar_t row_lse = m + log_(s);
    const long long t = target[blockIdx.x];
    scalar_t l = 0;
    if (t != ignore_index) {
        if (t < 0 || t >= n_classes) {
            l = infinity() - infinity();                       // NaN: target out of range
        } else {
            l = row_lse - xr[t];
            if (smoothing != 0) l = (1 - smoothing) * l + smoothing * (row_lse - sum_x / n_classes);
        }
    }
    loss[blockIdx.x] = l;
    lse[blockIdx.x] = row_lse;
}

extern "C" __global__ void cross_entropy_backward(const scalar_t* __restrict__ x,
                                                  const long long* __restrict__ target,
                                                  const scalar_t* __restrict__ lse,
                                                  const scalar_t* __restrict__ g,
                                                  scalar_t* __restrict__ dx,
                                                  int rows, int n_classes,
                                                  long long ignore_index, scalar_t smoothing) {
    const long long total = (long long)rows * n_classes;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        const int row = (int)(idx / n_classes), c = (int)(idx - (long long)row * n_classes);
        const long long t = target[row];
        if (t == ignore_index) {
            dx[idx] = 0;
            continue;
        }
        scalar_t d = exp_(x[idx] - lse[row]) - smoothing / n_classes;
        if (c == t) d -= 1 - smoothing;
        dx[idx] = g[row] * d;
    }
}
