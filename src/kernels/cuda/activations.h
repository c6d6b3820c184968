// GELU (exact, erf) and tanh on the CUDA backend: twins of kernels/cpu/activations.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

void gelu_forward(float* out, const float* x, int64_t n);
void gelu_backward(float* dx, const float* x, const float* dout, int64_t n);
// The bf16 path: GELU of the bf16 FFN pre-activation into bf16; its backward over [N, C] writes
// dx in bf16 (the next GEMM's input) and adds its fp32 column sums into dbias (the CPU twin's
// scratch is not used here).
void gelu_forward_bf16(uint16_t* out16, const uint16_t* x16, int64_t n);
void gelu_backward_bf16(uint16_t* dx16, float* dbias, const uint16_t* x16, const float* dout, int N,
                        int C, float* partials);
void tanh_forward(float* out, const float* x, int64_t n);
void tanh_backward(float* dx, const float* y, const float* dout, int64_t n);

}  // namespace bertrain::cuda
