#include "kernels/cpu/dropout.h"

#include "core/parallel.h"
#include "kernels/cpu/memory.h"

namespace bertrain::cpu {

template <typename T>
void dropout_apply(T* out, const T* x, int64_t n, double p, uint64_t seed) {
  if (p <= 0) {
    if (out != x) copy(out, x, n);
    return;
  }
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  const DropoutMask mask(seed, p);
  parallel_range(n, [&](int64_t begin, int64_t end) {
    dropout_span(out + begin, x + begin, end - begin, mask, begin, scale);
  });
}

template void dropout_apply<float>(float*, const float*, int64_t, double, uint64_t);
template void dropout_apply<double>(double*, const double*, int64_t, double, uint64_t);

}  // namespace bertrain::cpu
