// Dropout from counter-based masks (kernels/dropout_mask.h): backward (and a recomputing
// forward) regenerates the mask instead of storing it.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/dropout_mask.h"

namespace bertrain::cpu {

// out[j] = keep(j) ? in[j] * scale : 0 for j < n (out may be in). The mask comes by value: read
// through a reference (or a lambda's capture) it might alias out, and the loop would not
// vectorise (measured 20x slower).
template <typename T>
inline void dropout_span(T* out, const T* in, int64_t n, ElementMask mask, T scale) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = mask.keep(j) ? in[j] * scale : T(0);
}

// Inverted dropout over a [B, per_sample] tensor: out = keep ? x / (1 - p) : 0 with the masks
// of DropoutMask(d): backward regenerates them instead of storing them. out may be x.
template <typename T>
void dropout_apply(T* out, const T* x, int B, int64_t per_sample, const Dropout& d);

}  // namespace bertrain::cpu
