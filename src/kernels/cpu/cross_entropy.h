// The classification loss: softmax cross-entropy over rows of logits.
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// Cross-entropy over N rows of L logits. Labels equal to -100 are ignored (as torch does);
// null labels compute only the probabilities. With label smoothing eps (HF Trainer's
// LabelSmoother) a row's loss is (1 - eps) (-log p_label) + eps mean_c(-log p_c).
// Writes softmax probabilities, and the mean loss over counted rows (0 when none) to the one
// double at `loss` (device memory, so that a GPU step reads it back only when it syncs).
template <typename T>
void cross_entropy_forward(T* probs, double* loss, const T* logits, const int32_t* labels, int N,
                           int L, double smoothing);
// dlogits = (probs - (1 - eps) onehot(label) - eps / L) * scale / count.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const int32_t* labels, int N, int L,
                            double scale, double smoothing);

}  // namespace bertrain::cpu
