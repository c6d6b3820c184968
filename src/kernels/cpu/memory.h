// Moving and clearing device memory (on the CPU backend, host memory): copies, zero fills,
// row gathers, and copies between host buffers and device memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bertrain::cpu {

// dst = src over the pool (a serial memcpy of a large tensor leaves the other cores idle).
template <typename T>
void copy(T* dst, const T* src, int64_t n);

// x = 0 over the pool.
template <typename T>
void fill_zero(T* x, int64_t n);

// dst row r (row stride dst_ld) = src row r (row stride src_ld), cols values, r < rows: the
// [CLS] rows gathered from the encoder output, or their gradient scattered back.
template <typename T>
void copy_rows(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, int rows, int cols);

// Indexed rows of cols values: gather dst[i] = src[index[i]], scatter dst[index[i]] = src[i]
// (the masked-LM head's labelled positions, and their gradient back; indices distinct).
template <typename T>
void gather_rows(T* dst, const T* src, const int32_t* index, int n, int cols);
template <typename T>
void scatter_rows(T* dst, const T* src, const int32_t* index, int n, int cols);

// bytes from host memory (a batch as the loader built it) to device memory, and from device
// memory to host memory (the results a caller reads: probabilities, predictions).
void upload(void* dst, const void* host_src, size_t bytes);
void download(void* host_dst, const void* src, size_t bytes);
// Waits for queued work: nothing is queued on the CPU.
inline void synchronize() {}

}  // namespace bertrain::cpu
