#include "kernels/cuda/embedding.h"
#include "kernels/cuda/runtime.h"

namespace bertrain::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void embedding_forward_kernel(float* out, const int32_t* ids, const int32_t* types,
                                         const float* word, const float* pos, const float* type,
                                         int S, int H, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t r = i / H;
  const int c = static_cast<int>(i % H);
  const int s = static_cast<int>(r % S);
  out[i] =
      (word[static_cast<int64_t>(ids[r]) * H + c] + type[static_cast<int64_t>(types[r]) * H + c]) +
      pos[static_cast<int64_t>(s) * H + c];
}

// Thread c owns column c of all three tables, so rows sharing an id add up in row order.
__global__ void embedding_backward_kernel(float* dword, float* dpos, float* dtype,
                                          const float* dout, const int32_t* ids,
                                          const int32_t* types, int64_t rows, int S, int H,
                                          int padding_idx) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= H) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float g = dout[r * H + c];
    dpos[(r % S) * H + c] += g;
    dtype[static_cast<int64_t>(types[r]) * H + c] += g;
    if (ids[r] != padding_idx) dword[static_cast<int64_t>(ids[r]) * H + c] += g;
  }
}

}  // namespace

void embedding_forward(float* out, const int32_t* ids, const int32_t* types, const float* word,
                       const float* pos, const float* type, int B, int S, int H) {
  const int64_t n = static_cast<int64_t>(B) * S * H;
  if (n == 0) return;
  embedding_forward_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(
      out, ids, types, word, pos, type, S, H, n);
  check_launch("embedding_forward");
}

void embedding_backward(float* dword, float* dpos, float* dtype, const float* dout,
                        const int32_t* ids, const int32_t* types, int B, int S, int H,
                        int padding_idx) {
  if (H == 0) return;
  constexpr int kColumns = 32;  // a warp per block: H / 32 blocks spread over the SMs
  embedding_backward_kernel<<<blocks_for(H, kColumns), kColumns, 0, stream()>>>(
      dword, dpos, dtype, dout, ids, types, static_cast<int64_t>(B) * S, S, H, padding_idx);
  check_launch("embedding_backward");
}

}  // namespace bertrain::cuda
