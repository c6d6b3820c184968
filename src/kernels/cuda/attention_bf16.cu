#include <cfloat>
#include <cmath>

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

// A batch row's scratch: the probability gradient (fp32), the dropped probabilities or the
// score gradient (bf16), the context gradient head-major (bf16). 256-byte aligned pieces.
struct Scratch {
  float* dp;
  uint16_t* p16;
  uint16_t* dctx16;
  size_t bytes;
  Scratch(std::byte* base, int S, int nh, int D) {
    const size_t SS = static_cast<size_t>(nh) * S * S, SD = static_cast<size_t>(nh) * S * D;
    auto round = [](size_t b) { return (b + 255) / 256 * 256; };
    const size_t a = round(SS * sizeof(float)), b = round(SS * sizeof(uint16_t));
    dp = reinterpret_cast<float*>(base);
    p16 = reinterpret_cast<uint16_t*>(base + a);
    dctx16 = reinterpret_cast<uint16_t*>(base + a + b);
    bytes = a + b + round(SD * sizeof(uint16_t));
  }
};

// qkv16[which][b][h][s][d] = rows16[b][s][which * H + h * D + d].
__global__ void qkv_to_heads_kernel(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh,
                                    int D) {
  const int64_t n = 3LL * B * nh * S * D;
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int d = static_cast<int>(i % D);
  const int64_t s = (i / D) % S, h = (i / D / S) % nh, b = (i / D / S / nh) % B,
                which = i / D / S / nh / B;
  const int H = nh * D;
  qkv16[i] = rows16[(b * S + s) * 3 * H + which * H + h * D + d];
}

// The context gradient of batch row b's rows [S, H] (fp32) to head-major [nh, S, D] in bf16.
__global__ void dctx_to_heads_kernel(uint16_t* heads, const float* rows, int S, int nh, int D) {
  const int64_t n = static_cast<int64_t>(nh) * S * D;
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int d = static_cast<int>(i % D);
  const int64_t s = (i / D) % S, h = i / D / S;
  heads[i] = float_to_bf16(rows[s * nh * D + h * D + d]);
}

// In place over the nh * S rows of one batch row: p = bf16(softmax(s / sqrt(D) + (mask ? 0 :
// float min))) from the bf16 scores s.
__global__ void softmax_bf16_kernel(uint16_t* p, const int32_t* mask, int rows, int S,
                                    float inv_sqrt_d) {
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.y;
  if (r >= rows) return;
  const int lane = threadIdx.x;
  uint16_t* row = p + static_cast<int64_t>(r) * S;
  auto x = [&](int j) { return bf16_to_float(row[j]) * inv_sqrt_d + (mask[j] ? 0.0f : -FLT_MAX); };
  float mx = -INFINITY;
  for (int j = lane; j < S; j += kWarp) mx = fmaxf(mx, x(j));
  mx = warp_max(mx);
  float sum = 0;
  for (int j = lane; j < S; j += kWarp) sum += expf(x(j) - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int j = lane; j < S; j += kWarp) row[j] = float_to_bf16(expf(x(j) - mx) * inv);
}

// out = the dropped probabilities of batch row b: keep ? bf16(p * scale) : 0, each head with
// its own mask over its [S, S] elements.
__global__ void dropped_kernel(uint16_t* out, const uint16_t* p16, int64_t SS, int nh, int64_t b,
                               uint64_t seed, double p, float scale) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= SS * nh) return;
  const int64_t h = i / SS;
  const DropoutMask keep(attention_head_seed(seed, b * nh + h), p);
  out[i] = keep.keep(i % SS) ? float_to_bf16(bf16_to_float(p16[i]) * scale) : uint16_t(0);
}

