#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace bertrain::cpu {

namespace {

// Rows per task. The loss is summed per block and the blocks in order, so it does not depend
// on the number of threads.
constexpr int kRowBlock = 16;

// A float sum the compiler may vectorise: 16 independent partial sums, added at the end.
template <typename T, typename F>
T lane_sum(int L, F&& term) {
  constexpr int kLanes = 16;
  T acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= L; c += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += term(c + j);
  T sum = 0;
  for (; c < L; ++c) sum += term(c);
  for (int j = 0; j < kLanes; ++j) sum += acc[j];
  return sum;
}

// One row: p = softmax(z); returns its loss, or 0 for an ignored row.
template <typename T>
double row_cross_entropy(T* p, const T* z, int label, int L, double smoothing) {
  const T mx = *std::max_element(z, z + L);
  for (int c = 0; c < L; ++c) p[c] = exp_fast(z[c] - mx);
  const T sum = lane_sum<T>(L, [&](int c) { return p[c]; });
  const T inv = T(1) / sum;
  for (int c = 0; c < L; ++c) p[c] *= inv;
  if (label == -100) return 0;
  // -log softmax = log(sum) - (z - max), computed without forming log(p).
  const double log_sum = static_cast<double>(std::log(sum));
  const double nll = log_sum - static_cast<double>(z[label] - mx);
  if (smoothing == 0) return nll;
  // mean over classes of -log p_c = log(sum) - mean(z - max)
  const double z_sum = static_cast<double>(lane_sum<T>(L, [&](int c) { return z[c] - mx; }));
  return (1 - smoothing) * nll + smoothing * (log_sum - z_sum / L);
}

}  // namespace

template <typename T>
void cross_entropy_forward(T* probs, double* loss, const T* logits, const int32_t* labels, int N,
                           int L, double smoothing) {
  const int blocks = (N + kRowBlock - 1) / kRowBlock;
  std::vector<double> block_loss(blocks);
  parallel_for(
      blocks,
      [&](int64_t b) {
        double total = 0;
        const int r0 = static_cast<int>(b) * kRowBlock, r1 = std::min(N, r0 + kRowBlock);
        for (int r = r0; r < r1; ++r)
          total += row_cross_entropy(probs + static_cast<int64_t>(r) * L,
                                     logits + static_cast<int64_t>(r) * L,
                                     labels ? labels[r] : -100, L, smoothing);
        block_loss[b] = total;
      },
      int64_t{kRowBlock} * L);
  double total = 0;
  for (double t : block_loss) total += t;
  int count = 0;
  if (labels)
    for (int r = 0; r < N; ++r) count += labels[r] != -100;
  *loss = count ? total / count : 0.0;
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const int32_t* labels, int N, int L,
                            double scale, double smoothing) {
  int count = 0;
  for (int r = 0; r < N; ++r) count += labels[r] != -100;
  const T k = count ? static_cast<T>(scale / count) : T(0);
  const T on = static_cast<T>(1 - smoothing), spread = static_cast<T>(smoothing / L);
  parallel_for(
      N,
      [&](int64_t r) {
        T* d = dlogits + r * L;
        const T* p = probs + r * L;
        if (labels[r] == -100) {
          std::fill(d, d + L, T(0));
          return;
        }
        for (int c = 0; c < L; ++c) d[c] = (p[c] - spread) * k;
        d[labels[r]] = (p[labels[r]] - on - spread) * k;
      },
      L);
}

#define BERTRAIN_INSTANTIATE(T)                                                                    \
  template void cross_entropy_forward<T>(T*, double*, const T*, const int32_t*, int, int, double); \
  template void cross_entropy_backward<T>(T*, const T*, const int32_t*, int, int, double, double);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
