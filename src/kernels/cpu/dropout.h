// Dropout from counter-based masks: keep(i) is a pure function of (seed, i), so backward (and a
// recomputing forward) regenerates the mask instead of storing it. Inline and branch-free so
// the loops that use it vectorise.
#pragma once

#include <cmath>
#include <cstdint>

namespace bertrain::cpu {

class DropoutMask {
 public:
  // Element i is kept when its 53-bit uniform draw u = h >> 11 (a fraction of 2^53) is >= p,
  // i.e. when h >> 11 >= ceil(p * 2^53); p * 2^53 is exact in double.
  DropoutMask(uint64_t seed, double p)
      : seed_(seed), threshold_(static_cast<uint64_t>(std::ceil(p * 9007199254740992.0))) {}

  bool keep(int64_t i) const {
    uint64_t z = seed_ + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64's finaliser
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (z >> 11) >= threshold_;
  }

 private:
  uint64_t seed_;
  uint64_t threshold_;
};

// out[j] = keep(first + j) ? in[j] * scale : 0 for j < n (out may be in). The mask comes by
// value: read through a reference (or a lambda's capture) it might alias out, and the loop
// would not vectorise (measured 20x slower).
template <typename T>
inline void dropout_span(T* out, const T* in, int64_t n, DropoutMask mask, int64_t first, T scale) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = mask.keep(first + j) ? in[j] * scale : T(0);
}

// Inverted dropout over a buffer: out[i] = keep(i) ? x[i] / (1 - p) : 0, with
// DropoutMask(seed, p): backward regenerates the mask instead of storing it. out may be x.
template <typename T>
void dropout_apply(T* out, const T* x, int64_t n, double p, uint64_t seed);
template <typename T>
void dropout_apply(T* x, int64_t n, double p, uint64_t seed) {
  dropout_apply(x, x, n, p, seed);
}

}  // namespace bertrain::cpu
