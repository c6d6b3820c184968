#include "kernels/cuda/linear.h"

#include "kernels/cuda/gemm.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

// Thread c owns column c: acc[c] += sum over rows of x[r, c], in row order (deterministic).
__global__ void column_sums_add_kernel(float* acc, const float* x, int N, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float sum = 0;
  for (int r = 0; r < N; ++r) sum += x[static_cast<int64_t>(r) * C + c];
  acc[c] += sum;
}

}  // namespace

void linear_forward(float* out, const float* in, const float* W, const float* b, int N, int in_f,
                    int out_f) {
  gemm(false, true, N, out_f, in_f, 1.0f, in, in_f, W, in_f, 0.0f, out, out_f, {}, b);
}

void linear_backward(float* din, float* dW, float* db, const float* dout, const float* in,
                     const float* W, int N, int in_f, int out_f, bool accumulate_din) {
  if (din)
    gemm(false, false, N, in_f, out_f, 1.0f, dout, out_f, W, in_f, accumulate_din ? 1.0f : 0.0f,
         din, in_f);
  gemm(true, false, out_f, in_f, N, 1.0f, dout, out_f, in, in_f, 1.0f, dW, in_f);
  if (db && out_f > 0) {
    column_sums_add_kernel<<<blocks_for(out_f, 128), 128, 0, stream()>>>(db, dout, N, out_f);
    check_launch("linear_backward (bias)");
  }
}

}  // namespace bertrain::cuda
