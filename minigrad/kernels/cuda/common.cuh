// common.cuh — what every minigrad CUDA kernel shares: the scalar type, the math functions
// for it, and the warp / block reductions of the row kernels (one thread block per row).
//
// scalar_t is float unless the compiler is given -DSCALAR_T=double: Python compiles each .cu
// file once per dtype (see minigrad/kernels/cuda_sources.py), so there are no C++ templates
// and every kernel keeps one plain extern "C" name.
//
// Only CUDA built-ins are used (no #include of system headers): CuPy compiles with NVRTC,
// which has no C library headers. cuda_sources.py pastes this file in place of the
// #include line, so CuPy's compile cache (keyed on the source text) sees changes here.
#ifndef MINIGRAD_COMMON_CUH
#define MINIGRAD_COMMON_CUH

#ifndef SCALAR_T
#define SCALAR_T float
#endif
typedef SCALAR_T scalar_t;

// Overloads: exp_(x) is expf for float and exp for double, and so on.
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }
__device__ __forceinline__ float sqrt_(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_(double x) { return sqrt(x); }
__device__ __forceinline__ float fabs_(float x) { return fabsf(x); }
__device__ __forceinline__ double fabs_(double x) { return fabs(x); }
// fmax ignores a NaN argument; a NaN in a row still reaches the row's sum, as in NumPy.
__device__ __forceinline__ float fmax_(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double fmax_(double a, double b) { return fmax(a, b); }
__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }

// +infinity of scalar_t, from its bit pattern (NVRTC has no INFINITY macro).
__device__ __forceinline__ scalar_t infinity() {
    return sizeof(scalar_t) == 4 ? (scalar_t)__int_as_float(0x7f800000)
                                 : (scalar_t)__longlong_as_double(0x7ff0000000000000LL);
}
// Finite: |x| < inf (false for ±inf and NaN).
__device__ __forceinline__ bool is_finite(scalar_t x) { return fabs_(x) < infinity(); }

struct SumOp {
    __device__ __forceinline__ scalar_t operator()(scalar_t a, scalar_t b) const { return a + b; }
};
struct MaxOp {
    __device__ __forceinline__ scalar_t operator()(scalar_t a, scalar_t b) const { return fmax_(a, b); }
};

// Reduce over the 32 lanes of a warp: a butterfly of register shuffles, no shared memory.
// Every lane ends with the result.
template <typename Op>
__device__ __forceinline__ scalar_t warp_reduce(scalar_t v, Op op) {
    for (int offset = 16; offset > 0; offset >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Reduce over the whole block (blockDim.x a multiple of 32, at most 1024): each warp reduces
// its own values, lane 0 of each warp leaves its partial result in shared memory, and every
// warp then reduces those (at most 32) partials. Every thread ends with the result.
// All threads of the block must call it (it has barriers).
template <typename Op>
__device__ __forceinline__ scalar_t block_reduce(scalar_t v, Op op, scalar_t identity) {
    __shared__ scalar_t partial[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_reduce(v, op);
    __syncthreads();                  // a previous call's readers are done with partial[]
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    return warp_reduce(lane < warps ? partial[lane] : identity, op);
}

#endif  // MINIGRAD_COMMON_CUH
