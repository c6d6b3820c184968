// A micro-batch as the model reads it: B rows of S tokens (row-major [B, S]) and B labels.
#pragma once

#include <cstdint>

namespace bertrain {

struct Batch {
  const int32_t* input_ids;
  const int32_t* token_type_ids;
  const int32_t* attention_mask;
  const int32_t* labels;  // may be null (no loss); -100 marks a row without a label
  int B, S;
};

}  // namespace bertrain
