#include "kernels/cpu/reductions.h"

#include "core/parallel.h"

namespace bertrain::cpu {

template <typename T>
void sum_squares(double* out, const T* x, int64_t n) {
  double total = 0;
#pragma omp parallel for simd reduction(+ : total) schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  *out = total;
}

template void sum_squares<float>(double*, const float*, int64_t);
template void sum_squares<double>(double*, const double*, int64_t);

void mean_of_pair(double* out, const double* pair) {
  *out = (pair[0] + pair[1]) / 2;
}

}  // namespace bertrain::cpu
