#include <algorithm>
#include <cfloat>
#include <cmath>

#include "core/error.h"
#include "kernels/cuda/attention_bf16.h"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/warp.cuh"
#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // one warp per row
constexpr int kThreads = 256;

// The attention of up to chunk_rows() batch rows runs as one set of launches: the GEMMs batched
// over (row, head), whose strides are uniform in the head-major layouts. Its scratch, in
// 256-byte aligned pieces: the probability gradient (bf16, as autocast's matmul backward gives
// it), the dropped probabilities or the
// score gradient (bf16), the context or its gradient head-major (bf16), and dQ | dK | dV
// head-major (fp32), which one pass scatters into the rows of dqkv.
constexpr size_t kChunkBudget = size_t{32} << 20;  // bytes of scratch that bound a chunk
constexpr int kMaxChunkRows = 8;

size_t round256(size_t b) {
  return (b + 255) / 256 * 256;
}

struct Scratch {
  uint16_t* dp16;
  uint16_t* p16;
  uint16_t* heads16;
  float* dqkv_heads;
  int rows;  // batch rows per chunk
  size_t bytes;
  Scratch(std::byte* base, int S, int nh, int D) {
    const size_t SS = static_cast<size_t>(nh) * S * S, SD = static_cast<size_t>(nh) * S * D;
    const size_t per_row =
        SS * (2 * sizeof(uint16_t)) + SD * (sizeof(uint16_t) + 3 * sizeof(float));
    rows = static_cast<int>(
        std::clamp<size_t>(kChunkBudget / std::max<size_t>(per_row, 1), 1, kMaxChunkRows));
    const size_t a = round256(rows * SS * sizeof(uint16_t)),
                 b = round256(rows * SS * sizeof(uint16_t)),
                 c = round256(rows * SD * sizeof(uint16_t));
    dp16 = reinterpret_cast<uint16_t*>(base);
    p16 = reinterpret_cast<uint16_t*>(base + a);
    heads16 = reinterpret_cast<uint16_t*>(base + a + b);
    dqkv_heads = reinterpret_cast<float*>(base + a + b + c);
    bytes = a + b + c + round256(3 * rows * SD * sizeof(float));
  }
};

// The layout kernels below index with 32-bit unsigned arithmetic (64-bit division costs the GPU
// dozens of instructions); check_layout_size keeps their sizes under 2^32.
void check_layout_size(int64_t total, const char* what) {
  if (total >= (int64_t{1} << 32))
    fail(what, ": ", total, " elements, more than this kernel indexes (2^32)");
}

// qkv16[which][b][h][s][d] = rows16[b][s][which * H + h * D + d].
__global__ void qkv_to_heads_kernel(uint16_t* qkv16, const uint16_t* rows16, unsigned total,
                                    unsigned B, unsigned S, unsigned nh, unsigned D) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const unsigned d = i % D, s = i / D % S, h = i / D / S % nh, b = i / D / S / nh % B,
                 which = i / D / S / nh / B;
  const unsigned H = nh * D;
  qkv16[i] = rows16[(static_cast<size_t>(b) * S + s) * 3 * H + which * H + h * D + d];
}

// rows[b][s][which * H + h * D + d] = heads[which][b][h][s][d] for `parts` head-major tensors of
// n batch rows; each row of `rows` is row_len wide.
template <typename T>
__global__ void heads_to_rows_kernel(T* rows, const T* heads, unsigned total, unsigned n,
                                     unsigned S, unsigned nh, unsigned D, unsigned row_len) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const unsigned d = i % D, s = i / D % S, h = i / D / S % nh, b = i / D / S / nh % n,
                 which = i / D / S / nh / n;
  rows[(static_cast<size_t>(b) * S + s) * row_len + which * nh * D + h * D + d] = heads[i];
}

// The context gradient of n batch rows [n, S, H] (fp32) to head-major [n, nh, S, D] in bf16.
__global__ void dctx_to_heads_kernel(uint16_t* heads, const float* rows, unsigned total, unsigned S,
                                     unsigned nh, unsigned D) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const unsigned d = i % D, s = i / D % S, h = i / D / S % nh, b = i / D / S / nh;
  heads[i] = float_to_bf16(rows[(static_cast<size_t>(b) * S + s) * nh * D + h * D + d]);
}

