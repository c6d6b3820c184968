// Batched prediction over raw texts (what `bertrain predict` runs): tokenize, pad each batch
// to its longest row, forward without dropout; the head's outputs (model.outputs()).
#pragma once

#include <string>
#include <vector>

#include "data/squad.h"
#include "model/bert.h"
#include "tokenizer/bert_tokenizer.h"

namespace bertrain {

struct TextInput {
  std::string text, pair;
  bool has_pair = false;
};

struct Prediction {
  int label_id;  // the argmax of the outputs (single-label's class)
  // Class probabilities (softmax; multi-label: sigmoid per label), or the regression values.
  std::vector<float> outputs;
};

std::vector<Prediction> predict_texts(Bert<float>& model, const BertTokenizer& tok,
                                      const std::vector<TextInput>& inputs, int max_length);

// Token classification of one text (or of words, joined by spaces): each word's tag, the
// argmax at its first piece, with that probability; entities as seqeval reads the tags, each
// with its character span in the text and the mean of its words' probabilities (the pipeline's
// aggregation_strategy="first").
struct TaggedEntity {
  std::string type, text;
  int32_t start, end;  // characters (code points) of the text
  double score;
};
struct TagPrediction {
  std::string text;  // the text the spans index (the words joined by spaces for word input)
  std::vector<std::string> words, tags;
  std::vector<float> scores;
  std::vector<TaggedEntity> entities;
};
struct TagInput {
  std::string text;
  std::vector<std::string> words;  // is_split_into_words when not empty
};
// The entities of words with these character spans, tags and probabilities (predict_tags').
std::vector<TaggedEntity> group_entities(const std::string& text,
                                         const std::vector<std::pair<int32_t, int32_t>>& spans,
                                         const std::vector<std::string>& tags,
                                         const std::vector<float>& scores);
std::vector<TagPrediction> predict_tags(Bert<float>& model, const BertTokenizer& tok,
                                        const std::vector<TagInput>& inputs, int max_length);

// Extractive QA of one question over a context (windows of max_length, doc_stride apart): the
// best answer as run_qa's post-processing reads it, its character span and its score (start +
// end logit).
QaAnswer predict_answer(Bert<float>& model, const BertTokenizer& tok, const QaExample& example,
                        int max_length, int doc_stride);

}  // namespace bertrain
