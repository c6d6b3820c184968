#include "kernels/cpu/dropout.h"

#include <algorithm>

#include "core/parallel.h"
#include "kernels/cpu/memory.h"

namespace bertrain::cpu {

template <typename T>
void dropout_apply(T* out, const T* x, int B, int64_t per_sample, const Dropout& d) {
  const int64_t n = B * per_sample;
  if (d.p <= 0) {
    if (out != x) copy(out, x, n);
    return;
  }
  const T scale = static_cast<T>(1.0 / (1.0 - d.p));
  const DropoutMask mask(d);
  parallel_range(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {  // span by span, each within one sample
      const int64_t b = i / per_sample, c = i - b * per_sample;
      const int64_t len = std::min(end - i, per_sample - c);
      dropout_span(out + i, x + i, len, mask.sample(b, c), scale);
      i += len;
    }
  });
}

template void dropout_apply<float>(float*, const float*, int, int64_t, const Dropout&);
template void dropout_apply<double>(double*, const double*, int, int64_t, const Dropout&);

}  // namespace bertrain::cpu
