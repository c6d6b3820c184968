// Multi-head self-attention on bf16 GEMMs for the CUDA backend: twin of
// kernels/cpu/attention_bf16.h, with its layouts (qkv16 head-major [3, B, nh, S, D], probs16
// [B, nh, S, S] pre-dropout, ctx16 [B, S, H]; dqkv and dctx fp32 rows) and its roundings (scores
// leave their GEMM in bf16, the probability gradient stays fp32). One batch row at a time, all its
// heads in one batched GEMM, so the scratch does not depend on B.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

void qkv_to_heads_bf16(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh, int D);
size_t attention_bf16_scratch_bytes(int S, int nh, int D);
void attention_forward_bf16(uint16_t* ctx16, uint16_t* probs16, const uint16_t* qkv16,
                            const int32_t* mask, int B, int S, int nh, int D, const Dropout& drop,
                            std::byte* scratch);
void attention_backward_bf16(float* dqkv, const float* dctx, const uint16_t* qkv16,
                             const uint16_t* probs16, int B, int S, int nh, int D,
                             const Dropout& drop, std::byte* scratch);

}  // namespace bertrain::cuda
