// Reductions across the 32 lanes of a warp (every lane gets the result), for the kernels that
// give each row to one warp.
#pragma once

namespace bertrain::cuda {

constexpr int kWarp = 32;

__device__ inline float warp_sum(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace bertrain::cuda
