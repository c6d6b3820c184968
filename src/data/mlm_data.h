// Masked-LM data as run_mlm prepares it: texts concatenated and cut into blocks of the sequence
// length (group_texts), and DataCollatorForLanguageModeling's masking: each token but [CLS],
// [SEP] and padding is chosen with mlm_probability; a chosen token's label is its id (-100
// elsewhere) and its input becomes [MASK] (80%), a random token (10%) or stays (10%). The
// draws are a counter-based hash of (seed, epoch, example, position), so a batch is masked the
// same whichever worker, rank or resumed run builds it.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace bertrain {

// run_mlm's group_texts: every example's ids (with their [CLS]/[SEP]) concatenated and cut
// into blocks of `block` tokens, the remainder dropped; token types 0, no labels.
TokenizedDataset group_texts(const TokenizedDataset& d, int block);

struct MlmMasking {
  double probability = 0.15;
  uint64_t seed = 42;
  int32_t mask_id = 103, cls_id = 101, sep_id = 102;
  int vocab_size = 30522;  // random replacements are drawn from [0, vocab_size)
  // Whole-word masking (DataCollatorForWholeWordMask) when set: continuation[id] is 1 for a
  // word piece that continues a word ("##..."). Words are chosen whole, in a shuffled order,
  // until round(len x probability) tokens (at least 1, at most 512) are chosen; each chosen
  // token is then replaced 80/10/10 as above.
  const std::vector<uint8_t>* continuation = nullptr;
  // Masks one row in place: ids[0, len) are the example's tokens, ids[len, S) padding;
  // labels[0, S) receive the targets.
  void mask_row(int32_t* ids, int32_t* labels, int len, int S, uint64_t example, int epoch) const;
};

}  // namespace bertrain
