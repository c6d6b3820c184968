// Softmax cross-entropy over rows of logits on the CUDA backend: twin of
// kernels/cpu/cross_entropy.h (labels -100 ignored; null labels: probabilities only).
#pragma once

#include <cstdint>

namespace bertrain::cuda {

// Writes the probabilities, and the mean loss over counted rows (0 when none) to *loss (device).
// With label smoothing eps, (1 - eps) NLL + eps mean_c(-log p_c) per row.
void cross_entropy_forward(float* probs, double* loss, const float* logits, const int32_t* labels,
                           int N, int L, double smoothing);
// dlogits = (probs - (1 - eps) onehot(label) - eps / L) * scale / count.
void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* labels, int N, int L,
                            double scale, double smoothing);

}  // namespace bertrain::cuda
