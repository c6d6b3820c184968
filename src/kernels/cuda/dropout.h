// Dropout over a buffer on the CUDA backend: the CPU's masks (kernels/dropout_mask.h), so a
// GPU step drops the same elements as a CPU step. Twin of kernels/cpu/dropout.h.
#pragma once

#include <cstdint>

namespace bertrain::cuda {

// out[i] = keep(i) ? x[i] / (1 - p) : 0 with DropoutMask(seed, p); out may be x.
void dropout_apply(float* out, const float* x, int64_t n, double p, uint64_t seed);

}  // namespace bertrain::cuda
