// The evaluation sets that token classification and question answering score against, as
// run_ner and run_qa prepare them, and the predictions file each leaves in the output directory:
// one reading for training's evaluation and for the `evaluate` command.
#pragma once

#include <string>
#include <vector>

#include "data/loader.h"
#include "data/squad.h"
#include "data/tagged.h"
#include "model/bert_config.h"
#include "tokenizer/bert_tokenizer.h"
#include "train/evaluation.h"
#include "train/training_args.h"

namespace bertrain {

struct TaskEvalSet {
  Task task = Task::SequenceClassification;
  TaggedDataset tagged;                  // token classification: sentences, labels and words
  std::vector<QaExample> examples;       // question answering: the questions
  QaFeatures features;                   // and their windows
  const TokenizedDataset& data() const;  // the examples the loader batches
  ExampleLabels labels() const;          // per token, or answer spans
  bool version_2 = false;                // question answering: SQuAD v2's null answers
  double null_threshold = 0.0;
  QaReference qa_reference() const { return {&examples, &features, version_2, null_threshold}; }
};

// What a set is read with: the model's tags (token classification), the windows (QA).
struct EvalSetOptions {
  int max_length = 128;
  std::vector<std::string> tags;  // token classification: the model's tags in class order
  bool label_all_tokens = false;
  int doc_stride = 128;
  int64_t max_samples = -1;     // question answering: the first N questions (-1: all)
  bool version_2 = false;       // question answering: --version_2_with_negative
  double null_threshold = 0.0;  // --null_score_diff_threshold
};

// The options a run's arguments give (the data flags of train and evaluate alike).
EvalSetOptions eval_set_options(const TrainingArguments& a, int max_length,
                                std::vector<std::string> tags);

// Reads `path` for a token-classification or question-answering model; an empty set is an
// error naming the file.
TaskEvalSet load_eval_set(Task task, const std::string& path, const BertTokenizer& tok,
                          const EvalSetOptions& options);

// Writes the predictions of an evaluation of `set` (this process's whole set) into out_dir,
// named by the stage (`stage` "eval", or "predict" for --do_predict's test file): token
// classification's <stage>_predictions.jsonl (a line per sentence, {"tokens", "predicted_tags"}:
// the tag predicted at each word's first labelled piece, null for a word without one, as
// run_ner's metrics leave it out), or question answering's <stage>_predictions.json (each
// question id's answer, run_qa's predictions.json). Returns the file written ("" for other
// tasks).
std::string write_eval_predictions(const TaskEvalSet& set, const std::vector<std::string>& tags,
                                   const EvalResult& result, const std::string& out_dir,
                                   const std::string& stage = "eval");

}  // namespace bertrain
