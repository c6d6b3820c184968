// A sum over one block's threads in a fixed tree order (deterministic): the loss kernels that
// run as one block over a batch's few values, and the second pass of the sum of squares.
#pragma once

namespace bertrain::cuda {

// Every thread of a kThreads-thread block passes its part; every thread gets the total.
template <int kThreads>
__device__ inline double block_sum(double part) {
  __shared__ double scratch[kThreads];
  scratch[threadIdx.x] = part;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    __syncthreads();
  }
  return scratch[0];
}

}  // namespace bertrain::cuda
