#include "kernels/cpu/attention_bf16.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/arena.h"
#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/vec_math.h"

namespace bertrain::cpu {

namespace {

// The shapes of one batch row's batched GEMMs, as (trans_a, trans_b, M, N, K, bf16 output):
// Q K^T (written in bf16); P V and dS K; P'^T dC and dS^T Q; dC V^T (written in bf16, as
// autocast's matmul backward returns it).
struct HeadGemm {
  bool ta, tb;
  int M, N, K;
  bool out16;
};
std::array<HeadGemm, 4> head_gemms(int S, int D) {
  return {{{false, true, S, S, D, true},
           {false, false, S, D, S, false},
           {true, false, S, D, S, false},
           {false, true, S, S, D, true}}};
}

// One batch row's scratch, carved from the caller's block (or, without one, only sized): the
// scores (forward) or the probabilities' gradient (backward) in bf16 in one block, the dropped
// probabilities (or the score gradient) in bf16, the per-head context (or dQ | dK | dV) in fp32,
// the context gradient in bf16, and the GEMMs' own scratch.
struct Scratch {
  uint16_t* scores16;
  uint16_t* dp16;
  uint16_t* p16;
  float* heads;
  uint16_t* dctx16;
  GemmScratch gemm;
  size_t bytes;

  Scratch(std::byte* base, int S, int nh, int D) {
    const size_t SS = static_cast<size_t>(nh) * S * S, SD = static_cast<size_t>(nh) * S * D;
    size_t gemm_bytes = 0;
    for (const HeadGemm& g : head_gemms(S, D))
      gemm_bytes = std::max(
          gemm_bytes, gemm_bf16_batched_scratch_bytes(nh, g.ta, g.tb, g.M, g.N, g.K, g.out16));
    Carver c(base);
    dp16 = c.take<uint16_t>(SS);
    scores16 = dp16;  // forward's use of the same block
    p16 = c.take<uint16_t>(SS);
    heads = c.take<float>(3 * SD);
    dctx16 = c.take<uint16_t>(SD);
    gemm = {c.take<std::byte>(gemm_bytes), gemm_bytes};
    bytes = c.used();
  }
};

// Softmax of one row of bf16 scores, s / sqrt(D) + (mask ? 0 : finfo.min) (multiplied by
// 1 / sqrt(D): next to the scores' bf16 rounding the last bit of the division does not matter),
// into bf16 probabilities p. The scaled scores are formed from the bf16 row in each pass (max,
// exponentials, normalised write) rather than stored in fp32; the exponentials stay in a
// buffer on the stack up to kStackRow keys and are computed again beyond.
constexpr int kStackRow = 1024;
inline void softmax_row_bf16(uint16_t* p, const uint16_t* s, const int32_t* mask, int S,
                             float inv_sqrt_d) {
  const float masked = std::numeric_limits<float>::lowest();
  auto x = [&](int j) { return bf16_to_float(s[j]) * inv_sqrt_d + (mask[j] ? 0.0f : masked); };
  float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < S; ++j) mx = std::max(mx, x(j));
  float sum = 0;
  if (S <= kStackRow) {  // keep the exponentials: one exp per element
    alignas(64) float e[kStackRow];
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < S; ++j) {
      e[j] = exp_fast(x(j) - mx);
      sum += e[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < S; ++j) p[j] = float_to_bf16(e[j] * inv);
    return;
  }
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < S; ++j) sum += exp_fast(x(j) - mx);
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int j = 0; j < S; ++j) p[j] = float_to_bf16(exp_fast(x(j) - mx) * inv);
}

// The dropped probabilities of one row: keep(i*S + j) ? bf16(p * scale) : 0, the same draws as
// attention.cpp's (element index within the head).
inline void dropped_row(uint16_t* out, const uint16_t* p16, int S, ElementMask keep, float scale) {
#pragma omp simd
  for (int j = 0; j < S; ++j)
    out[j] = keep.keep(j) ? float_to_bf16(bf16_to_float(p16[j]) * scale) : uint16_t(0);
}

