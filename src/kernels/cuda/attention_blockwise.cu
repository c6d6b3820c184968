#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_rows.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kQueryBlock = 64;
constexpr int kRowsPerBlock = 8;  // one warp per row

// The block's score rows, `rows` per head for `count` heads (head stride Br * S): softmax in
// place, each row's log-sum-exp saved, then the row dropped in place (the element index within
// the head is (i0 + r) * S + j, as the standard kernel's).
__global__ void block_softmax_kernel(float* p, float* lse, const int32_t* mask, int count, int rows,
                                     int Br, int S, int64_t bh0, int i0, float sqrt_d, int nh,
                                     DropoutMask drop_mask, bool drop, float keep_scale) {
  const int64_t all = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (all >= static_cast<int64_t>(count) * rows) return;
  const int64_t h = all / rows;
  const int r = static_cast<int>(all % rows);
  float* row = p + (h * Br + r) * S;
  const float l = softmax_row(row, mask, S, sqrt_d, threadIdx.x);
  if (threadIdx.x == 0) lse[(bh0 + h) * S + i0 + r] = l;
  if (!drop) return;
  const ElementMask keep = drop_mask.head_row(bh0 + h, nh, i0 + r);
  for (int j = threadIdx.x; j < S; j += kWarp) row[j] = keep.keep(j) ? row[j] * keep_scale : 0.0f;
}

// Recomputes the block's probabilities from the saved log-sum-exp: p = exp(score - lse), and
// dropped = dropout(p) (or p).
__global__ void block_recompute_kernel(float* p, float* dropped, const float* lse,
                                       const int32_t* mask, int count, int rows, int Br, int S,
                                       int64_t bh0, int i0, float sqrt_d, int nh,
                                       DropoutMask drop_mask, bool drop, float keep_scale) {
  const int64_t all = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (all >= static_cast<int64_t>(count) * rows) return;
  const int64_t h = all / rows;
  const int r = static_cast<int>(all % rows);
  const int64_t off = (h * Br + r) * S;
  const float l = lse[(bh0 + h) * S + i0 + r];
  const ElementMask keep = drop_mask.head_row(bh0 + h, nh, i0 + r);
  for (int j = threadIdx.x; j < S; j += kWarp) {
    const float v = expf(scaled_score(p[off + j], mask[j], sqrt_d) - l);
    p[off + j] = v;
    dropped[off + j] = drop && !keep.keep(j) ? 0.0f : v * keep_scale;
  }
}

// The block's score gradient: dp = softmax backward of dropout(dp), per row.
__global__ void block_softmax_backward_kernel(float* dp, const float* p, int count, int rows,
                                              int Br, int S, int64_t bh0, int i0, int nh,
                                              DropoutMask drop_mask, bool drop, float keep_scale,
                                              float inv_sqrt_d) {
  const int64_t all = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (all >= static_cast<int64_t>(count) * rows) return;
  const int64_t h = all / rows;
  const int r = static_cast<int>(all % rows);
  const int64_t off = (h * Br + r) * S;
  softmax_backward_row(dp + off, p + off, S, drop_mask.head_row(bh0 + h, nh, i0 + r), drop,
                       keep_scale, inv_sqrt_d, threadIdx.x);
}

dim3 grid_rows(int64_t rows) {
  return dim3(blocks_for(rows, kRowsPerBlock));
}

}  // namespace

int64_t attention_blockwise_scratch_size(int S, int slots) {
  return static_cast<int64_t>(slots) * 2 * std::min(S, kQueryBlock) * S;
}

