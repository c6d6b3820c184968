// Reductions over a whole buffer: the sum of squares (the gradient norm).
// Conventions as in docs/ARCHITECTURE.md: activation gradients written (=), parameter
// gradients accumulated (+=), rows [N, C] row-major.
#pragma once

#include <cstdint>

namespace bertrain::cpu {

// Sum of squares (accumulated in double) of n values, written to the one double at `out`
// (device memory).
template <typename T>
void sum_squares(double* out, const T* x, int64_t n);

// *out = (pair[0] + pair[1]) / 2 on device scalars (question answering's start and end loss).
void mean_of_pair(double* out, const double* pair);

}  // namespace bertrain::cpu
