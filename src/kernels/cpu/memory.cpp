#include "kernels/cpu/memory.h"

#include <algorithm>
#include <cstring>

#include "core/parallel.h"

namespace bertrain::cpu {

template <typename T>
void copy(T* dst, const T* src, int64_t n) {
  parallel_range(n, [&](int64_t b, int64_t e) { std::copy(src + b, src + e, dst + b); });
}

template <typename T>
void fill_zero(T* x, int64_t n) {
  parallel_range(n, [&](int64_t b, int64_t e) {
    std::memset(static_cast<void*>(x + b), 0, static_cast<size_t>(e - b) * sizeof(T));
  });
}

template <typename T>
void copy_rows(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, int rows, int cols) {
  for (int r = 0; r < rows; ++r) std::copy_n(src + r * src_ld, cols, dst + r * dst_ld);
}

template <typename T>
void gather_rows(T* dst, const T* src, const int32_t* index, int n, int cols) {
  parallel_for(
      n,
      [&](int64_t i) {
        std::copy_n(src + static_cast<int64_t>(index[i]) * cols, cols, dst + i * cols);
      },
      cols);
}

template <typename T>
void scatter_rows(T* dst, const T* src, const int32_t* index, int n, int cols) {
  parallel_for(
      n,
      [&](int64_t i) {
        std::copy_n(src + i * cols, cols, dst + static_cast<int64_t>(index[i]) * cols);
      },
      cols);
}

void upload(void* dst, const void* host_src, size_t bytes) {
  std::memcpy(dst, host_src, bytes);
}

void download(void* host_dst, const void* src, size_t bytes) {
  std::memcpy(host_dst, src, bytes);
}

#define BERTRAIN_INSTANTIATE(T)                                         \
  template void copy<T>(T*, const T*, int64_t);                         \
  template void fill_zero<T>(T*, int64_t);                              \
  template void copy_rows<T>(T*, int64_t, const T*, int64_t, int, int); \
  template void gather_rows<T>(T*, const T*, const int32_t*, int, int); \
  template void scatter_rows<T>(T*, const T*, const int32_t*, int, int);
BERTRAIN_INSTANTIATE(float)
BERTRAIN_INSTANTIATE(double)
#undef BERTRAIN_INSTANTIATE

}  // namespace bertrain::cpu
