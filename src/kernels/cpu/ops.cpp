#include "kernels/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/vec_math.h"

namespace bertrain::cpu {

namespace {

constexpr int kColumnBlock = 64;

// acc[c] += sum over rows of x[r, c]; parallel over blocks of columns so no two threads
// write the same accumulator. each(r, c) runs on every element as it is read (the pass that
// also rounds x to bf16 uses it).
template <typename T, typename Each>
void column_sums_add(T* acc, const T* x, int N, int C, Each each) {
  int blocks = (C + kColumnBlock - 1) / kColumnBlock;
  parallel_for(
      blocks,
      [&](int64_t blk) {
        int c0 = static_cast<int>(blk) * kColumnBlock;
        int c1 = std::min(C, c0 + kColumnBlock);
        T local[kColumnBlock] = {};
        for (int r = 0; r < N; ++r) {
          const T* row = x + static_cast<int64_t>(r) * C;
#pragma omp simd
          for (int c = c0; c < c1; ++c) {
            local[c - c0] += row[c];
            each(r, c);
          }
        }
        for (int c = c0; c < c1; ++c) acc[c] += local[c - c0];
      },
      static_cast<int64_t>(N) * kColumnBlock);
}

template <typename T>
void column_sums_add(T* acc, const T* x, int N, int C) {
  column_sums_add(acc, x, N, C, [](int, int) {});
}

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
void embedding_forward(T* out, const int32_t* ids, const int32_t* types, const T* word,
                       const T* pos, const T* type, int B, int S, int H) {
  parallel_for(
      static_cast<int64_t>(B) * S,
      [&](int64_t r) {
        const T* w = word + static_cast<int64_t>(ids[r]) * H;
        const T* p = pos + (r % S) * H;
        const T* t = type + static_cast<int64_t>(types[r]) * H;
        T* o = out + r * H;
        for (int c = 0; c < H; ++c) o[c] = (w[c] + t[c]) + p[c];  // HF order: (word + type) + pos
      },
      H);
}

template <typename T>
void embedding_backward(T* dword, T* dpos, T* dtype, const T* dout, const int32_t* ids,
                        const int32_t* types, int B, int S, int H, int padding_idx) {
  // Rows may share an id, so split the work by columns instead of rows.
  int blocks = (H + kColumnBlock - 1) / kColumnBlock;
  parallel_for(
      blocks,
      [&](int64_t blk) {
        int c0 = static_cast<int>(blk) * kColumnBlock;
        int c1 = std::min(H, c0 + kColumnBlock);
        for (int64_t r = 0; r < static_cast<int64_t>(B) * S; ++r) {
          const T* g = dout + r * H;
          T* dp = dpos + (r % S) * H;
          T* dt = dtype + static_cast<int64_t>(types[r]) * H;
          for (int c = c0; c < c1; ++c) {
            dp[c] += g[c];
            dt[c] += g[c];
          }
          if (ids[r] == padding_idx) continue;
          T* dw = dword + static_cast<int64_t>(ids[r]) * H;
          for (int c = c0; c < c1; ++c) dw[c] += g[c];
        }
      },
      static_cast<int64_t>(B) * S * kColumnBlock);
}

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
                                float* rstd, const float* dense, double dropout_p, uint64_t seed,
                                const float* residual, const float* gamma, const float* beta, int N,
                                int C, double eps) {
  const float keep_scale = static_cast<float>(1.0 / (1.0 - dropout_p));
  const DropoutMask mask(seed, dropout_p);
  const bool dropout = dropout_p > 0;
  parallel_for(
      N,
      [&](int64_t r) {
        float* o = out + r * C;
        const float* d = dense + r * C;
        const float* x = residual + r * C;
        uint16_t* s16 = sum16 + r * C;
#pragma omp simd
        for (int c = 0; c < C; ++c) {
          float v = bf16_to_float(float_to_bf16(d[c]));
          if (dropout) v = mask.keep(r * C + c) ? v * keep_scale : 0.0f;
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
  int blocks = (C + kColumnBlock - 1) / kColumnBlock;
  parallel_for(
      blocks,
      [&](int64_t blk) {
        int c0 = static_cast<int>(blk) * kColumnBlock;
        int c1 = std::min(C, c0 + kColumnBlock);
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
      },
      static_cast<int64_t>(N) * kColumnBlock);
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

namespace {

// The bias in every row of the output, for a GEMM to accumulate onto.
template <typename T>
void broadcast_bias(T* out, const T* b, int N, int out_f) {
  parallel_for(
      N, [&](int64_t r) { std::copy(b, b + out_f, out + r * out_f); }, out_f);
}

}  // namespace

template <typename T>
void linear_forward(T* out, const T* in, const T* W, const T* b, int N, int in_f, int out_f) {
  broadcast_bias(out, b, N, out_f);
  gemm<T>(false, true, N, out_f, in_f, T(1), in, in_f, W, in_f, T(1), out, out_f);
}

template <typename T>
void linear_backward(T* din, T* dW, T* db, const T* dout, const T* in, const T* W, int N, int in_f,
                     int out_f, bool accumulate_din) {
  if (din) {
    gemm<T>(false, false, N, in_f, out_f, T(1), dout, out_f, W, in_f, T(accumulate_din ? 1 : 0),
            din, in_f);
  }
  gemm<T>(true, false, out_f, in_f, N, T(1), dout, out_f, in, in_f, T(1), dW, in_f);
  column_sums_add(db, dout, N, out_f);
}

// The three GEMMs of a bf16 linear layer, one declaration for running them and for sizing
// their scratch: out = in16 W16^T + b, din (+)= dout16 W16, dW += dout16^T in16.
namespace {
struct LinearGemm {
  bool ta, tb;
  int M, N, K, lda, ldb, ldc;
};
LinearGemm forward_gemm(int N, int in_f, int out_f) {
  return {false, true, N, out_f, in_f, in_f, in_f, out_f};
}
LinearGemm din_gemm(int N, int in_f, int out_f) {
  return {false, false, N, in_f, out_f, out_f, in_f, in_f};
}
LinearGemm dw_gemm(int N, int in_f, int out_f) {
  return {true, false, out_f, in_f, N, out_f, in_f, in_f};
}
void run(const LinearGemm& g, const uint16_t* A, const uint16_t* B, bool accumulate, float* C,
         GemmScratch scratch, const float* bias = nullptr) {
  gemm_bf16(g.ta, g.tb, g.M, g.N, g.K, A, g.lda, B, g.ldb, accumulate, C, g.ldc, scratch, bias);
}
size_t scratch_of(const LinearGemm& g, bool accumulate, bool bias = false) {
  return gemm_bf16_scratch_bytes(g.ta, g.tb, g.M, g.N, g.K, g.lda, g.ldb, accumulate, g.ldc, bias);
}
}  // namespace

void linear_forward_bf16(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch) {
  run(forward_gemm(N, in_f, out_f), in16, W16, /*accumulate=*/false, out, scratch, b);
}

void linear_backward_bf16(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din, GemmScratch scratch) {
  if (din) run(din_gemm(N, in_f, out_f), dout16, W16, accumulate_din, din, scratch);
  run(dw_gemm(N, in_f, out_f), dout16, in16, /*accumulate=*/true, dW, scratch);
  if (db) column_sums_add(db, dout, N, out_f);
}

void pack_bf16_column_sums(uint16_t* x16, float* sums, const float* x, int N, int C) {
  column_sums_add(sums, x, N, C, [&](int r, int c) {
    const int64_t i = static_cast<int64_t>(r) * C + c;
    x16[i] = float_to_bf16(x[i]);
  });
}

size_t linear_bf16_scratch_bytes(int N, int in_f, int out_f) {
  return std::max({scratch_of(forward_gemm(N, in_f, out_f), false, true),
                   scratch_of(din_gemm(N, in_f, out_f), false),
                   scratch_of(din_gemm(N, in_f, out_f), true),
                   scratch_of(dw_gemm(N, in_f, out_f), true)});
}

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

void gelu_backward_bf16(float* dx, uint16_t* dx16, const uint16_t* x16, const float* dout,
                        int64_t n) {
  parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float d = dout[i] * gelu_grad(bf16_to_float(x16[i]));
      dx[i] = d;
      dx16[i] = float_to_bf16(d);
    }
  });
}

void gelu_forward_bf16(uint16_t* x16, uint16_t* out16, const float* x, int64_t n) {
  parallel_range(n, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      x16[i] = float_to_bf16(x[i]);
      out16[i] = float_to_bf16(gelu_value(bf16_to_float(x16[i])));
    }
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

template <typename T>
double cross_entropy_forward(T* probs, const T* logits, const int32_t* labels, int N, int L) {
  double total = 0;
  int count = 0;
  for (int r = 0; r < N; ++r) {
    const T* z = logits + static_cast<int64_t>(r) * L;
    T* p = probs + static_cast<int64_t>(r) * L;
    T mx = *std::max_element(z, z + L);
    T sum = 0;
    for (int c = 0; c < L; ++c) {
      p[c] = std::exp(z[c] - mx);
      sum += p[c];
    }
    for (int c = 0; c < L; ++c) p[c] /= sum;
    if (!labels || labels[r] == -100) continue;
    // -log softmax = log(sum) - (z - max), computed without forming log(p).
    total += static_cast<double>(std::log(sum) - (z[labels[r]] - mx));
    ++count;
  }
  return count ? total / count : 0.0;
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* probs, const int32_t* labels, int N, int L,
                            double scale) {
  int count = 0;
  for (int r = 0; r < N; ++r) count += labels[r] != -100;
  T k = count ? static_cast<T>(scale / count) : T(0);
  for (int r = 0; r < N; ++r) {
    T* d = dlogits + static_cast<int64_t>(r) * L;
    const T* p = probs + static_cast<int64_t>(r) * L;
    if (labels[r] == -100) {
      std::fill(d, d + L, T(0));
      continue;
    }
    for (int c = 0; c < L; ++c) d[c] = (p[c] - (c == labels[r] ? T(1) : T(0))) * k;
  }
}

template <typename T>
void copy(T* dst, const T* src, int64_t n) {
  parallel_range(n, [&](int64_t b, int64_t e) { std::copy(src + b, src + e, dst + b); });
}

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

template <typename T>
double sum_squares(const T* x, int64_t n) {
  double total = 0;
#pragma omp parallel for simd reduction(+ : total) schedule(static) if (n >= kMinParallelWork)
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

#define BERTRAIN_INSTANTIATE(T)                                                                    \
  template void embedding_forward<T>(T*, const int32_t*, const int32_t*, const T*, const T*,       \
                                     const T*, int, int, int);                                     \
  template void embedding_backward<T>(T*, T*, T*, const T*, const int32_t*, const int32_t*, int,   \
                                      int, int, int);                                              \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, double);  \
  template void add_layernorm_forward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,   \
                                         int, int, double);                                        \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,          \
                                      const T*, int, int);                                         \
  template void linear_forward<T>(T*, const T*, const T*, const T*, int, int, int);                \
  template void linear_backward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, int, bool); \
  template void gelu_forward<T>(T*, const T*, int64_t);                                            \
  template void gelu_backward<T>(T*, const T*, const T*, int64_t);                                 \
  template void tanh_forward<T>(T*, const T*, int64_t);                                            \
  template void tanh_backward<T>(T*, const T*, const T*, int64_t);                                 \
  template double cross_entropy_forward<T>(T*, const T*, const int32_t*, int, int);                \
  template void cross_entropy_backward<T>(T*, const T*, const int32_t*, int, int, double);         \
  template void copy<T>(T*, const T*, int64_t);                                                    \
  template void dropout_apply<T>(T*, const T*, int64_t, double, uint64_t);                         \
  template double sum_squares<T>(const T*, int64_t);

BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
