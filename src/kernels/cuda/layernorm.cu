#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/layernorm.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/warp.cuh"
#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

namespace {

constexpr int kRowsPerBlock = 8;  // one warp per row

// Row r of LayerNorm by one warp; with `a` and `b` given, the row is their sum (written to x).
__global__ void layernorm_forward_kernel(float* out, float* mean_out, float* rstd_out, float* x,
                                         const float* a, const float* b, const float* gamma,
                                         const float* beta, int N, int C, float eps) {
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.y;
  if (r >= N) return;
  const int lane = threadIdx.x;
  float* xr = x + static_cast<int64_t>(r) * C;
  if (a) {
    const float* ar = a + static_cast<int64_t>(r) * C;
    const float* br = b + static_cast<int64_t>(r) * C;
    for (int c = lane; c < C; c += kWarp) xr[c] = ar[c] + br[c];
    __syncwarp();
  }
  float sum = 0;
  for (int c = lane; c < C; c += kWarp) sum += xr[c];
  const float mean = warp_sum(sum) / C;
  float var = 0;
  for (int c = lane; c < C; c += kWarp) {
    const float d = xr[c] - mean;
    var += d * d;
  }
  const float rstd = rsqrtf(warp_sum(var) / C + eps);
  float* o = out + static_cast<int64_t>(r) * C;
  for (int c = lane; c < C; c += kWarp) o[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
  if (lane == 0) {
    mean_out[r] = mean;
    rstd_out[r] = rstd;
  }
}

__device__ float widen(float v) {
  return v;
}
__device__ float widen(uint16_t h) {
  return bf16_to_float(h);
}

template <typename X>
__global__ void layernorm_backward_x_kernel(float* dx, const float* dout, const X* x,
                                            const float* mean, const float* rstd,
                                            const float* gamma, int N, int C) {
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.y;
  if (r >= N) return;
  const int lane = threadIdx.x;
  const X* xr = x + static_cast<int64_t>(r) * C;
  const float* g = dout + static_cast<int64_t>(r) * C;
  const float m = mean[r], s = rstd[r];
  float sum_dxhat = 0, sum_dxhat_xhat = 0;
  for (int c = lane; c < C; c += kWarp) {
    const float xhat = (widen(xr[c]) - m) * s;
    const float dxhat = g[c] * gamma[c];
    sum_dxhat += dxhat;
    sum_dxhat_xhat += dxhat * xhat;
  }
  const float mean_dxhat = warp_sum(sum_dxhat) / C;
  const float mean_dxhat_xhat = warp_sum(sum_dxhat_xhat) / C;
  float* d = dx + static_cast<int64_t>(r) * C;
  for (int c = lane; c < C; c += kWarp) {
    const float xhat = (widen(xr[c]) - m) * s;
    d[c] = s * (g[c] * gamma[c] - mean_dxhat - xhat * mean_dxhat_xhat);
  }
}

// dgamma[c] += sum_r dout * xhat, dbeta[c] += sum_r dout (column_sums.cuh).
template <typename X>
__global__ void layernorm_backward_params_kernel(float* dgamma, float* dbeta, const float* dout,
                                                 const X* x, const float* mean, const float* rstd,
                                                 int N, int C) {
  const int c = blockIdx.x * kColumns + threadIdx.x;
  float sums[2] = {0, 0};  // dgamma, dbeta
  if (c < C)
    for (int r = threadIdx.y; r < N; r += kColumnLanes) {
      const int64_t i = static_cast<int64_t>(r) * C + c;
      sums[0] += dout[i] * ((widen(x[i]) - mean[r]) * rstd[r]);
      sums[1] += dout[i];
    }
  reduce_column_lanes(sums);
  if (threadIdx.y == 0 && c < C) {
    dgamma[c] += sums[0];
    dbeta[c] += sums[1];
  }
}

// One row by one warp: v = dropout(bf16 dense) + residual, kept as bf16 in sum16; LayerNorm of
// the fp32 v (held in out); the output rounded to bf16 (out16, and out widened back).
__global__ void add_layernorm_forward_bf16_kernel(
    float* out, uint16_t* out16, uint16_t* sum16, float* mean_out, float* rstd_out,
    const uint16_t* dense16, DropoutMask mask, bool dropout, float keep_scale,
    const float* residual, const float* gamma, const float* beta, int N, int S, int C, float eps) {
  const int r = blockIdx.x * kRowsPerBlock + threadIdx.y;
  if (r >= N) return;
  const int lane = threadIdx.x;
  const int64_t row = static_cast<int64_t>(r) * C;
  const ElementMask keep = mask.sample(r / S, static_cast<int64_t>(r % S) * C);
  float sum = 0;
  for (int c = lane; c < C; c += kWarp) {
    float v = bf16_to_float(dense16[row + c]);
    if (dropout) v = keep.keep(c) ? v * keep_scale : 0.0f;
    v += residual[row + c];
    out[row + c] = v;
    sum16[row + c] = float_to_bf16(v);
    sum += v;
  }
  const float mean = warp_sum(sum) / C;
  float var = 0;
  for (int c = lane; c < C; c += kWarp) {
    const float d = out[row + c] - mean;
    var += d * d;
  }
  const float rstd = rsqrtf(warp_sum(var) / C + eps);
  for (int c = lane; c < C; c += kWarp) {
    const uint16_t h = float_to_bf16((out[row + c] - mean) * rstd * gamma[c] + beta[c]);
    out16[row + c] = h;
    out[row + c] = bf16_to_float(h);
  }
  if (lane == 0) {
    mean_out[r] = mean;
    rstd_out[r] = rstd;
  }
}

template <typename X>
void launch_backward(float* dx, float* dgamma, float* dbeta, const float* dout, const X* x,
                     const float* mean, const float* rstd, const float* gamma, int N, int C) {
  if (N == 0) return;
  const dim3 block(kWarp, kRowsPerBlock);
  layernorm_backward_x_kernel<<<blocks_for(N, kRowsPerBlock), block, 0, stream()>>>(
      dx, dout, x, mean, rstd, gamma, N, C);
  check_launch("layernorm_backward (dx)");
  layernorm_backward_params_kernel<<<column_sums_grid(C), column_sums_block(), 0, stream()>>>(
      dgamma, dbeta, dout, x, mean, rstd, N, C);
  check_launch("layernorm_backward (dgamma, dbeta)");
}

void launch_forward(float* out, float* mean, float* rstd, float* x, const float* a, const float* b,
                    const float* gamma, const float* beta, int N, int C, double eps) {
  if (N == 0) return;
  const dim3 block(kWarp, kRowsPerBlock);
  layernorm_forward_kernel<<<blocks_for(N, kRowsPerBlock), block, 0, stream()>>>(
      out, mean, rstd, x, a, b, gamma, beta, N, C, static_cast<float>(eps));
  check_launch("layernorm_forward");
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* gamma,
                       const float* beta, int N, int C, double eps) {
  // Without a and b the kernel only reads x.
  launch_forward(out, mean, rstd, const_cast<float*>(x), nullptr, nullptr, gamma, beta, N, C, eps);
}

void add_layernorm_forward(float* out, float* sum, float* mean, float* rstd, const float* a,
                           const float* b, const float* gamma, const float* beta, int N, int C,
                           double eps) {
  launch_forward(out, mean, rstd, sum, a, b, gamma, beta, N, C, eps);
}

void layernorm_backward(float* dx, float* dgamma, float* dbeta, const float* dout, const float* x,
                        const float* mean, const float* rstd, const float* gamma, int N, int C) {
  launch_backward(dx, dgamma, dbeta, dout, x, mean, rstd, gamma, N, C);
}

void layernorm_backward_bf16(float* dx, float* dgamma, float* dbeta, const float* dout,
                             const uint16_t* x16, const float* mean, const float* rstd,
                             const float* gamma, int N, int C) {
  launch_backward(dx, dgamma, dbeta, dout, x16, mean, rstd, gamma, N, C);
}

void add_layernorm_forward_bf16(float* out, uint16_t* out16, uint16_t* sum16, float* mean,
                                float* rstd, const uint16_t* dense16, const Dropout& drop,
                                const float* residual, const float* gamma, const float* beta, int B,
                                int S, int C, double eps) {
  const int N = B * S;
  if (N == 0) return;
  const dim3 block(kWarp, kRowsPerBlock);
  add_layernorm_forward_bf16_kernel<<<blocks_for(N, kRowsPerBlock), block, 0, stream()>>>(
      out, out16, sum16, mean, rstd, dense16, DropoutMask(drop), drop.p > 0,
      static_cast<float>(1.0 / (1.0 - drop.p)), residual, gamma, beta, N, S, C,
      static_cast<float>(eps));
  check_launch("add_layernorm_forward_bf16");
}

}  // namespace bertrain::cuda