// ds = bf16(p * (g - sum(g * p)) / sqrt(D)) per row, with g = dp, or through dropout g = kept ?
// dp * scale : 0, the mask read off the dropped probabilities that ds overwrites (zero exactly
// where an element was dropped or p = 0, where g does not matter).
__global__ void softmax_backward_bf16_kernel(uint16_t* ds, const float* dp, const uint16_t* p16,
                                             int rows, int S, bool dropped, float keep_scale,
                                             float inv_sqrt_d) {
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.y;
  if (r >= rows) return;
  const int lane = threadIdx.x;
  const int64_t off = static_cast<int64_t>(r) * S;
  auto g = [&](int j) {
    if (!dropped) return dp[off + j];
    return ds[off + j] != 0 ? dp[off + j] * keep_scale : 0.0f;
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

}  // namespace

void qkv_to_heads_bf16(uint16_t* qkv16, const uint16_t* rows16, int B, int S, int nh, int D) {
  const int64_t n = 3LL * B * nh * S * D;
  if (n == 0) return;
  qkv_to_heads_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(qkv16, rows16, B, S, nh,
                                                                          D);
  check_launch("qkv_to_heads_bf16");
}

size_t attention_bf16_scratch_bytes(int S, int nh, int D) {
  return Scratch(nullptr, S, nh, D).bytes;
}

void attention_forward_bf16(uint16_t* ctx16, uint16_t* probs16, const uint16_t* qkv16,
                            const int32_t* mask, int B, int S, int nh, int D, double dropout_p,
                            uint64_t seed, std::byte* scratch) {
  const int H = nh * D;
  const int64_t SS = static_cast<int64_t>(S) * S, SD = static_cast<int64_t>(S) * D;
  const int64_t part = static_cast<int64_t>(B) * nh * SD;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - dropout_p));
  Scratch w(scratch, S, nh, D);
  const dim3 warps(kWarp, kRowsPerBlock);
  for (int b = 0; b < B; ++b) {
    const uint16_t* q = qkv16 + b * nh * SD;
    const uint16_t *k = q + part, *v = q + 2 * part;
    uint16_t* p16 = probs16 + b * nh * SS;
    // Scores in bf16, written where the probabilities are kept; the softmax runs in place.
    gemm_bf16(false, true, S, S, D, 1.0f, q, D, k, D, 0.0f, p16, S, true, {nh, SD, SD, SS});
    softmax_bf16_kernel<<<row_grid(static_cast<int64_t>(nh) * S), warps, 0, stream()>>>(
        p16, mask + static_cast<int64_t>(b) * S, nh * S, S, inv_sqrt_d);
    check_launch("attention softmax (bf16)");
    const uint16_t* pv = p16;
    if (dropout_p > 0) {
      dropped_kernel<<<blocks_for(SS * nh, kThreads), kThreads, 0, stream()>>>(
          w.p16, p16, SS, nh, b, seed, dropout_p, keep_scale);
      check_launch("attention dropout (bf16)");
      pv = w.p16;
    }
    // The context of every head straight into its columns of the [S, H] rows, in bf16.
    gemm_bf16(false, false, S, D, S, 1.0f, pv, S, v, D, 0.0f, ctx16 + b * S * H, H, true,
              {nh, SS, SD, D});
  }
}

void attention_backward_bf16(float* dqkv, const float* dctx, const uint16_t* qkv16,
                             const uint16_t* probs16, int B, int S, int nh, int D, double dropout_p,
                             uint64_t seed, std::byte* scratch) {
  const int H = nh * D;
  const int64_t SS = static_cast<int64_t>(S) * S, SD = static_cast<int64_t>(S) * D;
  const int64_t part = static_cast<int64_t>(B) * nh * SD;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(D));
  const float keep_scale = static_cast<float>(1.0 / (1.0 - dropout_p));
  Scratch w(scratch, S, nh, D);
  const dim3 warps(kWarp, kRowsPerBlock);
  for (int b = 0; b < B; ++b) {
    const uint16_t* q = qkv16 + b * nh * SD;
    const uint16_t *k = q + part, *v = q + 2 * part;
    const uint16_t* p16 = probs16 + b * nh * SS;
    float* rows = dqkv + static_cast<int64_t>(b) * S * 3 * H;  // dQ | dK | dV columns
    dctx_to_heads_kernel<<<blocks_for(static_cast<int64_t>(nh) * SD, kThreads), kThreads, 0,
                           stream()>>>(w.dctx16, dctx + static_cast<int64_t>(b) * S * H, S, nh, D);
    check_launch("attention dctx to heads (bf16)");
    const uint16_t* pv = p16;
    if (dropout_p > 0) {
      dropped_kernel<<<blocks_for(SS * nh, kThreads), kThreads, 0, stream()>>>(
          w.p16, p16, SS, nh, b, seed, dropout_p, keep_scale);
      check_launch("attention dropout (bf16 backward)");
      pv = w.p16;
    }
    // dV = P'^T dctx (into the V columns of the rows) ; dP' = dctx V^T
    gemm_bf16(true, false, S, D, S, 1.0f, pv, S, w.dctx16, D, 0.0f, rows + 2 * H, 3 * H, false,
              {nh, SS, SD, D});
    gemm_bf16(false, true, S, S, D, 1.0f, w.dctx16, D, v, D, 0.0f, w.dp, S, false,
              {nh, SD, SD, SS});
    softmax_backward_bf16_kernel<<<row_grid(static_cast<int64_t>(nh) * S), warps, 0, stream()>>>(
        w.p16, w.dp, p16, nh * S, S, dropout_p > 0, keep_scale, inv_sqrt_d);
    check_launch("attention softmax backward (bf16)");
    // dQ = dS K ; dK = dS^T Q
    gemm_bf16(false, false, S, D, S, 1.0f, w.p16, S, k, D, 0.0f, rows, 3 * H, false,
              {nh, SS, SD, D});
    gemm_bf16(true, false, S, D, S, 1.0f, w.p16, S, q, D, 0.0f, rows + H, 3 * H, false,
              {nh, SS, SD, D});
  }
}

}  // namespace bertrain::cuda
