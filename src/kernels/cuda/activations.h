// GELU (exact, erf) and tanh on the CUDA backend: twins of kernels/cpu/activations.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

void gelu_forward(float* out, const float* x, int64_t n);
void gelu_backward(float* dx, const float* x, const float* dout, int64_t n);
void tanh_forward(float* out, const float* x, int64_t n);
void tanh_backward(float* dx, const float* y, const float* dout, int64_t n);

}  // namespace bertrain::cuda
