// Dense layers: out = in W^T + b and its backward, on the fp32 GEMM (gemm.h) or on bf16
// inputs on the CPU's matrix units (gemm_bf16.h).
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/column_sums.h"
#include "kernels/cpu/gemm_bf16.h"

namespace bertrain::cpu {

// out = in * W^T + b with W [out_f, in_f].
template <typename T>
void linear_forward(T* out, const T* in, const T* W, const T* b, int N, int in_f, int out_f);
// din = dout * W (or din += dout * W with accumulate_din, which folds in a residual gradient;
// skipped when din is null), dW += dout^T * in, db += column sums of dout.
template <typename T>
void linear_backward(T* din, T* dW, T* db, const T* dout, const T* in, const T* W, int N, int in_f,
                     int out_f, bool accumulate_din = false);

// The same on bf16 inputs (raw uint16_t) with fp32 accumulation and outputs, on the CPU's
// matrix units (gemm_bf16.h): out = in16 * W16^T + b. Float models only.
void linear_forward_bf16(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch = {});
// The same with the output rounded to bf16 by the GEMM (what autocast's linear returns), for
// the kernels that read it in bf16.
void linear_forward_bf16(uint16_t* out16, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch = {});
// din (=, or += with accumulate_din; skipped when null) = dout16 * W16, dW += dout16^T * in16,
// db += column sums of dout (fp32, unrounded; skipped when db is null).
void linear_backward_bf16(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din = false,
                          GemmScratch scratch = {});
// x16 = x rounded to bf16 and sums += x's column sums, in one pass over x [N, C]: a bf16
// linear layer's output gradient for its GEMMs and its bias gradient (linear_backward_bf16
// then takes db = null). `partials` holds column_sums_scratch_floats(N, C) floats
// (column_sums.h).
void pack_bf16_column_sums(uint16_t* x16, float* sums, const float* x, int N, int C,
                           float* partials);
// The scratch bytes those two take at most for a shape (gemm_bf16.h).
size_t linear_bf16_scratch_bytes(int N, int in_f, int out_f);

}  // namespace bertrain::cpu
