// Evaluation of a model over a loader's batches: the mean loss and the metrics of its problem
// type (train/metrics.h), and for single-label the confusion matrix.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/loader.h"
#include "data/squad.h"
#include "dist/comm.h"
#include "model/bert.h"
#include "train/metrics.h"

namespace bertrain {

struct EvalResult {
  double loss = 0;    // mean loss over labelled examples (the model's problem type's loss)
  int64_t count = 0;  // labelled examples
  int64_t examples = 0;
  double seconds = 0;
  Metrics metrics;                              // by name, without "eval_"
  std::vector<std::vector<int64_t>> confusion;  // single-label: [true label][predicted label]
  // Token classification: each example's predicted class ids at its labelled positions, in
  // example order (an unshuffled loader's; over several ranks, gathered from all of them).
  std::vector<std::vector<int32_t>> token_predictions;
  // Question answering: each example's answer text by its id.
  std::map<std::string, std::string> answers;
};

// Question answering is scored against the examples the loader's windows came from.
struct QaReference {
  const std::vector<QaExample>* examples;
  const QaFeatures* features;
  bool version_2 = false;       // SQuAD v2: null answers, scored by the v2.0 script
  double null_threshold = 0.0;  // --null_score_diff_threshold
};

// Token classification is scored as run_ner does: seqeval over each example's labelled
// positions (train/seqeval.h), the loss averaged per example.
// With a Comm of N ranks each rank evaluates its shard (the loader's) and the counts, sums and
// (regression) the prediction-label pairs are gathered over the ranks: every rank gets the
// whole set's result.
// Question answering (run_qa): each example's best span over its windows
// (postprocess_qa_predictions), exact_match and f1 in percent as the official SQuAD v1.1
// script computes them (with version_2, the v2.0 script's exact, f1, total and their HasAns_ /
// NoAns_ splits); the loss is the mean over windows. Over N ranks each evaluates its
// shard of the windows and every rank gets every window's logits before the answers are chosen.
EvalResult evaluate_model(Bert<float>& model, DataLoader& loader, Comm* comm = nullptr,
                          const QaReference* qa = nullptr);

}  // namespace bertrain
