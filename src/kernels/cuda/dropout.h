// Dropout over a buffer on the CUDA backend: the CPU's masks (kernels/dropout_mask.h), so a
// GPU step drops the same elements as a CPU step. Twin of kernels/cpu/dropout.h.
#pragma once

#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

// Over a [B, per_sample] tensor: out = keep ? x / (1 - p) : 0 with the masks of
// DropoutMask(d); out may be x.
void dropout_apply(float* out, const float* x, int B, int64_t per_sample, const Dropout& d);

}  // namespace bertrain::cuda
