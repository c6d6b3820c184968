// Multi-head self-attention on bf16 GEMMs (--bf16 on a CPU with bf16 units): the maths of
// attention.h's kernels with torch autocast's roundings. Q, K, V, the dropped probabilities,
// the context gradient and the score gradient enter the GEMMs in bf16, the GEMMs accumulate
// in fp32, and the softmax and its backward run in fp32. The scores Q K^T leave their GEMM in
// bf16, as autocast's bmm gives them (at S = 512 that GEMM is bound by writing its output:
// 1.7x faster than writing fp32); the probability gradient stays fp32, the input of the
// softmax backward's cancellation.
//
// Layouts. qkv16 is head-major [3, B, nh, S, D]: Q, K and V of each (batch row, head) are
// dense S x D matrices, the only layout oneDNN's AMX kernels take (with row strides it falls
// back to a path 2-4x slower). probs16 [B, nh, S, S] is the softmax output in bf16, saved for
// backward (pre-dropout, as attention.h saves it). ctx16 [B, S, H] is the context in bf16,
// heads side by side as the attention-output GEMM reads it; dqkv and dctx are fp32 [B, S, 3H]
// and [B, S, H].
//
// The kernels work one batch row at a time (all heads in one batched GEMM), so their scratch
// is independent of B.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cpu {

// The QKV GEMM's bf16 output [B, S, 3H] to head-major.
void qkv_to_heads_bf16(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh, int D);

// Bytes of scratch attention_forward_bf16 / attention_backward_bf16 need.
size_t attention_bf16_scratch_bytes(int S, int nh, int D);

void attention_forward_bf16(uint16_t* ctx16, uint16_t* probs16, const uint16_t* qkv16,
                            const int32_t* mask, int B, int S, int nh, int D, const Dropout& drop,
                            std::byte* scratch);

void attention_backward_bf16(float* dqkv, const float* dctx, const uint16_t* qkv16,
                             const uint16_t* probs16, int B, int S, int nh, int D,
                             const Dropout& drop, std::byte* scratch);

}  // namespace bertrain::cpu
