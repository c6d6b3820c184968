// Batched prediction over raw texts (what `bertrain predict` runs): tokenize, pad each batch
// to its longest row, forward without dropout; the head's outputs (model.outputs()).
#pragma once

#include <string>
#include <vector>

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

}  // namespace bertrain
