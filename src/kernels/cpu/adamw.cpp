#include "kernels/cpu/adamw.h"

#include <cmath>

#include "core/parallel.h"

namespace bertrain::cpu {

template <typename T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWStep& s) {
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
  const T one_minus_b1 = static_cast<T>(1.0 - s.beta1),
          one_minus_b2 = static_cast<T>(1.0 - s.beta2);
  const T step_size = static_cast<T>(s.lr / (1.0 - std::pow(s.beta1, static_cast<double>(s.t))));
  const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(s.beta2, static_cast<double>(s.t))));
  const T eps = static_cast<T>(s.eps), scale = static_cast<T>(s.grad_scale);
  parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      T grad = g[i] * scale;
      T param = p[i] * decay;
      T mi = m[i] * b1 + grad * one_minus_b1;
      T vi = v[i] * b2 + grad * grad * one_minus_b2;
      m[i] = mi;
      v[i] = vi;
      p[i] = param - step_size * (mi / (std::sqrt(vi) / bc2_sqrt + eps));
    }
  });
}

template void adamw_update<float>(float*, const float*, float*, float*, int64_t, const AdamWStep&);
template void adamw_update<double>(double*, const double*, double*, double*, int64_t,
                                   const AdamWStep&);

}  // namespace bertrain::cpu
