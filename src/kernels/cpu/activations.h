// Pointwise activations: exact GELU (and its bf16-fused forms) and tanh.
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// Exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
template <typename T>
void gelu_forward(T* out, const T* x, int64_t n);
// Under bf16 GEMMs: the GELU of x16 (in bf16, as the GEMM before wrote it; backward reads it
// too), rounded to bf16 (out16, what the next GEMM reads).
void gelu_forward_bf16(uint16_t* out16, const uint16_t* x16, int64_t n);
template <typename T>
void gelu_backward(T* dx, const T* x, const T* dout, int64_t n);
// Under bf16 GEMMs, for the intermediate layer's output [N, C]: the same reading x from its bf16
// copy, writing dx rounded to bf16 (for the bf16 GEMMs) and adding dx's fp32 column sums into
// dbias (the intermediate bias gradient), in one pass over the rows (column_sums.h; `partials`
// holds column_sums_scratch_floats(N, C) floats).
void gelu_backward_bf16(uint16_t* dx16, float* dbias, const uint16_t* x16, const float* dout, int N,
                        int C, float* partials);

template <typename T>
void tanh_forward(T* out, const T* x, int64_t n);
// Uses the saved output: d tanh = 1 - y^2.
template <typename T>
void tanh_backward(T* dx, const T* y, const T* dout, int64_t n);

}  // namespace bertrain::cpu
