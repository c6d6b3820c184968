// Binary cross-entropy on logits on the CUDA backend: twin of kernels/cpu/bce_loss.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

// Writes probs = sigmoid(x), and the mean stable BCE over the n values to *loss (device); null
// targets compute only the probabilities.
void bce_forward(float* probs, double* loss, const float* x, const float* targets, int64_t n);
// dx = (probs - y) * scale / n.
void bce_backward(float* dx, const float* probs, const float* targets, int64_t n, double scale);

}  // namespace bertrain::cuda
