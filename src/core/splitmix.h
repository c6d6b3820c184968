// splitmix64's output function: a 64-bit mix of a counter, the base of the counter-based draws
// (dropout masks, masked-LM masking). Callable from CUDA kernels too.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define BERTRAIN_HOST_DEVICE __host__ __device__
#else
#define BERTRAIN_HOST_DEVICE
#endif

namespace bertrain {

// The splitmix64 value after state x: x + golden gamma, then the finaliser.
BERTRAIN_HOST_DEVICE inline uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace bertrain
