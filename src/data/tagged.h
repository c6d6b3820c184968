// Token classification data (run_ner): sentences of words with one tag each, from CoNLL files
// or JSON lines, and their tokenization with the tags aligned to the word pieces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/reader.h"

namespace bertrain {

struct TaggedSentence {
  std::vector<std::string> words, tags;
  size_t line = 0;  // 1-based line where it starts
};

// CoNLL (any extension but .json/.jsonl): a token per line, its first column the word and its
// last column the tag (separated by tabs or spaces); a line of only whitespace ends a sentence;
// -DOCSTART- lines are skipped. JSON lines: {"tokens": [...], "ner_tags": [...]}, the tags as
// strings or integers. A malformed line is an error naming the file and line.
std::vector<TaggedSentence> read_tagged(const std::string& path);

// The tags' distinct values in run_ner's order (sorted; numerically when all are integers).
std::vector<std::string> tag_list(const std::vector<TaggedSentence>& sentences);

// Tokenized sentences with their labels per token, as run_ner's tokenize_and_align_labels:
// each word tokenized on its own (is_split_into_words), truncated to max_length; the first
// piece of a word gets its tag's id, the other pieces -100 (or, with label_all_tokens, the
// tag's id with B- turned into I- where the list has it), [CLS]/[SEP] -100.
struct TaggedDataset {
  TokenizedDataset data;
  std::vector<int32_t> token_labels;  // aligned with data.ids
  std::vector<int32_t> token_words;   // each token's word (-1: special), aligned with data.ids
  std::vector<TaggedSentence> sentences;
};
TaggedDataset tokenize_tagged(std::vector<TaggedSentence> sentences, const BertTokenizer& tok,
                              int max_length, const LabelMap& labels, bool label_all_tokens,
                              const std::string& source);

}  // namespace bertrain
