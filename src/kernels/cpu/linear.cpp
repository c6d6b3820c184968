#include "kernels/cpu/linear.h"

#include <algorithm>

#include "core/dtype.h"
#include "core/parallel.h"
#include "kernels/cpu/column_sums.h"
#include "kernels/cpu/gemm.h"

namespace bertrain::cpu {

namespace {

// acc[c] += sum over rows of x[r, c]; parallel over blocks of columns so no two threads
// write the same accumulator (the fp32 and double paths, which plan no partial sums; the bf16
// passes sum by blocks of rows, column_sums.h).
template <typename T>
void column_sums_add(T* acc, const T* x, int N, int C) {
  parallel_column_blocks(C, N, [&](int c0, int c1) {
    T local[kColumnBlock] = {};
    for (int r = 0; r < N; ++r) {
      const T* row = x + static_cast<int64_t>(r) * C;
#pragma omp simd
      for (int c = c0; c < c1; ++c) local[c - c0] += row[c];
    }
    for (int c = c0; c < c1; ++c) acc[c] += local[c - c0];
  });
}

}  // namespace

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
size_t scratch_of(const LinearGemm& g, bool accumulate, bool bias = false, bool out16 = false) {
  return gemm_bf16_scratch_bytes(g.ta, g.tb, g.M, g.N, g.K, g.lda, g.ldb, accumulate, g.ldc, bias,
                                 out16);
}
}  // namespace

void linear_forward_bf16(float* out, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch) {
  run(forward_gemm(N, in_f, out_f), in16, W16, /*accumulate=*/false, out, scratch, b);
}

void linear_forward_bf16(uint16_t* out16, const uint16_t* in16, const uint16_t* W16, const float* b,
                         int N, int in_f, int out_f, GemmScratch scratch) {
  const LinearGemm g = forward_gemm(N, in_f, out_f);
  gemm_bf16(g.ta, g.tb, g.M, g.N, g.K, in16, g.lda, W16, g.ldb, out16, g.ldc, scratch, b);
}

void linear_backward_bf16(float* din, float* dW, float* db, const float* dout,
                          const uint16_t* dout16, const uint16_t* in16, const uint16_t* W16, int N,
                          int in_f, int out_f, bool accumulate_din, GemmScratch scratch) {
  if (din) run(din_gemm(N, in_f, out_f), dout16, W16, accumulate_din, din, scratch);
  run(dw_gemm(N, in_f, out_f), dout16, in16, /*accumulate=*/true, dW, scratch);
  if (db) column_sums_add(db, dout, N, out_f);
}

void pack_bf16_column_sums(uint16_t* x16, float* sums, const float* x, int N, int C,
                           float* partials) {
  fused_column_sums(sums, N, C, partials, [&](int r, float* acc) {
    const int64_t at = static_cast<int64_t>(r) * C;
#pragma omp simd
    for (int c = 0; c < C; ++c) {
      x16[at + c] = float_to_bf16(x[at + c]);
      acc[c] += x[at + c];
    }
  });
}

size_t linear_bf16_scratch_bytes(int N, int in_f, int out_f) {
  return std::max({scratch_of(forward_gemm(N, in_f, out_f), false, true),
                   scratch_of(forward_gemm(N, in_f, out_f), false, true, true),
                   scratch_of(din_gemm(N, in_f, out_f), false),
                   scratch_of(din_gemm(N, in_f, out_f), true),
                   scratch_of(dw_gemm(N, in_f, out_f), true)});
}

#define BERTRAIN_INSTANTIATE(T)                                                     \
  template void linear_forward<T>(T*, const T*, const T*, const T*, int, int, int); \
  template void linear_backward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, int, bool);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