// In place over rows of S scores, nh * S of them per batch row: p = bf16(softmax(s / sqrt(D) +
// (mask ? 0 : float min))) from the bf16 scores s, with the mask of the row's batch row.
__global__ void softmax_bf16_kernel(uint16_t* p, const int32_t* mask, int64_t rows, int S, int nh,
                                    float inv_sqrt_d) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (r >= rows) return;
  const int lane = threadIdx.x;
  uint16_t* row = p + r * S;
  const int32_t* m = mask + r / (static_cast<int64_t>(nh) * S) * S;
  auto x = [&](int j) { return bf16_to_float(row[j]) * inv_sqrt_d + (m[j] ? 0.0f : -FLT_MAX); };
  float mx = -INFINITY;
  for (int j = lane; j < S; j += kWarp) mx = fmaxf(mx, x(j));
  mx = warp_max(mx);
  float sum = 0;
  for (int j = lane; j < S; j += kWarp) sum += expf(x(j) - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int j = lane; j < S; j += kWarp) row[j] = float_to_bf16(expf(x(j) - mx) * inv);
}

// out = the dropped probabilities of n batch rows from b0: keep ? bf16(p * scale) : 0, each
// (batch row, head) with its own mask over its [S, S] elements.
__global__ void dropped_kernel(uint16_t* out, const uint16_t* p16, int S, int64_t heads,
                               int64_t first_head, int nh, DropoutMask mask, float scale) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(S) * S * heads) return;
  const int64_t row = i / S;  // over the heads' query rows
  const bool keep = mask.head_row(first_head + row / S, nh, row % S).keep(i % S);
  out[i] = keep ? float_to_bf16(bf16_to_float(p16[i]) * scale) : uint16_t(0);
}

// ds = bf16(p * (g - sum(g * p)) / sqrt(D)) per row, with g = dp, or through dropout g = kept ?
// dp * scale : 0, the mask read off the dropped probabilities that ds overwrites (zero exactly
// where an element was dropped or p = 0, where g does not matter).
__global__ void softmax_backward_bf16_kernel(uint16_t* ds, const uint16_t* dp16,
                                             const uint16_t* p16, int64_t rows, int S, bool dropped,
                                             float keep_scale, float inv_sqrt_d) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.y;
  if (r >= rows) return;
  const int lane = threadIdx.x;
  const int64_t off = r * S;
  auto g = [&](int j) {
    const float dp = bf16_to_float(dp16[off + j]);
    if (!dropped) return dp;
    return ds[off + j] != 0 ? dp * keep_scale : 0.0f;
  };
  float dot = 0;
  for (int j = lane; j < S; j += kWarp) dot += g(j) * bf16_to_float(p16[off + j]);
  dot = warp_sum(dot);
  for (int j = lane; j < S; j += kWarp) {
    const float v = bf16_to_float(p16[off + j]) * (g(j) - dot) * inv_sqrt_d;
    ds[off + j] = float_to_bf16(v);  // after this lane's own read of the element
  }
}

dim3 row_grid(int64_t rows) {
  return dim3(blocks_for(rows, kRowsPerBlock));
}

// The dropped probabilities of heads [first_head, first_head + heads) (nh a batch row) into out.
void launch_dropped(uint16_t* out, const uint16_t* p16, int S, int64_t heads, int64_t first_head,
                    int nh, const Dropout& drop, float keep_scale, const char* what) {
  dropped_kernel<<<blocks_for(static_cast<int64_t>(S) * S * heads, kThreads), kThreads, 0,
                   stream()>>>(out, p16, S, heads, first_head, nh, DropoutMask(drop), keep_scale);
  check_launch(what);
}

template <typename T>
void heads_to_rows(T* rows, const T* heads, int parts, int n, int S, int nh, int D, int row_len) {
  const int64_t total = static_cast<int64_t>(parts) * n * nh * S * D;
  check_layout_size(total, "attention heads to rows");
  heads_to_rows_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(
      rows, heads, static_cast<unsigned>(total), n, S, nh, D, row_len);
  check_launch("attention heads to rows (bf16)");
}

}  // namespace

void qkv_to_heads_bf16(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh, int D) {
  const int64_t n = 3LL * B * nh * S * D;
  if (n == 0) return;
  check_layout_size(n, "qkv_to_heads_bf16");
  qkv_to_heads_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(
      qkv16, rows16, static_cast<unsigned>(n), B, S, nh, D);
  check_launch("qkv_to_heads_bf16");
}

size_t attention_bf16_scratch_bytes(int S, int nh, int D) {
  return Scratch(nullptr, S, nh, D).bytes;
}

