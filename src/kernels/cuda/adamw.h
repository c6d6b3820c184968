// AdamW over a run of the flat parameter buffer on the CUDA backend, in one pass that also
// zeroes the gradients and refreshes an optional bf16 copy: twin of kernels/cpu/adamw.h.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace bertrain::cuda {

void adamw_update(float* p, float* g, float* m, float* v, int64_t n, const AdamWStep& s,
                  uint16_t* p_bf16);

}  // namespace bertrain::cuda
