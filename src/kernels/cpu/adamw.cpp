#include "kernels/cpu/adamw.h"

#include <cmath>
#include <type_traits>

#include "core/dtype.h"
#include "core/parallel.h"

namespace bertrain::cpu {

template <typename T>
void adamw_update(T* p, T* g, T* m, T* v, int64_t n, const AdamWStep& s, uint16_t* p_bf16) {
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
  const T one_minus_b1 = static_cast<T>(1.0 - s.beta1),
          one_minus_b2 = static_cast<T>(1.0 - s.beta2);
  const T step_size = static_cast<T>(s.lr / (1.0 - std::pow(s.beta1, static_cast<double>(s.t))));
  const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(s.beta2, static_cast<double>(s.t))));
  const T eps = static_cast<T>(s.eps), scale = static_cast<T>(s.grad_scale);
  auto update = [&](int64_t i) {
    T grad = g[i] * scale;
    g[i] = T(0);
    T param = p[i] * decay;
    T mi = m[i] * b1 + grad * one_minus_b1;
    T vi = v[i] * b2 + grad * grad * one_minus_b2;
    m[i] = mi;
    v[i] = vi;
    p[i] = param - step_size * (mi / (std::sqrt(vi) / bc2_sqrt + eps));
  };
  parallel_range(n, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      if (p_bf16) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          update(i);
          p_bf16[i] = float_to_bf16(p[i]);
        }
        return;
      }
    }
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) update(i);
  });
}

template void adamw_update<float>(float*, float*, float*, float*, int64_t, const AdamWStep&,
                                  uint16_t*);
template void adamw_update<double>(double*, double*, double*, double*, int64_t, const AdamWStep&,
                                   uint16_t*);

}  // namespace bertrain::cpu