// Gathers the S x D matrix of every head h of a [S, H]-row tensor (row stride ld) into the
// dense head-major block [nh, S, D], in bf16 (rounding fp32 rows).
inline uint16_t as_bf16(float v) {
  return float_to_bf16(v);
}
inline uint16_t as_bf16(uint16_t v) {
  return v;
}
template <typename Row>
void to_heads(uint16_t* heads, const Row* rows, int ld, int S, int nh, int D) {
  parallel_for(
      S,
      [&](int64_t s) {
        for (int h = 0; h < nh; ++h) {
          const Row* src = rows + s * ld + h * D;
          uint16_t* dst = heads + (static_cast<int64_t>(h) * S + s) * D;
#pragma omp simd
          for (int d = 0; d < D; ++d) dst[d] = as_bf16(src[d]);
        }
      },
      static_cast<int64_t>(nh) * D);
}

// ds = p * (dp - sum(dp * p)) / sqrt(D) over one row, all in bf16.
inline void softmax_backward_row_bf16(uint16_t* ds, const uint16_t* dp, const uint16_t* p, int S,
                                      float inv_sqrt_d) {
  float dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int j = 0; j < S; ++j) dot += bf16_to_float(dp[j]) * bf16_to_float(p[j]);
#pragma omp simd
  for (int j = 0; j < S; ++j)
    ds[j] = float_to_bf16(bf16_to_float(p[j]) * (bf16_to_float(dp[j]) - dot) * inv_sqrt_d);
}

// The same through dropout, over the row's dropped probabilities, which it overwrites (each
// element read before it is written): dp is the gradient of the dropped probabilities, so
// d(p) = kept ? dp * scale : 0.
inline void softmax_backward_dropped_row_bf16(uint16_t* dropped_then_ds, const uint16_t* dp,
                                              const uint16_t* p, int S, float keep_scale,
                                              float inv_sqrt_d) {
  uint16_t* ds = dropped_then_ds;
  float dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int j = 0; j < S; ++j) {
    const float g = ds[j] != 0 ? bf16_to_float(dp[j]) * keep_scale : 0.0f;
    dot += g * bf16_to_float(p[j]);
  }
#pragma omp simd
  for (int j = 0; j < S; ++j) {
    const float g = ds[j] != 0 ? bf16_to_float(dp[j]) * keep_scale : 0.0f;
    ds[j] = float_to_bf16(bf16_to_float(p[j]) * (g - dot) * inv_sqrt_d);
  }
}

}  // namespace

void qkv_to_heads_bf16(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh, int D) {
  const int H = nh * D;
  const int64_t part = static_cast<int64_t>(B) * nh * S * D;  // Q, K or V of every row
  for (int b = 0; b < B; ++b)
    for (int which = 0; which < 3; ++which)
      to_heads(qkv16 + which * part + static_cast<int64_t>(b) * nh * S * D,
               rows16 + static_cast<int64_t>(b) * S * 3 * H + which * H, 3 * H, S, nh, D);
}

size_t attention_bf16_scratch_bytes(int S, int nh, int D) {
  return Scratch(nullptr, S, nh, D).bytes;
}

void attention_forward_bf16(uint16_t* ctx16, uint16_t* probs16, const uint16_t* qkv16,
                            const int32_t* mask, int B, int S, int nh, int D, const Dropout& drop,
                            std::byte* scratch) {
  const int H = nh * D;
  const int64_t SS = static_cast<int64_t>(S) * S, SD = static_cast<int64_t>(S) * D;
  const int64_t part = B * nh * SD;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  const DropoutMask drop_mask(drop);
  Scratch w(scratch, S, nh, D);
  for (int b = 0; b < B; ++b) {
    const uint16_t* q = qkv16 + b * nh * SD;
    const uint16_t *k = q + part, *v = q + 2 * part;
    uint16_t* p16 = probs16 + b * nh * SS;
    const int32_t* m = mask + static_cast<int64_t>(b) * S;
    gemm_bf16_batched(nh, false, true, S, S, D, q, k, w.scores16, w.gemm);
    parallel_for(
        static_cast<int64_t>(nh) * S,
        [&](int64_t r) {  // r = h * S + i
          uint16_t* saved = p16 + r * S;
          softmax_row_bf16(saved, w.scores16 + r * S, m, S, inv_sqrt_d);
          if (drop.p > 0)
            dropped_row(w.p16 + r * S, saved, S, drop_mask.attention_row(b, r / S, r % S),
                        keep_scale);
        },
        4 * S);
    gemm_bf16_batched(nh, false, false, S, D, S, drop.p > 0 ? w.p16 : p16, v, w.heads, w.gemm);
    parallel_for(
        S,
        [&](int64_t s) {
          uint16_t* out = ctx16 + (b * static_cast<int64_t>(S) + s) * H;
          for (int h = 0; h < nh; ++h) {
            const float* src = w.heads + (h * static_cast<int64_t>(S) + s) * D;
#pragma omp simd
            for (int d = 0; d < D; ++d) out[h * D + d] = float_to_bf16(src[d]);
          }
        },
        H);
  }
}

