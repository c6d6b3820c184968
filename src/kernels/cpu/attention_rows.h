// The row-wise pieces both attention kernels (attention.cpp, attention_blockwise.cpp) share:
// scale+mask, max, exp and the softmax backward over one row of S scores. Inline with
// `omp simd` loops, so they vectorise (reductions too) where they are used.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/vec_math.h"

namespace bertrain::cpu {

// row = row / sqrt(D) + (mask ? 0 : finfo.min), as HF adds its extended mask. When sqrt(D) is a
// power of two (D = 64: 8) dividing is multiplying by its exact inverse, which is faster.
template <typename T>
inline void scale_mask_row(T* row, const int32_t* mask, int S, T sqrt_d) {
  const T masked = static_cast<T>(std::numeric_limits<float>::lowest());
  int exponent;
  if (std::frexp(sqrt_d, &exponent) == T(0.5)) {
    const T inv = T(1) / sqrt_d;
#pragma omp simd
    for (int j = 0; j < S; ++j) row[j] = row[j] * inv + (mask[j] ? T(0) : masked);
    return;
  }
#pragma omp simd
  for (int j = 0; j < S; ++j) row[j] = row[j] / sqrt_d + (mask[j] ? T(0) : masked);
}

template <typename T>
inline T row_max(const T* row, int S) {
  T mx = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < S; ++j) mx = row[j] > mx ? row[j] : mx;
  return mx;
}

// row = exp(row - shift); returns the sum of the new row.
template <typename T>
inline T exp_row(T* row, int S, T shift) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < S; ++j) {
    row[j] = exp_fast(row[j] - shift);
    sum += row[j];
  }
  return sum;
}

// row = softmax(row) in place; returns the row's log-sum-exp (what memory-efficient
// backward recomputes the probabilities from).
template <typename T>
inline T softmax_row(T* row, int S) {
  const T mx = row_max(row, S), sum = exp_row(row, S, mx), inv = T(1) / sum;
#pragma omp simd
  for (int j = 0; j < S; ++j) row[j] *= inv;
  return mx + std::log(sum);
}

// Softmax backward followed by the 1/sqrt(D) scale: dr = p * (dr - sum(dr * p)) / sqrt(D).
template <typename T>
inline void softmax_backward_row(T* dr, const T* p, int S, T inv_sqrt_d) {
  T dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int j = 0; j < S; ++j) dot += dr[j] * p[j];
#pragma omp simd
  for (int j = 0; j < S; ++j) dr[j] = p[j] * (dr[j] - dot) * inv_sqrt_d;
}

}  // namespace bertrain::cpu
