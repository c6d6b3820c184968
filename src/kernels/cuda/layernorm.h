// LayerNorm (plain and residual-fused) on the CUDA backend: twins of kernels/cpu/layernorm.h.
// Statistics in fp32 as torch computes them; one warp per row. The parameter gradients are
// column sums in row order (deterministic).
#pragma once

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

}  // namespace bertrain::cuda
