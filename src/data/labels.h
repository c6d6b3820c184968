// What a label string means: a class name (single-label), a real value (regression), or a set
// of class names (multi-label: a JSON array, as a JSON lines file's array reads, or names joined
// by --label_separator), and the float targets a regression or multi-label model learns from.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace bertrain {

// Whether a label is a JSON array (a multi-label example's names).
bool is_label_array(const std::string& label);
// The class names of a multi-label example's label: a JSON array's elements, else the label
// split on `separator` (empty: the label itself). An empty name is an error naming `where`.
std::vector<std::string> label_names(const std::string& label, const std::string& separator,
                                     const std::string& where);
// Whether labels are real values: every one a number, at least one not an integer (a column the
// datasets library reads as float, which run_glue trains as regression).
bool labels_are_real_values(const std::vector<std::string>& distinct);
// The default label list of a multi-label dataset: its distinct names, ordered as
// ordered_labels orders them.
std::vector<std::string> multi_label_list(const std::vector<std::string>& distinct,
                                          const std::string& separator);

// Each example's label as a value [n, 1] (regression); a label that is not a finite number is
// an error naming the file and line. Examples without a label are an error too.
std::vector<float> real_targets(const TokenizedDataset& d);
// Each example's names as a multi-hot row [n, labels] over the list; a name outside it is an
// error naming the file and line, and so is an example without a label.
std::vector<float> multi_hot_targets(const TokenizedDataset& d, const LabelMap& map,
                                     const std::string& separator);

}  // namespace bertrain
