// BertConfig: the fields of a Hugging Face config.json that shape the model.
#pragma once

#include <string>
#include <vector>

namespace bertrain {

// The head on the encoder: transformers' BertFor... class, read from config.json's
// architectures[0] (a config without one, or with another class, reads as sequence
// classification; commands may ask for another head, and loading keeps the encoder).
enum class Task { SequenceClassification, MaskedLM, TokenClassification, QuestionAnswering };
const char* task_architecture(Task t);  // "BertForSequenceClassification", ...
const char* task_name(Task t);          // --task: sequence_classification, mlm, ...
// The class ids a batch row carries for the head (core/batch.h's labels): one per position
// (masked LM, token classification), an answer's start and end (question answering), or one.
int class_ids_per_row(Task t, int S);
Task parse_task(const std::string& name, const std::string& what);

// What the sequence-classification head predicts (HF's config.problem_type): one class (softmax
// cross-entropy), real values (MSE on the logits), or a set of classes (sigmoid, BCE).
enum class ProblemType { SingleLabel, Regression, MultiLabel };
// HF's names: single_label_classification, regression, multi_label_classification.
const char* problem_type_name(ProblemType t);
// The type of one of those names; anything else is an error naming `what`.
ProblemType parse_problem_type(const std::string& name, const std::string& what);

struct BertConfig {
  // At most this many classes: the label names are built (and written back to config.json)
  // one by one, so the count is refused before they are.
  static constexpr int kMaxLabels = 100'000;

  int vocab_size = 30522;
  int hidden_size = 768;
  int num_hidden_layers = 12;
  int num_attention_heads = 12;
  int intermediate_size = 3072;
  int max_position_embeddings = 512;
  int type_vocab_size = 2;
  int pad_token_id = 0;
  double layer_norm_eps = 1e-12;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1;  // < 0: null in JSON, use hidden_dropout_prob (as HF does)
  double initializer_range = 0.02;
  std::string hidden_act = "gelu";
  std::string position_embedding_type = "absolute";
  std::vector<std::string> id2label = {"LABEL_0", "LABEL_1"};
  std::string problem_type;  // one of problem_type_name's; empty: null (inferred)
  Task task = Task::SequenceClassification;

  int num_labels() const { return static_cast<int>(id2label.size()); }
  // problem_type, or when unset as transformers infers it without labels at hand: one label
  // is regression, more are single-label (the trainer infers multi-label from the data).
  ProblemType problem() const;
  int head_dim() const { return hidden_size / num_attention_heads; }
  double classifier_dropout_prob() const {
    return classifier_dropout >= 0 ? classifier_dropout : hidden_dropout_prob;
  }
  // Throws Error naming `source` and the field when a value is unsupported or inconsistent.
  void validate(const std::string& source) const;
};

BertConfig load_config(const std::string& path);
BertConfig parse_config(const std::string& json_text, const std::string& source);
std::string config_to_json(const BertConfig& c);
// run_mlm's --config_overrides "key=value,key=value" (transformers' update_from_string): each
// key must be one config.json has; true/false become booleans, numbers numbers, the rest
// strings. The result is validated as a config.json is.
BertConfig override_config(const BertConfig& c, const std::string& overrides);
// HF's names for n classes without names: LABEL_0 .. LABEL_{n-1}; n outside 1..kMaxLabels is an
// error naming `what` (a file's field, a flag), raised before any name is built.
std::vector<std::string> default_labels(long n, const std::string& what);
// Presets for `bertrain init`: "tiny", "bert-base-uncased", "bert-large-uncased".
BertConfig preset_config(const std::string& name);

}  // namespace bertrain
