#include "kernels/cuda/embedding.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/warp.cuh"

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

constexpr int kTile = 128;  // threads of add_rows_by_key_kernel, rows per tile, columns per block
constexpr int kInFlight = 16;

// table[keys[r]] += dout[r] for every row whose key is not `skip`, each key's rows added in row
// order: the CPU's order, so the sums are bit-identical. Block (x, y) belongs to row x and to
// columns [y * kTile, (y + 1) * kTile); the blocks of a key's first row (its leader) do that
// key's work and the others leave. A leader walks the rows from its own in tiles: it lists a
// tile's matching rows in order in shared memory (warp ballots), then each thread adds them to
// its column with kInFlight rows' loads in flight.
__global__ void add_rows_by_key_kernel(float* table, const float* dout, const int32_t* keys,
                                       int64_t rows, int H, int skip) {
  const int64_t first = blockIdx.x;
  const int key = keys[first];
  if (key == skip) return;  // the whole block
  bool earlier = false;
  for (int64_t r = threadIdx.x; r < first; r += kTile) earlier |= keys[r] == key;
  if (__syncthreads_or(earlier)) return;
  __shared__ int32_t list[kTile];
  __shared__ int warp_counts[kTile / kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int c = blockIdx.y * kTile + threadIdx.x;
  float* out = table + static_cast<int64_t>(key) * H;
  for (int64_t t0 = first; t0 < rows; t0 += kTile) {
    const bool match = t0 + threadIdx.x < rows && keys[t0 + threadIdx.x] == key;
    const unsigned ballot = __ballot_sync(0xffffffffu, match);
    if (lane == 0) warp_counts[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, n = 0;
    for (int w = 0; w < kTile / kWarp; ++w) {
      before += w < warp ? warp_counts[w] : 0;
      n += warp_counts[w];
    }
    if (match) list[before + __popc(ballot & ((1u << lane) - 1))] = threadIdx.x;
    __syncthreads();
    if (c < H) {
      const float* tile = dout + t0 * H + c;
      float acc = out[c];
      int i = 0;
      for (; i + kInFlight <= n; i += kInFlight) {
        float g[kInFlight];
        for (int j = 0; j < kInFlight; ++j) g[j] = tile[static_cast<int64_t>(list[i + j]) * H];
        for (int j = 0; j < kInFlight; ++j) acc += g[j];
      }
      for (; i < n; ++i) acc += tile[static_cast<int64_t>(list[i]) * H];
      out[c] = acc;
    }
    __syncthreads();  // the list is rewritten by the next tile
  }
}

// dpos[s, c] += dout[b, s, c] over b in order: one thread per (s, c).
__global__ void add_positions_kernel(float* dpos, const float* dout, int B, int S, int H) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t SH = static_cast<int64_t>(S) * H;
  if (i >= SH) return;
  float acc = dpos[i];
  for (int b = 0; b < B; ++b) acc += dout[b * SH + i];
  dpos[i] = acc;
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
  const int64_t rows = static_cast<int64_t>(B) * S;
  if (H == 0 || rows == 0) return;
  const dim3 grid(static_cast<unsigned>(rows), blocks_for(H, kTile));
  add_rows_by_key_kernel<<<grid, kTile, 0, stream()>>>(dword, dout, ids, rows, H, padding_idx);
  add_rows_by_key_kernel<<<grid, kTile, 0, stream()>>>(dtype, dout, types, rows, H, -1);
  add_positions_kernel<<<blocks_for(static_cast<int64_t>(S) * H, kThreads), kThreads, 0,
                         stream()>>>(dpos, dout, B, S, H);
  check_launch("embedding_backward");
}

}  // namespace bertrain::cuda
