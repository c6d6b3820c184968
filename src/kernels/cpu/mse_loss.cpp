#include "kernels/cpu/mse_loss.h"

namespace bertrain::cpu {

template <typename T>
void mse_forward(double* loss, const T* x, const float* targets, int64_t n) {
  double total = 0;
  if (targets)
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(x[i]) - targets[i];
      total += d * d;
    }
  *loss = targets && n ? total / static_cast<double>(n) : 0.0;
}

template <typename T>
void mse_backward(T* dx, const T* x, const float* targets, int64_t n, double scale) {
  const T k = static_cast<T>(2 * scale / static_cast<double>(n));
  for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] - static_cast<T>(targets[i])) * k;
}

#define BERTRAIN_INSTANTIATE(T)                                           \
  template void mse_forward<T>(double*, const T*, const float*, int64_t); \
  template void mse_backward<T>(T*, const T*, const float*, int64_t, double);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