void attention_forward_bf16(uint16_t* ctx16, uint16_t* probs16, const uint16_t* qkv16,
                            const int32_t* mask, int B, int S, int nh, int D, const Dropout& drop,
                            std::byte* scratch) {
  const int H = nh * D;
  const int64_t SS = static_cast<int64_t>(S) * S, SD = static_cast<int64_t>(S) * D;
  const int64_t part = static_cast<int64_t>(B) * nh * SD;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  Scratch w(scratch, S, nh, D);
  const dim3 warps(kWarp, kRowsPerBlock);
  for (int b0 = 0; b0 < B; b0 += w.rows) {
    const int n = std::min(w.rows, B - b0), heads = n * nh;
    const uint16_t* q = qkv16 + b0 * nh * SD;
    const uint16_t *k = q + part, *v = q + 2 * part;
    uint16_t* p16 = probs16 + b0 * nh * SS;
    // Scores in bf16, written where the probabilities are kept; the softmax runs in place.
    gemm_bf16(false, true, S, S, D, 1.0f, q, D, k, D, 0.0f, p16, S, true, {heads, SD, SD, SS});
    softmax_bf16_kernel<<<row_grid(static_cast<int64_t>(heads) * S), warps, 0, stream()>>>(
        p16, mask + static_cast<int64_t>(b0) * S, static_cast<int64_t>(heads) * S, S, nh,
        inv_sqrt_d);
    check_launch("attention softmax (bf16)");
    const uint16_t* pv = p16;
    if (drop.p > 0) {
      launch_dropped(w.p16, p16, S, heads, static_cast<int64_t>(b0) * nh, nh, drop, keep_scale,
                     "attention dropout (bf16)");
      pv = w.p16;
    }
    // The context head-major in bf16, then into the heads' columns of the [S, H] rows.
    gemm_bf16(false, false, S, D, S, 1.0f, pv, S, v, D, 0.0f, w.heads16, D, true,
              {heads, SS, SD, SD});
    heads_to_rows(ctx16 + static_cast<int64_t>(b0) * S * H, w.heads16, 1, n, S, nh, D, H);
  }
}

void attention_backward_bf16(float* dqkv, const float* dctx, const uint16_t* qkv16,
                             const uint16_t* probs16, int B, int S, int nh, int D,
                             const Dropout& drop, std::byte* scratch) {
  const int H = nh * D;
  const int64_t SS = static_cast<int64_t>(S) * S, SD = static_cast<int64_t>(S) * D;
  const int64_t part = static_cast<int64_t>(B) * nh * SD;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - drop.p));
  Scratch w(scratch, S, nh, D);
  const dim3 warps(kWarp, kRowsPerBlock);
  for (int b0 = 0; b0 < B; b0 += w.rows) {
    const int n = std::min(w.rows, B - b0), heads = n * nh;
    const uint16_t* q = qkv16 + b0 * nh * SD;
    const uint16_t *k = q + part, *v = q + 2 * part;
    const uint16_t* p16 = probs16 + b0 * nh * SS;
    const int64_t hsd = static_cast<int64_t>(heads) * SD;
    float *dq = w.dqkv_heads, *dk = dq + hsd, *dv = dk + hsd;
    check_layout_size(hsd, "attention dctx to heads");
    dctx_to_heads_kernel<<<blocks_for(hsd, kThreads), kThreads, 0, stream()>>>(
        w.heads16, dctx + static_cast<int64_t>(b0) * S * H, static_cast<unsigned>(hsd), S, nh, D);
    check_launch("attention dctx to heads (bf16)");
    const uint16_t* pv = p16;
    if (drop.p > 0) {
      launch_dropped(w.p16, p16, S, heads, static_cast<int64_t>(b0) * nh, nh, drop, keep_scale,
                     "attention dropout (bf16 backward)");
      pv = w.p16;
    }
    // dV = P'^T dctx ; dP' = dctx V^T
    gemm_bf16(true, false, S, D, S, 1.0f, pv, S, w.heads16, D, 0.0f, dv, D, false,
              {heads, SS, SD, SD});
    gemm_bf16(false, true, S, S, D, 1.0f, w.heads16, D, v, D, 0.0f, w.dp16, S, true,
              {heads, SD, SD, SS});
    softmax_backward_bf16_kernel<<<row_grid(static_cast<int64_t>(heads) * S), warps, 0, stream()>>>(
        w.p16, w.dp16, p16, static_cast<int64_t>(heads) * S, S, drop.p > 0, keep_scale, inv_sqrt_d);
    check_launch("attention softmax backward (bf16)");
    // dQ = dS K ; dK = dS^T Q
    gemm_bf16(false, false, S, D, S, 1.0f, w.p16, S, k, D, 0.0f, dq, D, false, {heads, SS, SD, SD});
    gemm_bf16(true, false, S, D, S, 1.0f, w.p16, S, q, D, 0.0f, dk, D, false, {heads, SS, SD, SD});
    heads_to_rows(dqkv + static_cast<int64_t>(b0) * S * 3 * H, w.dqkv_heads, 3, n, S, nh, D, 3 * H);
  }
}

}  // namespace bertrain::cuda
