// A tokenized dataset: every example's token ids (with [CLS]/[SEP], truncated, unpadded) and
// token types in flat arrays with offsets, its label (an index into the file's own distinct
// labels) and its line in the source file. Backed by owned vectors or a memory-mapped cache.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "data/reader.h"
#include "tokenizer/bert_tokenizer.h"

namespace bertrain {

struct TokenizedDataset {
  std::span<const int64_t> offsets;  // size() + 1 entries
  std::span<const int32_t> ids;
  std::span<const uint8_t> types;
  std::span<const int32_t> label_index;    // into label_strings; -1: no label
  std::span<const int64_t> lines;          // 1-based source line of each example
  std::vector<std::string> label_strings;  // the file's distinct labels, in default order
  std::string source;                      // the file it came from (for messages)

  size_t size() const { return label_index.size(); }
  int length(size_t i) const { return static_cast<int>(offsets[i + 1] - offsets[i]); }
  const int32_t* ids_of(size_t i) const { return ids.data() + offsets[i]; }
  const uint8_t* types_of(size_t i) const { return types.data() + offsets[i]; }
  size_t total_tokens() const { return ids.size(); }

  // Class id of every example under a label list (-100 where the file had no label); a label
  // outside the list is an error naming the file and line.
  std::vector<int32_t> class_ids(const LabelMap& map) const;
  // The source line of the first example carrying each of label_strings (for messages), in one
  // pass over the examples.
  std::vector<int64_t> first_lines() const;

  struct Storage {
    std::vector<int64_t> offsets, lines;
    std::vector<int32_t> ids, label_index;
    std::vector<uint8_t> types;
  };
  std::shared_ptr<Storage> storage;     // when built in memory
  std::shared_ptr<MappedFile> mapping;  // when read from a cache file
  void point_at_storage();
};

// Tokenizes examples in parallel (truncation to max_length, no padding).
TokenizedDataset tokenize_examples(const std::vector<Example>& examples, const BertTokenizer& tok,
                                   int max_length, const std::string& source);

// The lecture's dummy data: `size` rows of `seq_len` random ids in [100, min(30000, vocab)),
// random labels "0".."num_labels-1".
TokenizedDataset dummy_dataset(size_t size, int seq_len, int vocab_size, int num_labels,
                               uint64_t seed);

}  // namespace bertrain
