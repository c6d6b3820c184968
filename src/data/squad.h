// Extractive question answering data (run_qa): SQuAD examples, the windows a tokenizer cuts
// their contexts into (prepare_train_features / prepare_validation_features), and the answer
// spans read back from start and end logits (postprocess_qa_predictions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "tokenizer/bert_tokenizer.h"

namespace bertrain {

struct QaExample {
  std::string id, question, context;
  std::vector<std::string> answers;    // gold answer texts
  std::vector<int32_t> answer_starts;  // their first character in the context (code points)
};

// SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas": [...]}]}]}) or JSON lines of
// {"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}} (the
// datasets layout); by extension .jsonl, else by content. A malformed entry is an error naming
// the file (and line). At most max_examples (< 0: all), in file order.
std::vector<QaExample> read_squad(const std::string& path, int64_t max_examples = -1);

// The windows of each example: question (leading whitespace stripped, as run_qa does) whole,
// context cut with truncation="only_second" into windows of max_length tokens, doc_stride apart
// in overlap. For training, each window's answer position (start, end token) is the first gold
// answer's, or (0, 0), the [CLS], when the answer is not wholly inside the window: the rule and
// its loops exactly as run_qa's prepare_train_features.
struct QaFeatures {
  TokenizedDataset data;                             // one row per window
  std::vector<int32_t> spans;                        // (start, end) per window (training labels)
  std::vector<int32_t> example_of;                   // the example each window came from
  std::vector<std::pair<int32_t, int32_t>> offsets;  // per token, aligned with data.ids
  std::vector<int8_t> is_context;                    // per token: a context token (sequence id 1)
};
QaFeatures prepare_qa_features(const std::vector<QaExample>& examples, const BertTokenizer& tok,
                               int max_length, int doc_stride, const std::string& source);

// postprocess_qa_predictions for one example: over its windows' start and end logits, the
// n_best_size highest starts and ends each, pairs inside the context with end >= start and at
// most max_answer_length tokens, scored start + end logit; the best one's context text ("empty"
// when no pair is valid, run_qa's placeholder) and score. With version_2 (SQuAD v2's
// unanswerable questions), the null answer's score is the lowest [CLS] start + end over the
// windows, and the answer is "" when that score exceeds the best non-null one's by more than
// null_threshold (run_qa's --null_score_diff_threshold).
struct QaAnswer {
  std::string text;
  double score = 0;
  int32_t start_char = 0, end_char = 0;  // its span in the context (code points)
};
QaAnswer best_answer(const QaExample& example, const QaFeatures& features,
                     const std::vector<size_t>& windows,
                     const std::vector<std::vector<float>>& start_logits,
                     const std::vector<std::vector<float>>& end_logits, int n_best_size = 20,
                     int max_answer_length = 30, bool version_2 = false,
                     double null_threshold = 0.0);

}  // namespace bertrain
