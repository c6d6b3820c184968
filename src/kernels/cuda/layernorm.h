// LayerNorm (plain and residual-fused) on the CUDA backend: twins of kernels/cpu/layernorm.h.
// Statistics in fp32 as torch computes them; one warp per row. The parameter gradients are
// column sums in row order (deterministic).
#pragma once

#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* gamma,
                       const float* beta, int N, int C, double eps);
// sum = a + b, then out = LayerNorm(sum).
void add_layernorm_forward(float* out, float* sum, float* mean, float* rstd, const float* a,
                           const float* b, const float* gamma, const float* beta, int N, int C,
                           double eps);
// dx written; dgamma, dbeta accumulated.
void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dout, const float* x,
                        const float* mean, const float* rstd, const float* gamma, int N, int C);

// The residual block's LayerNorm on the bf16 path (twin of the CPU's): inverted dropout of the
// bf16 dense output, plus the residual; the sum kept as bf16 (sum16), statistics from the
// unrounded sum; the output rounded to bf16 in place (out) and copied to out16.
void add_layernorm_forward_bf16(float* out, uint16_t* out16, uint16_t* sum16, float* mean,
                                float* rstd, const uint16_t* dense16, const Dropout& drop,
                                const float* residual, const float* gamma, const float* beta, int B,
                                int S, int C, double eps);
// layernorm_backward reading its saved input in bf16.
void layernorm_backward_bf16(float* dx, float* dgamma, float* dbeta, const float* dout,
                             const uint16_t* x16, const float* mean, const float* rstd,
                             const float* gamma, int N, int C);

}  // namespace bertrain::cuda
