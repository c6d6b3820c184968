// GELU (exact, erf) and tanh on the CUDA backend: twins of kernels/cpu/activations.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

void gelu_forward(float* out, const float* x, int64_t n);
void gelu_backward(float* dx, const float* x, const float* dout, int64_t n);
// The bf16 path: GELU of the bf16 FFN pre-activation into bf16; its backward writes dx in fp32
// and in bf16 (the next GEMM's input).
void gelu_forward_bf16(uint16_t* out16, const uint16_t* x16, int64_t n);
void gelu_backward_bf16(float* dx, uint16_t* dx16, const uint16_t* x16, const float* dout,
                        int64_t n);
void tanh_forward(float* out, const float* x, int64_t n);
void tanh_backward(float* dx, const float* y, const float* dout, int64_t n);

}  // namespace bertrain::cuda
