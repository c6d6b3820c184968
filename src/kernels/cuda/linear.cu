#include "core/error.h"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/convert.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

// acc[c] += sum over rows of x[r, c] (column_sums.cuh).
__global__ void column_sums_add_kernel(float* acc, const float* x, int N, int C) {
  const int c = blockIdx.x * kColumns + threadIdx.x;
  float sum[1] = {0};
  if (c < C)
    for (int r = threadIdx.y; r < N; r += kColumnLanes)
      sum[0] += x[static_cast<int64_t>(r) * C + c];
  reduce_column_lanes(sum);
  if (threadIdx.y == 0 && c < C) acc[c] += sum[0];
}

// The same, writing x rounded to bf16 as it reads it.
__global__ void pack_column_sums_kernel(uint16_t* x16, float* acc, const float* x, int N, int C) {
  const int c = blockIdx.x * kColumns + threadIdx.x;
  float sum[1] = {0};
  if (c < C)
    for (int r = threadIdx.y; r < N; r += kColumnLanes) {
      const int64_t i = static_cast<int64_t>(r) * C + c;
      sum[0] += x[i];
      x16[i] = float_to_bf16(x[i]);
    }
  reduce_column_lanes(sum);
  if (threadIdx.y == 0 && c < C) acc[c] += sum[0];
}

void column_sums_add(float* acc, const float* x, int N, int C) {
  if (C == 0) return;
  column_sums_add_kernel<<<column_sums_grid(C), column_sums_block(), 0, stream()>>>(acc, x, N, C);
  check_launch("column sums (bias gradient)");
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
  if (db) column_sums_add(db, dout, N, out_f);
}

void linear_forward_bf16(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch) {
  gemm_bf16(false, true, N, out_f, in_f, 1.0f, in16, in_f, W16, in_f, 0.0f, out, out_f, false, {},
            b);
}

// cuBLASLt adds an fp32 bias only to an fp32 output (13.0 on an H200 refuses an fp32 bias with a
// bf16 output; a bf16 bias would round once more than the CPU twin does). So the GEMM writes fp32
// with the bias into the planned scratch, and one pass rounds it to bf16.
void linear_forward16_bf16(uint16_t* out16, const uint16_t* in16, const uint16_t* W16,
                           const float* b, int N, int in_f, int out_f, GemmScratch scratch) {
  if (!b) {
    gemm_bf16(false, true, N, out_f, in_f, 1.0f, in16, in_f, W16, in_f, 0.0f, out16, out_f, true,
              {});
    return;
  }
  const size_t need = linear_bf16_scratch_bytes(N, in_f, out_f);
  if (scratch.bytes < need)
    fail("linear_forward16_bf16: the scratch holds ", scratch.bytes, " bytes, ", need, " needed");
  float* out = reinterpret_cast<float*>(scratch.data);
  gemm_bf16(false, true, N, out_f, in_f, 1.0f, in16, in_f, W16, in_f, 0.0f, out, out_f, false, {},
            b);
  to_half(out16, out, static_cast<int64_t>(N) * out_f, HalfFormat::BF16);
}

void linear_backward_bf16(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din, GemmScratch) {
  if (din)
    gemm_bf16(false, false, N, in_f, out_f, 1.0f, dout16, out_f, W16, in_f,
              accumulate_din ? 1.0f : 0.0f, din, in_f, false);
  gemm_bf16(true, false, out_f, in_f, N, 1.0f, dout16, out_f, in16, in_f, 1.0f, dW, in_f, false);
  if (db) column_sums_add(db, dout, N, out_f);
}

void pack_bf16_column_sums(uint16_t* x16, float* sums, const float* x, int N, int C, float*) {
  if (C == 0) return;
  pack_column_sums_kernel<<<column_sums_grid(C), column_sums_block(), 0, stream()>>>(x16, sums, x,
                                                                                     N, C);
  check_launch("pack_bf16_column_sums");
}

size_t column_sums_scratch_floats(int, int) {
  return 0;
}

size_t linear_bf16_scratch_bytes(int N, int, int out_f) {
  return static_cast<size_t>(N) * out_f * sizeof(float);
}

}  // namespace bertrain::cuda
