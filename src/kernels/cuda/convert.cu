#include <cuda_fp16.h>

#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/convert.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

__device__ uint16_t round_bits(float x, bool bf16) {
  return bf16 ? float_to_bf16(x) : __half_as_ushort(__float2half_rn(x));
}

__device__ float widen_bits(uint16_t h, bool bf16) {
  return bf16 ? bf16_to_float(h) : __half2float(__ushort_as_half(h));
}

__global__ void to_half_kernel(uint16_t* dst, const float* x, int64_t n, bool bf16) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] = round_bits(x[i], bf16);
}

__global__ void from_half_kernel(float* dst, const uint16_t* x16, int64_t n, bool bf16) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] = widen_bits(x16[i], bf16);
}

__global__ void round_half_kernel(float* x, int64_t n, bool bf16, uint16_t* store) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const uint16_t h = round_bits(x[i], bf16);
  x[i] = widen_bits(h, bf16);
  if (store) store[i] = h;
}

}  // namespace

void to_half(uint16_t* dst, const float* x, int64_t n, HalfFormat f) {
  if (n == 0) return;
  to_half_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(dst, x, n,
                                                                     f == HalfFormat::BF16);
  check_launch("to_half");
}

void from_half(float* dst, const uint16_t* x16, int64_t n, HalfFormat f) {
  if (n == 0) return;
  from_half_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(dst, x16, n,
                                                                       f == HalfFormat::BF16);
  check_launch("from_half");
}

void round_half(float* x, int64_t n, HalfFormat f, uint16_t* store) {
  if (n == 0) return;
  round_half_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(x, n, f == HalfFormat::BF16,
                                                                        store);
  check_launch("round_half");
}

}  // namespace bertrain::cuda
