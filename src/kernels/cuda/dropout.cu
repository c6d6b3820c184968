#include "kernels/cuda/dropout.h"
#include "kernels/cuda/memory.h"
#include "kernels/cuda/runtime.h"
#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void dropout_kernel(float* out, const float* x, int64_t n, int64_t per_sample,
                               DropoutMask mask, float scale) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = mask.keep(i, per_sample) ? x[i] * scale : 0.0f;
}

}  // namespace

void dropout_apply(float* out, const float* x, int B, int64_t per_sample, const Dropout& d) {
  const int64_t n = B * per_sample;
  if (d.p <= 0) {
    copy(out, x, n);
    return;
  }
  if (n == 0) return;
  const float scale = static_cast<float>(1.0 / (1.0 - d.p));
  dropout_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(out, x, n, per_sample,
                                                                     DropoutMask(d), scale);
  check_launch("dropout_apply");
}

}  // namespace bertrain::cuda
