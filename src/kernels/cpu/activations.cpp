#include "kernels/cpu/activations.h"

#include <cmath>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/column_sums.h"
#include "kernels/cpu/vec_math.h"

namespace bertrain::cpu {

// GELU(v) = v Phi(v) = 0.5 v (1 + erf(v / sqrt 2)).
template <typename T>
inline T gelu_value(T v) {
  const T inv_sqrt2 = T(0.70710678118654752440);
  return T(0.5) * v * (T(1) + erf_fast(v * inv_sqrt2));
}

template <typename T>
void gelu_forward(T* out, const T* x, int64_t n) {
  parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) out[i] = gelu_value(x[i]);
  });
}

// d GELU(v) / dv = Phi(v) + v phi(v).
template <typename T>
inline T gelu_grad(T v) {
  const T inv_sqrt2 = T(0.70710678118654752440);
  const T inv_sqrt_2pi = T(0.39894228040143267794);
  const T cdf = T(0.5) * (T(1) + erf_fast(v * inv_sqrt2));
  const T pdf = inv_sqrt_2pi * exp_fast(T(-0.5) * v * v);
  return cdf + v * pdf;
}

template <typename T>
void gelu_backward(T* dx, const T* x, const T* dout, int64_t n) {
  parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) dx[i] = dout[i] * gelu_grad(x[i]);
  });
}

void gelu_backward_bf16(uint16_t* dx16, float* dbias, const uint16_t* x16, const float* dout, int N,
                        int C, float* partials) {
  fused_column_sums(dbias, N, C, partials, [&](int r, float* acc) {
    const int64_t at = static_cast<int64_t>(r) * C;
    const uint16_t* x = x16 + at;
    const float* dy = dout + at;
    uint16_t* dx = dx16 + at;
#pragma omp simd
    for (int c = 0; c < C; ++c) {
      const float d = dy[c] * gelu_grad(bf16_to_float(x[c]));
      dx[c] = float_to_bf16(d);
      acc[c] += d;
    }
  });
}

void gelu_forward_bf16(uint16_t* out16, const uint16_t* x16, int64_t n) {
  parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i)
      out16[i] = float_to_bf16(gelu_value(bf16_to_float(x16[i])));
  });
}

template <typename T>
void tanh_forward(T* out, const T* x, int64_t n) {
  parallel_for(n, [&](int64_t i) { out[i] = std::tanh(x[i]); });
}

template <typename T>
void tanh_backward(T* dx, const T* y, const T* dout, int64_t n) {
  parallel_for(n, [&](int64_t i) { dx[i] = dout[i] * (T(1) - y[i] * y[i]); });
}

#define BERTRAIN_INSTANTIATE(T)                                    \
  template void gelu_forward<T>(T*, const T*, int64_t);            \
  template void gelu_backward<T>(T*, const T*, const T*, int64_t); \
  template void tanh_forward<T>(T*, const T*, int64_t);            \
  template void tanh_backward<T>(T*, const T*, const T*, int64_t);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
