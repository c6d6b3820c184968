// bf16 <-> fp32 in device code, on raw uint16_t storage (the model's 16-bit copies), rounding to
// nearest even as the CPU's core/dtype.h does.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace bertrain::cuda {

__device__ inline float bf16_to_float(uint16_t h) {
  return __bfloat162float(__ushort_as_bfloat16(h));
}

__device__ inline uint16_t float_to_bf16(float x) {
  return __bfloat16_as_ushort(__float2bfloat16_rn(x));
}

}  // namespace bertrain::cuda
