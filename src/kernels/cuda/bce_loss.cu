#include "kernels/cuda/bce_loss.h"
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

// One block: the values are a batch's (few).
__global__ void bce_forward_kernel(float* probs, double* loss, const float* x, const float* targets,
                                   int64_t n) {
  double part = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    probs[i] = 1.0f / (1.0f + expf(-x[i]));
    if (!targets) continue;
    const double v = x[i];
    part += fmax(v, 0.0) - v * targets[i] + log1p(exp(-fabs(v)));
  }
  const double total = block_sum<kThreads>(part);
  if (threadIdx.x == 0) *loss = targets && n ? total / static_cast<double>(n) : 0.0;
}

__global__ void bce_backward_kernel(float* dx, const float* probs, const float* targets, int64_t n,
                                    float k) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dx[i] = (probs[i] - targets[i]) * k;
}

}  // namespace

void bce_forward(float* probs, double* loss, const float* x, const float* targets, int64_t n) {
  bce_forward_kernel<<<1, kThreads, 0, stream()>>>(probs, loss, x, targets, n);
  check_launch("bce_forward");
}

void bce_backward(float* dx, const float* probs, const float* targets, int64_t n, double scale) {
  if (n == 0) return;
  bce_backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(
      dx, probs, targets, n, static_cast<float>(scale / static_cast<double>(n)));
  check_launch("bce_backward");
}

}  // namespace bertrain::cuda
