// run_glue's stages after training, shared by the commands: --do_eval's evaluation (also the
// `evaluate` command) and --do_predict's labelling of a test file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "train/training_args.h"

namespace bertrain::cli {

// Evaluates the classification model in a.model on a.eval_file: the eval_* metrics, loss,
// samples, runtime, labels and (single-label) the confusion matrix.
nlohmann::json evaluate_file(const TrainingArguments& a);

// Labels the texts of a.test_file with the classification model in model_dir and writes
// run_glue's predict_results.txt ("index<TAB>prediction": the label, the regression value to 3
// decimals, or a multi-label's labels as a JSON array) to a.output_dir; returns its path.
std::string predict_file(const TrainingArguments& a, const std::string& model_dir);

// --do_predict with a token-classification or QA model in model_dir: a.test_file (labelled, as
// run_ner's and run_qa's test sets are) read and scored as evaluation does, the predictions in
// a.output_dir/predict_predictions.jsonl (tags) or .json (answers) and the metrics, named
// predict_*, in predict_results.json; returns the predictions file.
std::string predict_task_file(const TrainingArguments& a, const std::string& model_dir);

}  // namespace bertrain::cli
