// The regression loss: mean squared error over n values (torch's MSELoss, reduction "mean").
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=).
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// Writes mean((x - y)^2) over the n values to the one double at `loss` (device memory); null
// targets write 0.
template <typename T>
void mse_forward(double* loss, const T* x, const float* targets, int64_t n);
// dx = 2 (x - y) * scale / n.
template <typename T>
void mse_backward(T* dx, const T* x, const float* targets, int64_t n, double scale);

}  // namespace bertrain::cpu
