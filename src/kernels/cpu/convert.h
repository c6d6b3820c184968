// Conversions between the working precision and the 16-bit storage of mixed precision (raw
// uint16_t), round to nearest even. Widening is exact; so is narrowing a value that was
// already rounded where it was produced.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace bertrain::cpu {

// dst = x in 16 bits.
template <typename T>
void to_half(uint16_t* dst, const T* x, int64_t n, HalfFormat f);
// dst = 16-bit values widened.
template <typename T>
void from_half(T* dst, const uint16_t* x16, int64_t n, HalfFormat f);
// x = x rounded to 16 bits, in place; with store, the 16-bit values written there too, in
// the same pass (a tensor's saved copy).
template <typename T>
void round_half(T* x, int64_t n, HalfFormat f, uint16_t* store);

}  // namespace bertrain::cpu
