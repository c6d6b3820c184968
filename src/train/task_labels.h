// The problem type a run trains (single-label, regression, multi-label) and the labels its
// loaders hand the model, decided as transformers and run_glue decide them.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "model/bert_config.h"

namespace bertrain {

// The problem type: `flag` (--problem_type) if given, else config.json's problem_type, else
// from the training labels: names in lists (a JSON array, or --label_separator given) are
// multi-label, real values (numbers, one not an integer) are regression, anything else is
// single-label. A set problem type the labels contradict is an error saying what to pass.
// `distinct` are the training file's distinct label strings, `source` the file.
ProblemType resolve_problem_type(const std::string& flag, const BertConfig& config,
                                 const std::vector<std::string>& distinct,
                                 const std::string& source, const std::string& separator);

// The label names of the run, in class order: --label_list if given (comma-separated); else
// for single-label the training file's sorted labels, for multi-label its sorted names, and
// for regression the config's one name (or HF's LABEL_0).
std::vector<std::string> run_label_names(ProblemType problem, const std::string& label_list,
                                         const BertConfig& config,
                                         const std::vector<std::string>& distinct,
                                         const std::string& separator);

// What a loader over `d` hands the model: class ids, values, or multi-hot rows over `names`.
// A label outside the names (or not a number, for regression) is an error naming file and line.
ExampleLabels example_labels(ProblemType problem, const TokenizedDataset& d,
                             const std::vector<std::string>& names, const std::string& separator);

}  // namespace bertrain
