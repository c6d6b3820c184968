// LayerNorm forward and backward, plain and fused with the residual add (and, under bf16
// GEMMs, with the rounding and dropout before it).
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cpu {

// out = LN(x) * gamma + beta; saves mean and rstd per row for backward.
template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, int N,
                       int C, double eps);
// sum = a + b, then out = LN(sum): the residual add fused with the norm.
template <typename T>
void add_layernorm_forward(T* out, T* sum, T* mean, T* rstd, const T* a, const T* b, const T* gamma,
                           const T* beta, int N, int C, double eps);
// The residual block's LayerNorm under bf16 GEMMs, fused with what precedes it: inverted
// dropout of the dense output (in bf16, as its GEMM wrote it), the residual sum (kept only as
// its bf16 copy, sum16; the statistics come from the unrounded sum, as add_layernorm_forward's),
// and the output rounded to bf16 in place and copied to out16. The rows are [B, S] tokens of C.
void add_layernorm_forward_bf16(float* out, uint16_t* out16, uint16_t* sum16, float* mean,
                                float* rstd, const uint16_t* dense16, const Dropout& drop,
                                const float* residual, const float* gamma, const float* beta, int B,
                                int S, int C, double eps);
template <typename T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dout, const T* x, const T* mean,
                        const T* rstd, const T* gamma, int N, int C);
// The same reading x from its bf16 copy (raw uint16_t).
void layernorm_backward_bf16(float* dx, float* dgamma, float* dbeta, const float* dout,
                             const uint16_t* x16, const float* mean, const float* rstd,
                             const float* gamma, int N, int C);

}  // namespace bertrain::cpu
