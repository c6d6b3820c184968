// The CUDA backend's runtime: one device, one stream that every kernel and copy of a step goes
// on (so ops are asynchronous and ordered; a download is the sync point), the cuBLASLt handle
// and its workspace, and the error checks. Errors throw bertrain::Error naming the call.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace bertrain::cuda {

// Throws Error("CUDA error in <what>: <message>") unless status is cudaSuccess.
void check(cudaError_t status, const char* what);
// After a kernel launch: the launch's own error.
void check_launch(const char* kernel);

// Number of CUDA devices visible (0 without a driver or GPU; never throws).
int device_count();
// "NVIDIA H200 (sm_90, 139.8 GiB)" for the current device.
std::string device_description();

cudaStream_t stream();
// Waits for everything queued on the stream.
void synchronize();

// Blocks of `threads` covering n items.
inline unsigned blocks_for(int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace bertrain::cuda
