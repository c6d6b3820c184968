// Conversions between fp32 and the 16-bit storage formats (round to nearest even), on the CUDA
// backend: twins of kernels/cpu/convert.h.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace bertrain::cuda {

void to_half(uint16_t* dst, const float* x, int64_t n, HalfFormat f);
void from_half(float* dst, const uint16_t* x16, int64_t n, HalfFormat f);
// x = round(x) in place; with store, the 16-bit values are written there too.
void round_half(float* x, int64_t n, HalfFormat f, uint16_t* store);

}  // namespace bertrain::cuda
