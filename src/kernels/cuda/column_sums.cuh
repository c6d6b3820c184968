// Sums down the columns of a row-major [N, C] matrix (bias and LayerNorm parameter gradients):
// a block of kColumns columns x kColumnLanes row lanes. Lane y sums rows y, y + kColumnLanes,
// ... in order (a warp reads 4 rows of 8 consecutive floats, whole 32-byte sectors); the lanes'
// partials are then added in a fixed tree in shared memory. No atomics: every run gives the same
// bits, and one launch of C / 8 blocks (96 for bert-base's 768 columns, so most of the SMs)
// replaces a thread per column walking all N rows.
#pragma once

namespace bertrain::cuda {

constexpr int kColumns = 8;
constexpr int kColumnLanes = 128;

inline dim3 column_sums_block() {
  return dim3(kColumns, kColumnLanes);
}

inline unsigned column_sums_grid(int C) {
  return static_cast<unsigned>((C + kColumns - 1) / kColumns);
}

// Reduces each of the K partial sums of this thread's column over the block's row lanes; every
// thread of the block must call it (it synchronises). The totals end up in lane y == 0.
template <int K>
__device__ void reduce_column_lanes(float (&v)[K]) {
  __shared__ float s[K][kColumnLanes][kColumns + 1];
  const int x = threadIdx.x, y = threadIdx.y;
  for (int k = 0; k < K; ++k) s[k][y][x] = v[k];
  __syncthreads();
  for (int half = kColumnLanes / 2; half > 0; half /= 2) {
    if (y < half)
      for (int k = 0; k < K; ++k) s[k][y][x] += s[k][y + half][x];
    __syncthreads();
  }
  for (int k = 0; k < K; ++k) v[k] = s[k][0][x];
}

}  // namespace bertrain::cuda
