#include "kernels/cpu/layernorm.h"

#include <cmath>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/dropout.h"

namespace bertrain::cpu {

namespace {

// One row of LayerNorm: statistics in the working precision (fp32 for float, as torch does).
template <typename T>
void layernorm_row(T* out, T* mean_out, T* rstd_out, const T* x, const T* gamma, const T* beta,
                   int C, double eps) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int c = 0; c < C; ++c) sum += x[c];
  T mean = sum / C;
  T var = 0;
#pragma omp simd reduction(+ : var)
  for (int c = 0; c < C; ++c) {
    T d = x[c] - mean;
    var += d * d;
  }
  var /= C;
  T rstd = T(1) / std::sqrt(var + static_cast<T>(eps));
  for (int c = 0; c < C; ++c) out[c] = (x[c] - mean) * rstd * gamma[c] + beta[c];
  *mean_out = mean;
  *rstd_out = rstd;
}

}  // namespace

template <typename T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, int N,
                       int C, double eps) {
  parallel_for(
      N,
      [&](int64_t r) {
        layernorm_row(out + r * C, mean + r, rstd + r, x + r * C, gamma, beta, C, eps);
      },
      C);
}

template <typename T>
void add_layernorm_forward(T* out, T* sum, T* mean, T* rstd, const T* a, const T* b, const T* gamma,
                           const T* beta, int N, int C, double eps) {
  parallel_for(
      N,
      [&](int64_t r) {
        T* s = sum + r * C;
        const T* ar = a + r * C;
        const T* br = b + r * C;
        for (int c = 0; c < C; ++c) s[c] = ar[c] + br[c];
        layernorm_row(out + r * C, mean + r, rstd + r, s, gamma, beta, C, eps);
      },
      C);
}

void add_layernorm_forward_bf16(float* out, uint16_t* out16, uint16_t* sum16, float* mean,
                                float* rstd, const uint16_t* dense16, const Dropout& drop,
                                const float* residual, const float* gamma, const float* beta, int B,
                                int S, int C, double eps) {
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  const DropoutMask mask(drop);
  const bool dropout = drop.p > 0;
  parallel_for(
      static_cast<int64_t>(B) * S,
      [&](int64_t r) {
        float* o = out + r * C;
        const uint16_t* d = dense16 + r * C;
        const float* x = residual + r * C;
        uint16_t* s16 = sum16 + r * C;
        const ElementMask keep = mask.sample(r / S, (r % S) * C);
#pragma omp simd
        for (int c = 0; c < C; ++c) {
          float v = bf16_to_float(d[c]);
          if (dropout) v = keep.keep(c) ? v * keep_scale : 0.0f;
          o[c] = v + x[c];
          s16[c] = float_to_bf16(o[c]);
        }
        layernorm_row(o, mean + r, rstd + r, o, gamma, beta, C, eps);  // in place
        uint16_t* o16 = out16 + r * C;
#pragma omp simd
        for (int c = 0; c < C; ++c) {
          o16[c] = float_to_bf16(o[c]);
          o[c] = bf16_to_float(o16[c]);
        }
      },
      C);
}

// An element of a saved tensor in the arithmetic type: bf16 storage (raw uint16_t) widens.
template <typename T>
inline T widen(T v) {
  return v;
}
inline float widen(uint16_t h) {
  return bf16_to_float(h);
}

// LayerNorm backward reading its saved input x in type X (T itself, or bf16).
template <typename T, typename X>
static void layernorm_backward_x(T* dx, T* dgamma, T* dbeta, const T* dout, const X* x,
                                 const T* mean, const T* rstd, const T* gamma, int N, int C) {
  parallel_for(
      N,
      [&](int64_t r) {
        const X* xr = x + r * C;
        const T* g = dout + r * C;
        T m = mean[r], s = rstd[r];
        // dxhat = g * gamma; dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        T sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int c = 0; c < C; ++c) {
          T xhat = (widen(xr[c]) - m) * s;
          T dxhat = g[c] * gamma[c];
          sum_dxhat += dxhat;
          sum_dxhat_xhat += dxhat * xhat;
        }
        T mean_dxhat = sum_dxhat / C, mean_dxhat_xhat = sum_dxhat_xhat / C;
        T* d = dx + r * C;
        for (int c = 0; c < C; ++c) {
          T xhat = (widen(xr[c]) - m) * s;
          d[c] = s * (g[c] * gamma[c] - mean_dxhat - xhat * mean_dxhat_xhat);
        }
      },
      C);
  parallel_column_blocks(C, N, [&](int c0, int c1) {
    T lg[kColumnBlock] = {}, lb[kColumnBlock] = {};
    for (int r = 0; r < N; ++r) {
      const X* xr = x + static_cast<int64_t>(r) * C;
      const T* g = dout + static_cast<int64_t>(r) * C;
      T m = mean[r], s = rstd[r];
      for (int c = c0; c < c1; ++c) {
        lg[c - c0] += g[c] * ((widen(xr[c]) - m) * s);
        lb[c - c0] += g[c];
      }
    }
    for (int c = c0; c < c1; ++c) {
      dgamma[c] += lg[c - c0];
      dbeta[c] += lb[c - c0];
    }
  });
}

template <typename T>
void layernorm_backward(T* dx, T* dgamma, T* dbeta, const T* dout, const T* x, const T* mean,
                        const T* rstd, const T* gamma, int N, int C) {
  layernorm_backward_x(dx, dgamma, dbeta, dout, x, mean, rstd, gamma, N, C);
}

void layernorm_backward_bf16(float* dx, float* dgamma, float* dbeta, const float* dout,
                             const uint16_t* x16, const float* mean, const float* rstd,
                             const float* gamma, int N, int C) {
  layernorm_backward_x(dx, dgamma, dbeta, dout, x16, mean, rstd, gamma, N, C);
}

#define BERTRAIN_INSTANTIATE(T)                                                                   \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, double); \
  template void add_layernorm_forward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,  \
                                         int, int, double);                                       \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,         \
                                      const T*, int, int);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
