// The multi-label loss: binary cross-entropy on logits over n values (torch's
// BCEWithLogitsLoss, reduction "mean"), each value an independent class.
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=).
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// Writes probs = sigmoid(x), and mean(max(x, 0) - x y + log(1 + exp(-|x|))) over the n values
// to the one double at `loss` (device memory); null targets compute only the probabilities.
template <typename T>
void bce_forward(T* probs, double* loss, const T* x, const float* targets, int64_t n);
// dx = (probs - y) * scale / n.
template <typename T>
void bce_backward(T* dx, const T* probs, const float* targets, int64_t n, double scale);

}  // namespace bertrain::cpu
