#include "kernels/cuda/activations.h"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;
constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

__device__ float gelu(float v) {
  return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x).
__device__ float gelu_grad(float v) {
  return 0.5f * (1.0f + erff(v * kInvSqrt2)) + v * kInvSqrt2Pi * expf(-0.5f * v * v);
}

__global__ void gelu_forward_kernel(float* out, const float* x, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = gelu(x[i]);
}

__global__ void gelu_backward_kernel(float* dx, const float* x, const float* dout, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dx[i] = dout[i] * gelu_grad(x[i]);
}

__global__ void gelu_forward_bf16_kernel(uint16_t* out16, const uint16_t* x16, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out16[i] = float_to_bf16(gelu(bf16_to_float(x16[i])));
}

// One thread per column and row lane, as column_sums.cuh: dx16 = dout * GELU'(x16) rounded,
// and dbias += the column sums of the unrounded products.
__global__ void gelu_backward_bf16_kernel(uint16_t* dx16, float* dbias, const uint16_t* x16,
                                          const float* dout, int N, int C) {
  const int c = blockIdx.x * kColumns + threadIdx.x;
  float sum[1] = {0};
  if (c < C)
    for (int r = threadIdx.y; r < N; r += kColumnLanes) {
      const int64_t i = static_cast<int64_t>(r) * C + c;
      const float d = dout[i] * gelu_grad(bf16_to_float(x16[i]));
      dx16[i] = float_to_bf16(d);
      sum[0] += d;
    }
  reduce_column_lanes(sum);
  if (threadIdx.y == 0 && c < C) dbias[c] += sum[0];
}

__global__ void tanh_forward_kernel(float* out, const float* x, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = tanhf(x[i]);
}

__global__ void tanh_backward_kernel(float* dx, const float* y, const float* dout, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dx[i] = dout[i] * (1.0f - y[i] * y[i]);
}

}  // namespace

void gelu_forward(float* out, const float* x, int64_t n) {
  if (n == 0) return;
  gelu_forward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(out, x, n);
  check_launch("gelu_forward");
}

void gelu_backward(float* dx, const float* x, const float* dout, int64_t n) {
  if (n == 0) return;
  gelu_backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(dx, x, dout, n);
  check_launch("gelu_backward");
}

void gelu_forward_bf16(uint16_t* out16, const uint16_t* x16, int64_t n) {
  if (n == 0) return;
  gelu_forward_bf16_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(out16, x16, n);
  check_launch("gelu_forward_bf16");
}

void gelu_backward_bf16(uint16_t* dx16, float* dbias, const uint16_t* x16, const float* dout, int N,
                        int C, float*) {
  if (N == 0 || C == 0) return;
  gelu_backward_bf16_kernel<<<column_sums_grid(C), column_sums_block(), 0, stream()>>>(
      dx16, dbias, x16, dout, N, C);
  check_launch("gelu_backward_bf16");
}

void tanh_forward(float* out, const float* x, int64_t n) {
  if (n == 0) return;
  tanh_forward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(out, x, n);
  check_launch("tanh_forward");
}

void tanh_backward(float* dx, const float* y, const float* dout, int64_t n) {
  if (n == 0) return;
  tanh_backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(dx, y, dout, n);
  check_launch("tanh_backward");
}

}  // namespace bertrain::cuda
