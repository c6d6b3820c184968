// Whole-buffer passes: the sum of squares (the gradient norm) and a parallel copy.
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// dst = src over the pool (a serial memcpy of a large tensor leaves the other cores idle).
template <typename T>
void copy(T* dst, const T* src, int64_t n);

// Sum of squares (accumulated in double) of n values.
template <typename T>
double sum_squares(const T* x, int64_t n);

}  // namespace bertrain::cpu
