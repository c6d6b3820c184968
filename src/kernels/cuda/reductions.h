// Reductions over a whole buffer on the CUDA backend: the sum of squares (the gradient norm),
// in double and in a fixed order, so that it is deterministic. Twin of kernels/cpu/reductions.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

// *out (device memory) = sum of x[i]^2, accumulated in double.
void sum_squares(double* out, const float* x, int64_t n);
// *out = (pair[0] + pair[1]) / 2 on device scalars.
void mean_of_pair(double* out, const double* pair);

}  // namespace bertrain::cuda
