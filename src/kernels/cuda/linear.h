// Dense layers on the CUDA backend (twins of kernels/cpu/linear.h): out = in W^T + b with W
// [out_f, in_f] row-major as torch stores it; backward writes (or adds to) din and adds to dW
// and db.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/types.h"

namespace bertrain::cuda {

void linear_forward(float* out, const float* in, const float* W, const float* b, int N, int in_f,
                    int out_f);
// din may be null (no input gradient); db may be null (no bias).
void linear_backward(float* din, float* dW, float* db, const float* dout, const float* in,
                     const float* W, int N, int in_f, int out_f, bool accumulate_din);

// The bf16 path (twins of kernels/cpu/linear.h's *_bf16): bf16 inputs and weight copy on the
// tensor cores, fp32 accumulation; out in fp32, or rounded to bf16 (linear_forward16).
void linear_forward_bf16(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch);
void linear_forward16_bf16(uint16_t* out16, const uint16_t* in16, const uint16_t* W16,
                           const float* b, int N, int in_f, int out_f, GemmScratch scratch);
// din (=, or += with accumulate_din; skipped when null) = dout16 W16, dW += dout16^T in16,
// db += column sums of dout (fp32).
void linear_backward_bf16(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din, GemmScratch scratch);
// x16 = bf16(x) and sums += column sums of x, in one pass.
void pack_bf16_column_sums(uint16_t* x16, float* sums, const float* x, int N, int C,
                           float* partials);
// The CPU twin's scratch for its fused column sums; one launch sums here, without one.
size_t column_sums_scratch_floats(int N, int C);
// The fp32 output of linear_forward16_bf16 before rounding (cuBLASLt keeps its own workspace).
size_t linear_bf16_scratch_bytes(int N, int in_f, int out_f);

}  // namespace bertrain::cuda
