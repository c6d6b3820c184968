#include "kernels/cuda/activations.h"

#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;
constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

__global__ void gelu_forward_kernel(float* out, const float* x, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * kInvSqrt2));
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x).
__global__ void gelu_backward_kernel(float* dx, const float* x, const float* dout, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  const float cdf = 0.5f * (1.0f + erff(v * kInvSqrt2));
  const float pdf = kInvSqrt2Pi * expf(-0.5f * v * v);
  dx[i] = dout[i] * (cdf + v * pdf);
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
