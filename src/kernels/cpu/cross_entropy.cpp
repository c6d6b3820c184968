#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bertrain::cpu {

template <typename T>
void cross_entropy_forward(T* probs, double* loss, const T* logits, const int32_t* labels, int N,
                           int L, double smoothing) {
  double total = 0;
  int count = 0;
  for (int r = 0; r < N; ++r) {
    const T* z = logits + static_cast<int64_t>(r) * L;
    T* p = probs + static_cast<int64_t>(r) * L;
    T mx = *std::max_element(z, z + L);
    T sum = 0;
    for (int c = 0; c < L; ++c) {
      p[c] = std::exp(z[c] - mx);
      sum += p[c];
    }
    for (int c = 0; c < L; ++c) p[c] /= sum;
    if (!labels || labels[r] == -100) continue;
    // -log softmax = log(sum) - (z - max), computed without forming log(p).
    const double log_sum = static_cast<double>(std::log(sum));
    const double nll = log_sum - static_cast<double>(z[labels[r]] - mx);
    double all = 0;  // sum over classes of -log p_c, for smoothing
    if (smoothing != 0)
      for (int c = 0; c < L; ++c) all += log_sum - static_cast<double>(z[c] - mx);
    total += (1 - smoothing) * nll + smoothing * all / L;
    ++count;
  }
  *loss = count ? total / count : 0.0;
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const int32_t* labels, int N, int L,
                            double scale, double smoothing) {
  int count = 0;
  for (int r = 0; r < N; ++r) count += labels[r] != -100;
  const T k = count ? static_cast<T>(scale / count) : T(0);
  const T on = static_cast<T>(1 - smoothing), spread = static_cast<T>(smoothing / L);
  for (int r = 0; r < N; ++r) {
    T* d = dlogits + static_cast<int64_t>(r) * L;
    const T* p = probs + static_cast<int64_t>(r) * L;
    if (labels[r] == -100) {
      std::fill(d, d + L, T(0));
      continue;
    }
    for (int c = 0; c < L; ++c) d[c] = (p[c] - (c == labels[r] ? on : T(0)) - spread) * k;
  }
}

#define BERTRAIN_INSTANTIATE(T)                                                                    \
  template void cross_entropy_forward<T>(T*, double*, const T*, const int32_t*, int, int, double); \
  template void cross_entropy_backward<T>(T*, const T*, const int32_t*, int, int, double, double);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
