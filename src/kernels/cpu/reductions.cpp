#include "kernels/cpu/reductions.h"

#include <algorithm>

#include "core/parallel.h"

namespace bertrain::cpu {

template <typename T>
void copy(T* dst, const T* src, int64_t n) {
  parallel_range(n, [&](int64_t b, int64_t e) { std::copy(src + b, src + e, dst + b); });
}

template <typename T>
double sum_squares(const T* x, int64_t n) {
  double total = 0;
#pragma omp parallel for simd reduction(+ : total) schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

#define BERTRAIN_INSTANTIATE(T)                 \
  template void copy<T>(T*, const T*, int64_t); \
  template double sum_squares<T>(const T*, int64_t);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
