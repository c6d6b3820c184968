#include "kernels/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "kernels/cpu/attention_rows.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/gemm.h"

namespace bertrain::cpu {

int64_t attention_scratch_size(int S, int threads) {
  return static_cast<int64_t>(threads) * 2 * S * S;
}

template <typename T>
void attention_forward(T* ctx, T* probs, const T* qkv, const int32_t* mask, int B, int S, int nh,
                       int D, const Dropout& drop, T* scratch) {
  const int H = nh * D, ld = 3 * H;
  const T sqrt_d = std::sqrt(static_cast<T>(D));
  const T keep_scale = static_cast<T>(1.0 / (1.0 - drop.p));
  const DropoutMask mask_of(drop);
  const int64_t SS = static_cast<int64_t>(S) * S;
  const int64_t work = static_cast<int64_t>(B) * nh * S * S * D;
#pragma omp parallel for schedule(static) if (work >= kMinParallelWork)
  for (int64_t bh = 0; bh < static_cast<int64_t>(B) * nh; ++bh) {
    int b = static_cast<int>(bh / nh), h = static_cast<int>(bh % nh);
    const T* q = qkv + static_cast<int64_t>(b) * S * ld + h * D;
    const T* k = q + H;
    const T* v = q + 2 * H;
    T* p = probs + bh * S * S;
    const int32_t* m = mask + static_cast<int64_t>(b) * S;
    gemm<T>(false, true, S, S, D, T(1), q, ld, k, ld, T(0), p, S);
    for (int i = 0; i < S; ++i) {
      T* row = p + static_cast<int64_t>(i) * S;
      scale_mask_row(row, m, S, sqrt_d);
      softmax_row(row, S);
    }
    const T* pv = p;
    if (drop.p > 0) {
      T* dropped = scratch + static_cast<int64_t>(omp_get_thread_num()) * 2 * SS;
      for (int i = 0; i < S; ++i)
        dropout_span(dropped + static_cast<int64_t>(i) * S, p + static_cast<int64_t>(i) * S, S,
                     mask_of.attention_row(b, h, i), keep_scale);
      pv = dropped;
    }
    T* c = ctx + static_cast<int64_t>(b) * S * H + h * D;
    gemm<T>(false, false, S, D, S, T(1), pv, S, v, ld, T(0), c, H);
  }
}

template <typename T>
void attention_backward(T* dqkv, const T* dctx, const T* qkv, const T* probs, int B, int S, int nh,
                        int D, const Dropout& drop, T* scratch) {
  const int H = nh * D, ld = 3 * H;
  const T inv_sqrt_d = T(1) / std::sqrt(static_cast<T>(D));
  const T keep_scale = static_cast<T>(1.0 / (1.0 - drop.p));
  const DropoutMask mask_of(drop);
  const int64_t work = static_cast<int64_t>(B) * nh * S * S * D;
#pragma omp parallel for schedule(static) if (work >= kMinParallelWork)
  for (int64_t bh = 0; bh < static_cast<int64_t>(B) * nh; ++bh) {
    int b = static_cast<int>(bh / nh), h = static_cast<int>(bh % nh);
    const int64_t off = static_cast<int64_t>(b) * S * ld + h * D;
    const T *q = qkv + off, *k = q + H, *v = q + 2 * H;
    T *dq = dqkv + off, *dk = dq + H, *dv = dq + 2 * H;
    const T* p = probs + bh * S * S;
    const T* dc = dctx + static_cast<int64_t>(b) * S * H + h * D;
    T* dp = scratch + static_cast<int64_t>(omp_get_thread_num()) * 2 * S * S;
    T* pd = dp + static_cast<int64_t>(S) * S;  // dropped probabilities
    const T* pv = p;
    if (drop.p > 0) {
      for (int i = 0; i < S; ++i)
        dropout_span(pd + static_cast<int64_t>(i) * S, p + static_cast<int64_t>(i) * S, S,
                     mask_of.attention_row(b, h, i), keep_scale);
      pv = pd;
    }
    // dV = P'^T dctx ; dP' = dctx V^T
    gemm<T>(true, false, S, D, S, T(1), pv, S, dc, H, T(0), dv, ld);
    gemm<T>(false, true, S, S, D, T(1), dc, H, v, ld, T(0), dp, S);
    if (drop.p > 0)
      for (int i = 0; i < S; ++i)
        dropout_span(dp + static_cast<int64_t>(i) * S, dp + static_cast<int64_t>(i) * S, S,
                     mask_of.attention_row(b, h, i), keep_scale);
    for (int i = 0; i < S; ++i)
      softmax_backward_row(dp + static_cast<int64_t>(i) * S, p + static_cast<int64_t>(i) * S, S,
                           inv_sqrt_d);
    // dQ = dS K ; dK = dS^T Q
    gemm<T>(false, false, S, D, S, T(1), dp, S, k, ld, T(0), dq, ld);
    gemm<T>(true, false, S, D, S, T(1), dp, S, q, ld, T(0), dk, ld);
  }
}

template void attention_forward<float>(float*, float*, const float*, const int32_t*, int, int, int,
                                       int, const Dropout&, float*);
template void attention_forward<double>(double*, double*, const double*, const int32_t*, int, int,
                                        int, int, const Dropout&, double*);
template void attention_backward<float>(float*, const float*, const float*, const float*, int, int,
                                        int, int, const Dropout&, float*);
template void attention_backward<double>(double*, const double*, const double*, const double*, int,
                                         int, int, int, const Dropout&, double*);

}  // namespace bertrain::cpu
