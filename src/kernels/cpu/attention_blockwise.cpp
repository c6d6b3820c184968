// Memory-efficient attention: the same math as attention.cpp, but no [B, heads, S, S]
// probability tensor is kept. Queries are processed in blocks of kQueryBlock rows, each
// against all keys in a per-thread scratch; forward saves only each row's log-sum-exp,
// and backward recomputes the probabilities block by block from it.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_rows.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/gemm.h"

namespace bertrain::cpu {

namespace {

constexpr int kQueryBlock = 64;

// scores[r, j] for query rows i0..i0+rows of head (b, h): Q K^T / sqrt(D) + mask.
template <typename T>
void block_scores(T* s, const T* q, const T* k, const int32_t* m, int rows, int S, int D, int ld) {
  const T sqrt_d = std::sqrt(static_cast<T>(D));
  gemm<T>(false, true, rows, S, D, T(1), q, ld, k, ld, T(0), s, S);
  for (int r = 0; r < rows; ++r) scale_mask_row(s + static_cast<int64_t>(r) * S, m, S, sqrt_d);
}

}  // namespace

int64_t attention_blockwise_scratch_size(int S, int threads) {
  return static_cast<int64_t>(threads) * 2 * std::min(S, kQueryBlock) * S;
}

template <typename T>
void attention_forward_blockwise(T* ctx, T* lse, const T* qkv, const int32_t* mask, int B, int S,
                                 int nh, int D, const Dropout& drop, T* scratch) {
  const int H = nh * D, ld = 3 * H, Br = std::min(S, kQueryBlock);
  const T keep_scale = static_cast<T>(1.0 / (1.0 - drop.p));
  const DropoutMask mask_of(drop);
  const int blocks = (S + Br - 1) / Br;
  const int64_t work = static_cast<int64_t>(B) * nh * S * S * D;
#pragma omp parallel for schedule(static) if (work >= kMinParallelWork)
  for (int64_t task = 0; task < static_cast<int64_t>(B) * nh * blocks; ++task) {
    const int64_t bh = task / blocks;
    const int i0 = static_cast<int>(task % blocks) * Br, rows = std::min(Br, S - i0);
    const int b = static_cast<int>(bh / nh), h = static_cast<int>(bh % nh);
    const T* base = qkv + static_cast<int64_t>(b) * S * ld + h * D;
    const T *q = base + static_cast<int64_t>(i0) * ld, *k = base + H, *v = base + 2 * H;
    T* p = scratch + static_cast<int64_t>(omp_get_thread_num()) * 2 * Br * S;
    block_scores(p, q, k, mask + static_cast<int64_t>(b) * S, rows, S, D, ld);
    for (int r = 0; r < rows; ++r) {
      T* row = p + static_cast<int64_t>(r) * S;
      lse[bh * S + i0 + r] = softmax_row(row, S);
      if (drop.p > 0) dropout_span(row, row, S, mask_of.attention_row(b, h, i0 + r), keep_scale);
    }
    T* c = ctx + (static_cast<int64_t>(b) * S + i0) * H + h * D;
    gemm<T>(false, false, rows, D, S, T(1), p, S, v, ld, T(0), c, H);
  }
}

template <typename T>
void attention_backward_blockwise(T* dqkv, const T* dctx, const T* qkv, const T* lse,
                                  const int32_t* mask, int B, int S, int nh, int D,
                                  const Dropout& drop, T* scratch) {
  const int H = nh * D, ld = 3 * H, Br = std::min(S, kQueryBlock);
  const T inv_sqrt_d = T(1) / std::sqrt(static_cast<T>(D));
  const T keep_scale = static_cast<T>(1.0 / (1.0 - drop.p));
  const DropoutMask mask_of(drop);
  const int blocks = (S + Br - 1) / Br;
  const int64_t work = static_cast<int64_t>(B) * nh * S * S * D;
  // One task per head: dK and dV accumulate over its query blocks.
#pragma omp parallel for schedule(static) if (work >= kMinParallelWork)
  for (int64_t bh = 0; bh < static_cast<int64_t>(B) * nh; ++bh) {
    const int b = static_cast<int>(bh / nh), h = static_cast<int>(bh % nh);
    const int64_t off = static_cast<int64_t>(b) * S * ld + h * D;
    const T *q = qkv + off, *k = q + H, *v = q + 2 * H;
    T *dq = dqkv + off, *dk = dq + H, *dv = dq + 2 * H;
    for (int i = 0; i < S; ++i) {
      std::fill_n(dk + static_cast<int64_t>(i) * ld, D, T(0));
      std::fill_n(dv + static_cast<int64_t>(i) * ld, D, T(0));
    }
    T* p = scratch + static_cast<int64_t>(omp_get_thread_num()) * 2 * Br * S;
    T* dp = p + static_cast<int64_t>(Br) * S;
    for (int blk = 0; blk < blocks; ++blk) {
      const int i0 = blk * Br, rows = std::min(Br, S - i0);
      const T* qb = q + static_cast<int64_t>(i0) * ld;
      const T* dob = dctx + (static_cast<int64_t>(b) * S + i0) * H + h * D;
      // Recompute P from the saved log-sum-exp; P' = dropout(P) goes to dp for dV.
      block_scores(p, qb, k, mask + static_cast<int64_t>(b) * S, rows, S, D, ld);
      for (int r = 0; r < rows; ++r) {
        const ElementMask keep = mask_of.attention_row(b, h, i0 + r);
        T* pr = p + static_cast<int64_t>(r) * S;
        T* dr = dp + static_cast<int64_t>(r) * S;
        exp_row(pr, S, lse[bh * S + i0 + r]);
        if (drop.p > 0)
          dropout_span(dr, pr, S, keep, keep_scale);
        else
          std::copy_n(pr, S, dr);
      }
      gemm<T>(true, false, S, D, rows, T(1), dp, S, dob, H, T(1), dv, ld);  // dV += P'^T dO
      gemm<T>(false, true, rows, S, D, T(1), dob, H, v, ld, T(0), dp, S);   // dP' = dO V^T
      for (int r = 0; r < rows; ++r) {
        T* dr = dp + static_cast<int64_t>(r) * S;
        if (drop.p > 0) dropout_span(dr, dr, S, mask_of.attention_row(b, h, i0 + r), keep_scale);
        softmax_backward_row(dr, p + static_cast<int64_t>(r) * S, S, inv_sqrt_d);
      }
      gemm<T>(false, false, rows, D, S, T(1), dp, S, k, ld, T(0),
              dq + static_cast<int64_t>(i0) * ld, ld);
      gemm<T>(true, false, S, D, rows, T(1), dp, S, qb, ld, T(1), dk, ld);  // dK += dS^T Q
    }
  }
}

template void attention_forward_blockwise<float>(float*, float*, const float*, const int32_t*, int,
                                                 int, int, int, const Dropout&, float*);
template void attention_forward_blockwise<double>(double*, double*, const double*, const int32_t*,
                                                  int, int, int, int, const Dropout&, double*);
template void attention_backward_blockwise<float>(float*, const float*, const float*, const float*,
                                                  const int32_t*, int, int, int, int,
                                                  const Dropout&, float*);
template void attention_backward_blockwise<double>(double*, const double*, const double*,
                                                   const double*, const int32_t*, int, int, int,
                                                   int, const Dropout&, double*);

}  // namespace bertrain::cpu
