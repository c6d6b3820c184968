// The dropout masks every backend draws: keep(i) is a pure function of (seed, i), a
// counter-based hash, so backward (and a recomputing forward) regenerates the mask instead of
// storing it, and a GPU step draws the same mask as a CPU step. Inline and branch-free so that
// the CPU loops using it vectorise; callable from CUDA kernels too.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define BERTRAIN_HOST_DEVICE __host__ __device__
#else
#define BERTRAIN_HOST_DEVICE
#endif

namespace bertrain {

class DropoutMask {
 public:
  // Element i is kept when its 53-bit uniform draw u = h >> 11 (a fraction of 2^53) is >= p,
  // i.e. when h >> 11 >= ceil(p * 2^53); p * 2^53 is exact in double.
  BERTRAIN_HOST_DEVICE DropoutMask(uint64_t seed, double p)
      : seed_(seed), threshold_(static_cast<uint64_t>(::ceil(p * 9007199254740992.0))) {}

  BERTRAIN_HOST_DEVICE bool keep(int64_t i) const {
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

// The seed of the attention-probability mask of (batch row, head) bh = b * heads + h; element
// i * S + j of that head's [S, S] probabilities is masked by DropoutMask(seed, p).keep.
BERTRAIN_HOST_DEVICE inline uint64_t attention_head_seed(uint64_t seed, int64_t bh) {
  return seed ^ (0x5851f42d4c957f2dull * static_cast<uint64_t>(bh + 1));
}

}  // namespace bertrain
