// A sum over one block's threads in a fixed tree order (deterministic), for the loss kernels
// that run as one block over a batch's few values.
#pragma once

namespace bertrain::cuda {

// Every thread passes its part; thread 0 gets the total. `scratch` holds blockDim.x doubles.
template <int kThreads>
__device__ inline double block_sum(double part, double* scratch) {
  scratch[threadIdx.x] = part;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    __syncthreads();
  }
  return scratch[0];
}

}  // namespace bertrain::cuda
