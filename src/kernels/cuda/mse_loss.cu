#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/mse_loss.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

// One block: the values are a batch's (few).
__global__ void mse_forward_kernel(double* loss, const float* x, const float* targets, int64_t n) {
  double part = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const double d = static_cast<double>(x[i]) - targets[i];
    part += d * d;
  }
  const double total = block_sum<kThreads>(part);
  if (threadIdx.x == 0) *loss = n ? total / static_cast<double>(n) : 0.0;
}

__global__ void mse_backward_kernel(float* dx, const float* x, const float* targets, int64_t n,
                                    float k) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dx[i] = (x[i] - targets[i]) * k;
}

__global__ void write_zero(double* loss) {
  *loss = 0.0;
}

}  // namespace

void mse_forward(double* loss, const float* x, const float* targets, int64_t n) {
  if (targets)
    mse_forward_kernel<<<1, kThreads, 0, stream()>>>(loss, x, targets, n);
  else
    write_zero<<<1, 1, 0, stream()>>>(loss);
  check_launch("mse_forward");
}

void mse_backward(float* dx, const float* x, const float* targets, int64_t n, double scale) {
  if (n == 0) return;
  mse_backward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(
      dx, x, targets, n, static_cast<float>(2 * scale / static_cast<double>(n)));
  check_launch("mse_backward");
}

}  // namespace bertrain::cuda
