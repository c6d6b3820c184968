// Evaluation metrics as run_glue and scikit-learn / scipy compute them, for the three problem
// types of the sequence-classification head. Each is computed from counts or pairs that add up
// over data-parallel ranks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bertrain {

using Metrics = std::map<std::string, double>;  // name (without "eval_") -> value

// Single-label, from the confusion matrix [true][predicted]: accuracy, f1_macro (the mean F1
// of the classes that occur as a label or a prediction, as sklearn's labels default), f1_micro
// (equal to accuracy for single-label) and matthews_correlation (sklearn's multiclass form; 0
// when undefined).
Metrics classification_metrics(const std::vector<std::vector<int64_t>>& confusion);

// Regression, from the predictions and labels: mse, pearson and spearmanr (Pearson of the
// average ranks, as scipy's spearmanr); the correlations are NaN (null in JSON) when a side is
// constant, as scipy's are.
Metrics regression_metrics(const std::vector<double>& predictions,
                           const std::vector<double>& labels);

// Multi-label at a threshold (a label is predicted when its probability is >= threshold):
// per-label true/false positives and false negatives, and rows whose whole set is right.
struct MultiLabelCounts {
  std::vector<int64_t> tp, fp, fn;
  int64_t exact = 0, rows = 0;
  explicit MultiLabelCounts(int labels) : tp(labels), fp(labels), fn(labels) {}
  // One row's probabilities and multi-hot targets (a target >= 0.5 counts as set).
  void add(const float* probabilities, const float* targets, double threshold = 0.5);
};
// f1_micro, f1_macro (over every label; a label never labelled nor predicted counts 0, as
// sklearn's zero_division default) and subset_accuracy.
Metrics multi_label_metrics(const MultiLabelCounts& counts);

}  // namespace bertrain
