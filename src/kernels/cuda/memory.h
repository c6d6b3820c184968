// Device memory on the CUDA backend: the raw allocation an Allocator counts, host<->device
// copies, and the memory ops of the op table (twins of kernels/cpu/memory.h). Everything is
// queued on the backend's stream; download waits for it (a step's sync point).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bertrain::cuda {

void* device_allocate(size_t bytes);  // null when the device is out of memory
void device_release(void* ptr);
void device_zero(void* ptr, size_t bytes);

void upload(void* dst, const void* host_src, size_t bytes);
void download(void* host_dst, const void* src, size_t bytes);
void copy(float* dst, const float* src, int64_t n);
void fill_zero(float* x, int64_t n);
// dst[r * dst_ld + c] = src[r * src_ld + c] for r < rows, c < cols.
void copy_rows(float* dst, int64_t dst_ld, const float* src, int64_t src_ld, int rows, int cols);
// dst[i] = src[index[i]] / dst[index[i]] = src[i], rows of cols values (indices distinct).
void gather_rows(float* dst, const float* src, const int32_t* index, int n, int cols);
void scatter_rows(float* dst, const float* src, const int32_t* index, int n, int cols);

}  // namespace bertrain::cuda
