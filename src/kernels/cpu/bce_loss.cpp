#include "kernels/cpu/bce_loss.h"

#include <algorithm>
#include <cmath>

namespace bertrain::cpu {

template <typename T>
void bce_forward(T* probs, double* loss, const T* x, const float* targets, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    probs[i] = T(1) / (T(1) + std::exp(-x[i]));
    if (!targets) continue;
    // The stable form: no exp of a large positive number, no log of 0.
    const double v = x[i];
    total += std::max(v, 0.0) - v * targets[i] + std::log1p(std::exp(-std::fabs(v)));
  }
  *loss = targets && n ? total / static_cast<double>(n) : 0.0;
}

template <typename T>
void bce_backward(T* dx, const T* probs, const float* targets, int64_t n, double scale) {
  const T k = static_cast<T>(scale / static_cast<double>(n));
  for (int64_t i = 0; i < n; ++i) dx[i] = (probs[i] - static_cast<T>(targets[i])) * k;
}

#define BERTRAIN_INSTANTIATE(T)                                               \
  template void bce_forward<T>(T*, double*, const T*, const float*, int64_t); \
  template void bce_backward<T>(T*, const T*, const float*, int64_t, double);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
