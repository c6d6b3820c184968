// What an encoder layer keeps for backward: one row per tensor with its size and its storage
// under mixed precision. The model lays its activation memory out from this list (so the
// memory plan, and with it `bertrain memory`, walks it too), and walks it again to keep and
// restore a layer's tensors around backward.
#pragma once

#include <cstddef>

#include "model/bert_config.h"

namespace bertrain::saved {

enum Id : int {
  qkv,    // the QKV GEMM's output [N, 3H] (bf16 attention keeps it head-major)
  probs,  // softmax output, pre-dropout [B, heads, S, S] (standard attention)
  lse,    // each query row's log-sum-exp [B, heads, S] (memory-efficient attention)
  ctx,    // attention context [N, H]
  sum1,   // attention residual sum, LayerNorm 1's input [N, H]
  h1,     // LayerNorm 1's output [N, H]
  mean1,  // LayerNorm 1's statistics [N]
  rstd1,
  f,      // FFN pre-GELU [N, I]
  g,      // FFN post-GELU [N, I]
  sum2,   // FFN residual sum, LayerNorm 2's input [N, H]
  mean2,  // LayerNorm 2's statistics [N]
  rstd2,
  out,  // the layer's output [N, H]: all that gradient checkpointing keeps
  count
};

// Rows of a tensor: tokens (N = B x S), or query rows of every head (B x heads x S).
enum class Extent { Tokens, Tokens3H, TokensH, TokensI, HeadRows, HeadRowsS };

struct Spec {
  Extent extent;
  bool half;  // kept in 16 bits under mixed precision (else in fp32: statistics)
};

inline constexpr Spec kSpecs[count] = {
    {Extent::Tokens3H, true},   // qkv
    {Extent::HeadRowsS, true},  // probs
    {Extent::HeadRows, false},  // lse
    {Extent::TokensH, true},    // ctx
    {Extent::TokensH, true},    // sum1
    {Extent::TokensH, true},    // h1
    {Extent::Tokens, false},    // mean1
    {Extent::Tokens, false},    // rstd1
    {Extent::TokensI, true},    // f
    {Extent::TokensI, true},    // g
    {Extent::TokensH, true},    // sum2
    {Extent::Tokens, false},    // mean2
    {Extent::Tokens, false},    // rstd2
    {Extent::TokensH, true},    // out
};

// Elements of tensor t for a B x S micro-batch.
inline size_t elements(Id t, const BertConfig& c, int B, int S) {
  const size_t N = static_cast<size_t>(B) * S, H = c.hidden_size;
  const size_t head_rows = N * c.num_attention_heads;
  switch (kSpecs[t].extent) {
    case Extent::Tokens:
      return N;
    case Extent::Tokens3H:
      return N * 3 * H;
    case Extent::TokensH:
      return N * H;
    case Extent::TokensI:
      return N * c.intermediate_size;
    case Extent::HeadRows:
      return head_rows;
    case Extent::HeadRowsS:
      return head_rows * S;
  }
  return 0;
}

}  // namespace bertrain::saved
