// Column sums of a row-major [N, C] matrix that a pass computes as it writes it (bias
// gradients of the bf16 path), read once front to back. Each fixed block of kSumRows rows sums
// into its own row of a planned scratch, the blocks running in parallel and each row streamed
// whole; then the blocks' sums are added in block order. A walk by column blocks instead jumps a
// row's length (12 KB at bert-base's FFN) for every 256 bytes it reads, and loses the hardware's
// streaming. The result depends only on the shape, not on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/parallel.h"

namespace bertrain::cpu {

constexpr int kSumRows = 64;

// Floats of scratch that fused_column_sums takes for [N, C] (the bf16 op table's
// column_sums_scratch_floats).
inline size_t column_sums_scratch_floats(int N, int C) {
  return static_cast<size_t>((N + kSumRows - 1) / kSumRows) * static_cast<size_t>(C);
}

// For each row r: row(r, acc) writes what the pass writes for row r and adds its values into
// acc[0, C). Then sums[c] += the total over all rows.
template <typename Row>
void fused_column_sums(float* sums, int N, int C, float* partials, Row&& row) {
  const int blocks = (N + kSumRows - 1) / kSumRows;
  parallel_for(
      blocks,
      [&](int64_t b) {
        float* acc = partials + b * C;
        std::fill(acc, acc + C, 0.0f);
        const int r1 = std::min<int>(N, static_cast<int>(b + 1) * kSumRows);
        for (int r = static_cast<int>(b) * kSumRows; r < r1; ++r) row(r, acc);
      },
      static_cast<int64_t>(kSumRows) * C);
  parallel_column_blocks(C, blocks, [&](int c0, int c1) {
    float total[kColumnBlock] = {};
    for (int b = 0; b < blocks; ++b) {
      const float* part = partials + static_cast<int64_t>(b) * C;
#pragma omp simd
      for (int c = c0; c < c1; ++c) total[c - c0] += part[c];
    }
    for (int c = c0; c < c1; ++c) sums[c] += total[c - c0];
  });
}

}  // namespace bertrain::cpu
