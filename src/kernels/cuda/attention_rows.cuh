// The row pieces the CUDA attention kernels share (twin of kernels/cpu/attention_rows.h): one
// warp owns one row of S scores, each lane every 32nd element.
#pragma once

#include <cfloat>
#include <cstdint>

#include "kernels/cuda/warp.cuh"
#include "kernels/dropout_mask.h"

namespace bertrain::cuda {

// s / sqrt(D) + (mask ? 0 : float min), as HF adds its extended mask.
__device__ inline float scaled_score(float s, int32_t mask, float sqrt_d) {
  return s / sqrt_d + (mask ? 0.0f : -FLT_MAX);
}

// row = softmax(scaled_score(row)) in place; returns the row's log-sum-exp (in every lane).
__device__ inline float softmax_row(float* row, const int32_t* mask, int S, float sqrt_d,
                                    int lane) {
  float mx = -INFINITY;
  for (int j = lane; j < S; j += kWarp) {
    const float v = scaled_score(row[j], mask[j], sqrt_d);
    row[j] = v;
    mx = fmaxf(mx, v);
  }
  mx = warp_max(mx);
  float sum = 0;
  for (int j = lane; j < S; j += kWarp) {
    const float e = expf(row[j] - mx);
    row[j] = e;
    sum += e;
  }
  sum = warp_sum(sum);
  const float inv = 1.0f / sum;
  for (int j = lane; j < S; j += kWarp) row[j] *= inv;
  return mx + logf(sum);
}

// dr = dropout(dr) (the row's mask, when drop) and then the softmax backward with the
// 1/sqrt(D) scale: dr = p * (dr - sum(dr * p)) / sqrt(D).
__device__ inline void softmax_backward_row(float* dr, const float* p, int S, ElementMask keep,
                                            bool drop, float keep_scale, float inv_sqrt_d,
                                            int lane) {
  float dot = 0;
  for (int j = lane; j < S; j += kWarp) {
    float v = dr[j];
    if (drop) v = keep.keep(j) ? v * keep_scale : 0.0f;
    dr[j] = v;
    dot += v * p[j];
  }
  dot = warp_sum(dot);
  for (int j = lane; j < S; j += kWarp) dr[j] = p[j] * (dr[j] - dot) * inv_sqrt_d;
}

}  // namespace bertrain::cuda
