// Multi-head self-attention core on the CUDA backend, standard form (twin of
// kernels/cpu/attention.h): batched cuBLASLt GEMMs over a batch row's heads and fused row
// kernels for scale + mask + softmax and for the dropout + softmax backward. The probabilities
// [B, nh, S, S] are kept (before dropout); the dropout masks are the CPU's.
#pragma once

#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

// Heads processed at once; the scratch holds two [S, S] matrices per slot.
int attention_scratch_slots();
int64_t attention_scratch_size(int S, int slots);

void attention_forward(float* ctx, float* probs, const float* qkv, const int32_t* mask, int B,
                       int S, int nh, int D, const Dropout& drop, float* scratch);
void attention_backward(float* dqkv, const float* dctx, const float* qkv, const float* probs, int B,
                        int S, int nh, int D, const Dropout& drop, float* scratch);

// Memory-efficient attention (attention_blockwise.cu, twin of the CPU's): no [B, nh, S, S]
// probabilities are kept, only each row's log-sum-exp [B, nh, S]; queries go in blocks of 64
// rows against all keys, heads of a batch row together, and backward recomputes the
// probabilities from the log-sum-exp. Scratch: two [64, S] blocks per slot.
int64_t attention_blockwise_scratch_size(int S, int slots);
void attention_forward_blockwise(float* ctx, float* lse, const float* qkv, const int32_t* mask,
                                 int B, int S, int nh, int D, const Dropout& drop, float* scratch);
void attention_backward_blockwise(float* dqkv, const float* dctx, const float* qkv,
                                  const float* lse, const int32_t* mask, int B, int S, int nh,
                                  int D, const Dropout& drop, float* scratch);

}  // namespace bertrain::cuda