void attention_backward_bf16(float* dqkv, const float* dctx, const uint16_t* qkv16,
                             const uint16_t* probs16, int B, int S, int nh, int D,
                             const Dropout& drop, std::byte* scratch) {
  const int H = nh * D;
  const int64_t SS = static_cast<int64_t>(S) * S, SD = static_cast<int64_t>(S) * D;
  const int64_t part = B * nh * SD;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  const DropoutMask drop_mask(drop);
  Scratch w(scratch, S, nh, D);
  float *dq = w.heads, *dk = dq + nh * SD, *dv = dk + nh * SD;
  for (int b = 0; b < B; ++b) {
    const uint16_t* q = qkv16 + b * nh * SD;
    const uint16_t *k = q + part, *v = q + 2 * part;
    const uint16_t* p16 = probs16 + b * nh * SS;
    to_heads(w.dctx16, dctx + static_cast<int64_t>(b) * S * H, H, S, nh, D);
    if (drop.p > 0)
      parallel_for(
          static_cast<int64_t>(nh) * S,
          [&](int64_t r) {
            dropped_row(w.p16 + r * S, p16 + r * S, S, drop_mask.attention_row(b, r / S, r % S),
                        keep_scale);
          },
          2 * S);
    // dV = P'^T dctx ; dP' = dctx V^T
    gemm_bf16_batched(nh, true, false, S, D, S, drop.p > 0 ? w.p16 : p16, w.dctx16, dv, w.gemm);
    gemm_bf16_batched(nh, false, true, S, S, D, w.dctx16, v, w.dp16, w.gemm);
    // dS = softmax backward of dP (through dropout) / sqrt(D), in bf16 for the GEMMs, written
    // over the dropped probabilities (each element read before it is written). The dropout
    // mask is read off those instead of drawn again: P' = 0 exactly where an element was
    // dropped or p = 0 (a nonzero bf16 p times scale > 1 stays nonzero), and where p = 0
    // neither dS nor the dot product depends on dP.
    parallel_for(
        static_cast<int64_t>(nh) * S,
        [&](int64_t r) {
          const uint16_t* dp = w.dp16 + r * S;
          const uint16_t* p = p16 + r * S;
          uint16_t* ds = w.p16 + r * S;
          if (drop.p > 0)
            softmax_backward_dropped_row_bf16(ds, dp, p, S, keep_scale, inv_sqrt_d);
          else
            softmax_backward_row_bf16(ds, dp, p, S, inv_sqrt_d);
        },
        4 * S);
    // dQ = dS K ; dK = dS^T Q
    gemm_bf16_batched(nh, false, false, S, D, S, w.p16, k, dq, w.gemm);
    gemm_bf16_batched(nh, true, false, S, D, S, w.p16, q, dk, w.gemm);
    parallel_for(
        S,
        [&](int64_t s) {
          float* out = dqkv + (b * static_cast<int64_t>(S) + s) * 3 * H;
          for (int which = 0; which < 3; ++which)
            for (int h = 0; h < nh; ++h) {
              const float* src = w.heads + ((which * nh + h) * static_cast<int64_t>(S) + s) * D;
              std::copy_n(src, D, out + which * H + h * D);
            }
        },
        3 * H);
  }
}

}  // namespace bertrain::cpu
