#include "kernels/cuda/memory.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

void* device_allocate(size_t bytes) {
  void* p = nullptr;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky; clear it and let the Allocator report
    return nullptr;
  }
  return p;
}

void device_release(void* ptr) {
  check(cudaFree(ptr), "cudaFree");
}

void device_zero(void* ptr, size_t bytes) {
  check(cudaMemsetAsync(ptr, 0, bytes, stream()), "cudaMemsetAsync");
}

void upload(void* dst, const void* host_src, size_t bytes) {
  // From pageable host memory the copy has left host_src when this returns, so the caller may
  // reuse it at once.
  check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream()), "upload");
}

void download(void* host_dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream()), "download");
  synchronize();
}

void copy(float* dst, const float* src, int64_t n) {
  if (dst == src || n == 0) return;
  check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice,
                        stream()),
        "copy");
}

void fill_zero(float* x, int64_t n) {
  device_zero(x, static_cast<size_t>(n) * sizeof(float));
}

namespace {

// One block per row, threads over its columns; `gather` picks which side is indexed.
__global__ void indexed_rows_kernel(float* dst, const float* src, const int32_t* index, int cols,
                                    bool gather) {
  const int64_t i = blockIdx.x, r = index[i];
  float* d = dst + (gather ? i : r) * cols;
  const float* s = src + (gather ? r : i) * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c];
}

}  // namespace

void gather_rows(float* dst, const float* src, const int32_t* index, int n, int cols) {
  if (n == 0 || cols == 0) return;
  indexed_rows_kernel<<<n, 256, 0, stream()>>>(dst, src, index, cols, true);
  check_launch("gather_rows");
}

void scatter_rows(float* dst, const float* src, const int32_t* index, int n, int cols) {
  if (n == 0 || cols == 0) return;
  indexed_rows_kernel<<<n, 256, 0, stream()>>>(dst, src, index, cols, false);
  check_launch("scatter_rows");
}

void copy_rows(float* dst, int64_t dst_ld, const float* src, int64_t src_ld, int rows, int cols) {
  if (rows == 0 || cols == 0) return;
  check(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_ld) * sizeof(float), src,
                          static_cast<size_t>(src_ld) * sizeof(float),
                          static_cast<size_t>(cols) * sizeof(float), static_cast<size_t>(rows),
                          cudaMemcpyDeviceToDevice, stream()),
        "copy_rows");
}

}  // namespace bertrain::cuda
