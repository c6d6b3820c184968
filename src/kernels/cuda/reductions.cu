#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/reductions.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBlocks = 512;  // partial sums: one per block, reduced by a second launch

__device__ double g_partials[kBlocks];

__global__ void partial_squares_kernel(const float* x, int64_t n) {
  double sum = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x; i < n;
       i += static_cast<int64_t>(kBlocks) * kThreads) {
    const double v = x[i];
    sum += v * v;
  }
  const double total = block_sum<kThreads>(sum);
  if (threadIdx.x == 0) g_partials[blockIdx.x] = total;
}

__global__ void final_sum_kernel(double* out) {
  double sum = 0;
  for (int i = threadIdx.x; i < kBlocks; i += kThreads) sum += g_partials[i];
  const double total = block_sum<kThreads>(sum);
  if (threadIdx.x == 0) *out = total;
}

}  // namespace

__global__ void mean_of_pair_kernel(double* out, const double* pair) {
  *out = (pair[0] + pair[1]) / 2;
}

void mean_of_pair(double* out, const double* pair) {
  mean_of_pair_kernel<<<1, 1, 0, stream()>>>(out, pair);
  check_launch("mean_of_pair");
}

void sum_squares(double* out, const float* x, int64_t n) {
  partial_squares_kernel<<<kBlocks, kThreads, 0, stream()>>>(x, n);
  check_launch("sum_squares (partials)");
  final_sum_kernel<<<1, kThreads, 0, stream()>>>(out);
  check_launch("sum_squares (total)");
}

}  // namespace bertrain::cuda
