// A micro-batch as the model reads it: B rows of S tokens (row-major [B, S]), their labels (B
// class ids, or float targets), and which global samples the rows are.
#pragma once

#include <cstdint>

namespace bertrain {

// Which global samples a micro-batch's rows are: local row b is sample b * stride + base of the
// step's global batch (a data-parallel rank takes every stride-th row, as DistributedSampler).
// Dropout masks are drawn per global sample, so a sample's mask does not depend on the rank.
struct SampleRows {
  int32_t stride = 1, base = 0;
};

struct Batch {
  const int32_t* input_ids;
  const int32_t* token_type_ids;
  const int32_t* attention_mask;
  // Class ids, -100 marking none: one a row ([B]; sequence classification) or a position ([B, S];
  // token classification, masked LM); question answering: (start, end) positions, [B, 2].
  // May be null (no loss).
  const int32_t* labels;
  int B, S;
  SampleRows rows = {};
  // Float labels [B, num_labels] of a regression or multi-label model (multi-hot for
  // multi-label); null without labels.
  const float* targets = nullptr;
};

}  // namespace bertrain