void attention_forward_blockwise(float* ctx, float* lse, const float* qkv, const int32_t* mask,
                                 int B, int S, int nh, int D, const Dropout& drop, float* scratch) {
  const int H = nh * D, ld = 3 * H, Br = std::min(S, kQueryBlock),
            slots = attention_scratch_slots();
  const float sqrt_d = std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  const int64_t BS = static_cast<int64_t>(Br) * S;
  const dim3 warps(kWarp, kRowsPerBlock);
  for (int b = 0; b < B; ++b) {
    const float* base = qkv + static_cast<int64_t>(b) * S * ld;
    const int32_t* m = mask + static_cast<int64_t>(b) * S;
    for (int h0 = 0; h0 < nh; h0 += slots) {
      const int count = std::min(slots, nh - h0);
      const int64_t bh0 = static_cast<int64_t>(b) * nh + h0;
      const float *q = base + h0 * D, *k = q + H, *v = q + 2 * H;
      for (int i0 = 0; i0 < S; i0 += Br) {
        const int rows = std::min(Br, S - i0);
        gemm(false, true, rows, S, D, 1.0f, q + static_cast<int64_t>(i0) * ld, ld, k, ld, 0.0f,
             scratch, S, {count, D, D, BS});
        block_softmax_kernel<<<grid_rows(static_cast<int64_t>(count) * rows), warps, 0, stream()>>>(
            scratch, lse, m, count, rows, Br, S, bh0, i0, sqrt_d, nh, DropoutMask(drop), drop.p > 0,
            keep_scale);
        check_launch("memory-efficient attention softmax");
        gemm(false, false, rows, D, S, 1.0f, scratch, S, v, ld, 0.0f,
             ctx + (static_cast<int64_t>(b) * S + i0) * H + h0 * D, H, {count, BS, D, D});
      }
    }
  }
}

void attention_backward_blockwise(float* dqkv, const float* dctx, const float* qkv,
                                  const float* lse, const int32_t* mask, int B, int S, int nh,
                                  int D, const Dropout& drop, float* scratch) {
  const int H = nh * D, ld = 3 * H, Br = std::min(S, kQueryBlock),
            slots = attention_scratch_slots();
  const float sqrt_d = std::sqrt(static_cast<float>(D)), inv_sqrt_d = 1.0f / sqrt_d;
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  const int64_t BS = static_cast<int64_t>(Br) * S;
  float* p = scratch;                // [slots, Br, S]: probabilities
  float* dp = scratch + slots * BS;  // [slots, Br, S]: dropped, then the score gradient
  const dim3 warps(kWarp, kRowsPerBlock);
  for (int b = 0; b < B; ++b) {
    const int32_t* m = mask + static_cast<int64_t>(b) * S;
    for (int h0 = 0; h0 < nh; h0 += slots) {
      const int count = std::min(slots, nh - h0);
      const int64_t bh0 = static_cast<int64_t>(b) * nh + h0;
      const int64_t off = static_cast<int64_t>(b) * S * ld + h0 * D;
      const float *q = qkv + off, *k = q + H, *v = q + 2 * H;
      float *dq = dqkv + off, *dk = dq + H, *dv = dq + 2 * H;
      // dK and dV accumulate over the query blocks: start them at zero (the heads' columns).
      for (float* d : {dk, dv})
        check(cudaMemset2DAsync(d, ld * sizeof(float), 0, count * D * sizeof(float), S, stream()),
              "memory-efficient attention (zero dK, dV)");
      for (int i0 = 0; i0 < S; i0 += Br) {
        const int rows = std::min(Br, S - i0);
        const float* qb = q + static_cast<int64_t>(i0) * ld;
        const float* dob = dctx + (static_cast<int64_t>(b) * S + i0) * H + h0 * D;
        const int64_t block_rows = static_cast<int64_t>(count) * rows;
        gemm(false, true, rows, S, D, 1.0f, qb, ld, k, ld, 0.0f, p, S, {count, D, D, BS});
        block_recompute_kernel<<<grid_rows(block_rows), warps, 0, stream()>>>(
            p, dp, lse, m, count, rows, Br, S, bh0, i0, sqrt_d, nh, DropoutMask(drop), drop.p > 0,
            keep_scale);
        check_launch("memory-efficient attention (recompute)");
        gemm(true, false, S, D, rows, 1.0f, dp, S, dob, H, 1.0f, dv, ld, {count, BS, D, D});
        gemm(false, true, rows, S, D, 1.0f, dob, H, v, ld, 0.0f, dp, S, {count, D, D, BS});
        block_softmax_backward_kernel<<<grid_rows(block_rows), warps, 0, stream()>>>(
            dp, p, count, rows, Br, S, bh0, i0, nh, DropoutMask(drop), drop.p > 0, keep_scale,
            inv_sqrt_d);
        check_launch("memory-efficient attention softmax backward");
        gemm(false, false, rows, D, S, 1.0f, dp, S, k, ld, 0.0f, dq + static_cast<int64_t>(i0) * ld,
             ld, {count, BS, D, D});
        gemm(true, false, S, D, rows, 1.0f, dp, S, qb, ld, 1.0f, dk, ld, {count, BS, D, D});
      }
    }
  }
}

}  // namespace bertrain::cuda
