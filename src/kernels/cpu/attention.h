// Multi-head self-attention core, batched over (batch, head):
//   P = softmax(Q K^T / sqrt(D) + (1 - mask) * finfo(float32).min),  ctx = dropout(P) V.
// qkv is [B, S, 3H] with Q | K | V side by side and head h at columns h*D .. (h+1)*D - 1 of
// each; ctx is [B, S, H]; probs [B, nh, S, S] is saved (pre-dropout) for backward.
#pragma once

#include <cstdint>

#include "kernels/dropout_mask.h"  // the probabilities' masks: element (h, i, j) of a sample

namespace bertrain::cpu {

// Per-thread scratch the attention kernels need, in elements.
int64_t attention_scratch_size(int S, int threads);

template <typename T>
void attention_forward(T* ctx, T* probs, const T* qkv, const int32_t* mask, int B, int S, int nh,
                       int D, const Dropout& drop, T* scratch);

template <typename T>
void attention_backward(T* dqkv, const T* dctx, const T* qkv, const T* probs, int B, int S, int nh,
                        int D, const Dropout& drop, T* scratch);

// Memory-efficient variants (attention_blockwise.cpp): the same results, but only the
// log-sum-exp of each query row, lse [B, nh, S], is saved; backward recomputes the
// probabilities in blocks of query rows and needs the mask again.
int64_t attention_blockwise_scratch_size(int S, int threads);

template <typename T>
void attention_forward_blockwise(T* ctx, T* lse, const T* qkv, const int32_t* mask, int B, int S,
                                 int nh, int D, const Dropout& drop, T* scratch);

template <typename T>
void attention_backward_blockwise(T* dqkv, const T* dctx, const T* qkv, const T* lse,
                                  const int32_t* mask, int B, int S, int nh, int D,
                                  const Dropout& drop, T* scratch);

}  // namespace bertrain::cpu
