#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_rows.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/warp.cuh"
#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // one warp per row
constexpr int kSlots = 16;

// Row `row` of the B * nh * S score rows: p = softmax(p / sqrt(D) + (mask ? 0 : float min)).
__global__ void scale_mask_softmax_kernel(float* probs, const int32_t* mask, int64_t rows, int S,
                                          int nh, float sqrt_d) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (row >= rows) return;
  softmax_row(probs + row * S, mask + (row / S / nh) * S, S, sqrt_d, threadIdx.x);
}

// dropped[h] = dropout(probs[h]) for `count` heads starting at head bh0 (of nh a batch row).
__global__ void dropout_heads_kernel(float* dropped, const float* probs, int S, int count,
                                     int64_t bh0, int nh, DropoutMask mask, float scale) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(S) * S * count) return;
  const int64_t row = i / S;  // over the heads' query rows
  const bool keep = mask.head_row(bh0 + row / S, nh, row % S).keep(i % S);
  dropped[i] = keep ? probs[i] * scale : 0.0f;
}

// For `count` heads from bh0: dp = dropout(dp) (the forward's mask), then the softmax backward
// with the 1/sqrt(D) scale. One warp per row.
__global__ void softmax_backward_kernel(float* dp, const float* probs, int S, int count,
                                        int64_t bh0, int nh, DropoutMask mask, bool drop,
                                        float keep_scale, float inv_sqrt_d) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (row >= static_cast<int64_t>(count) * S) return;
  const int64_t h = row / S, i = row % S;
  softmax_backward_row(dp + row * S, probs + row * S, S, mask.head_row(bh0 + h, nh, i), drop,
                       keep_scale, inv_sqrt_d, threadIdx.x);
}

}  // namespace

int attention_scratch_slots() {
  return kSlots;
}

int64_t attention_scratch_size(int S, int slots) {
  return static_cast<int64_t>(slots) * 2 * S * S;
}

void attention_forward(float* ctx, float* probs, const float* qkv, const int32_t* mask, int B,
                       int S, int nh, int D, const Dropout& drop, float* scratch) {
  const int H = nh * D, ld = 3 * H;
  const int64_t SS = static_cast<int64_t>(S) * S;
  // Scores: P[b, h] = Q_h K_h^T, the heads of a batch row in one batched GEMM.
  for (int b = 0; b < B; ++b) {
    const float* q = qkv + static_cast<int64_t>(b) * S * ld;
    gemm(false, true, S, S, D, 1.0f, q, ld, q + H, ld, 0.0f, probs + b * nh * SS, S,
         {nh, D, D, SS});
  }
  const int64_t rows = static_cast<int64_t>(B) * nh * S;
  scale_mask_softmax_kernel<<<blocks_for(rows, kRowsPerBlock), dim3(kWarp, kRowsPerBlock), 0,
                              stream()>>>(probs, mask, rows, S, nh,
                                          std::sqrt(static_cast<float>(D)));
  check_launch("attention softmax");
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  for (int b = 0; b < B; ++b) {
    const float* v = qkv + static_cast<int64_t>(b) * S * ld + 2 * H;
    for (int h0 = 0; h0 < nh; h0 += kSlots) {
      const int count = std::min(kSlots, nh - h0);
      const int64_t bh0 = static_cast<int64_t>(b) * nh + h0;
      const float* pv = probs + bh0 * SS;
      if (drop.p > 0) {
        dropout_heads_kernel<<<blocks_for(SS * count, 256), 256, 0, stream()>>>(
            scratch, pv, S, count, bh0, nh, DropoutMask(drop), keep_scale);
        check_launch("attention dropout");
        pv = scratch;
      }
      gemm(false, false, S, D, S, 1.0f, pv, S, v + h0 * D, ld, 0.0f,
           ctx + static_cast<int64_t>(b) * S * H + h0 * D, H, {count, SS, D, D});
    }
  }
}

void attention_backward(float* dqkv, const float* dctx, const float* qkv, const float* probs, int B,
                        int S, int nh, int D, const Dropout& drop, float* scratch) {
  const int H = nh * D, ld = 3 * H;
  const int64_t SS = static_cast<int64_t>(S) * S;
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  float* pd = scratch;                // dropped probabilities, [kSlots, S, S]
  float* dp = scratch + kSlots * SS;  // their gradient, then the scores' gradient
  for (int b = 0; b < B; ++b) {
    for (int h0 = 0; h0 < nh; h0 += kSlots) {
      const int count = std::min(kSlots, nh - h0);
      const int64_t bh0 = static_cast<int64_t>(b) * nh + h0;
      const int64_t off = static_cast<int64_t>(b) * S * ld + h0 * D;
      const float *q = qkv + off, *k = q + H, *v = q + 2 * H;
      float *dq = dqkv + off, *dk = dq + H, *dv = dq + 2 * H;
      const float* p = probs + bh0 * SS;
      const float* dc = dctx + static_cast<int64_t>(b) * S * H + h0 * D;
      const float* pv = p;
      if (drop.p > 0) {
        dropout_heads_kernel<<<blocks_for(SS * count, 256), 256, 0, stream()>>>(
            pd, p, S, count, bh0, nh, DropoutMask(drop), keep_scale);
        check_launch("attention dropout (backward)");
        pv = pd;
      }
      const GemmBatch heads_pd{count, SS, D, D};
      // dV = P'^T dctx ; dP' = dctx V^T
      gemm(true, false, S, D, S, 1.0f, pv, S, dc, H, 0.0f, dv, ld, heads_pd);
      gemm(false, true, S, S, D, 1.0f, dc, H, v, ld, 0.0f, dp, S, {count, D, D, SS});
      const int64_t rows = static_cast<int64_t>(count) * S;
      softmax_backward_kernel<<<blocks_for(rows, kRowsPerBlock), dim3(kWarp, kRowsPerBlock), 0,
                                stream()>>>(dp, p, S, count, bh0, nh, DropoutMask(drop), drop.p > 0,
                                            keep_scale, inv_sqrt_d);
      check_launch("attention softmax backward");
      // dQ = dS K ; dK = dS^T Q
      gemm(false, false, S, D, S, 1.0f, dp, S, k, ld, 0.0f, dq, ld, heads_pd);
      gemm(true, false, S, D, S, 1.0f, dp, S, q, ld, 0.0f, dk, ld, heads_pd);
    }
  }
}

}  // namespace bertrain::cuda
