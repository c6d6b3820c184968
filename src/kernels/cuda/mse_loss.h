// Mean squared error on the CUDA backend: twin of kernels/cpu/mse_loss.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

// Writes mean((x - y)^2) over the n values to *loss (device); null targets write 0.
void mse_forward(double* loss, const float* x, const float* targets, int64_t n);
// dx = 2 (x - y) * scale / n.
void mse_backward(float* dx, const float* x, const float* targets, int64_t n, double scale);

}  // namespace bertrain::cuda
