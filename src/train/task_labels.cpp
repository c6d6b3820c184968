#include "train/task_labels.h"

#include "core/error.h"
#include "data/labels.h"

namespace bertrain {

namespace {

ProblemType from_labels(const std::vector<std::string>& distinct, const std::string& separator) {
  if (!separator.empty()) return ProblemType::MultiLabel;
  for (const std::string& l : distinct)
    if (is_label_array(l)) return ProblemType::MultiLabel;
  if (labels_are_real_values(distinct)) return ProblemType::Regression;
  return ProblemType::SingleLabel;
}

}  // namespace

ProblemType resolve_problem_type(const std::string& flag, const BertConfig& config,
                                 const std::vector<std::string>& distinct,
                                 const std::string& source, const std::string& separator) {
  if (!flag.empty()) return parse_problem_type(flag, "--problem_type");
  const ProblemType seen = from_labels(distinct, separator);
  if (config.problem_type.empty()) return seen;
  const ProblemType set = config.problem();
  // Whole-number labels read as classes could still be a regression's or a multi-label's
  // single names: only a kind the set type cannot read is a contradiction.
  if (seen != set && seen != ProblemType::SingleLabel)
    fail(source, ": the labels look like ", problem_type_name(seen),
         " but the model's config.json says problem_type ", problem_type_name(set),
         "; pass --problem_type ", problem_type_name(seen), " to train it as that");
  return set;
}

std::vector<std::string> run_label_names(ProblemType problem, const std::string& label_list,
                                         const BertConfig& config,
                                         const std::vector<std::string>& distinct,
                                         const std::string& separator) {
  if (problem == ProblemType::Regression) {
    if (!label_list.empty()) {
      std::vector<std::string> names = parse_label_list(label_list);
      if (names.size() != 1)
        fail("--label_list names ", names.size(), " labels; a regression model has one output");
      return names;
    }
    return config.num_labels() == 1 ? config.id2label : default_labels(1, "regression");
  }
  if (!label_list.empty()) return parse_label_list(label_list);
  if (problem == ProblemType::MultiLabel) return multi_label_list(distinct, separator);
  return distinct;
}

ExampleLabels example_labels(ProblemType problem, const TokenizedDataset& d,
                             const std::vector<std::string>& names, const std::string& separator) {
  switch (problem) {
    case ProblemType::Regression:
      return {{}, real_targets(d), 1, {}, {}};
    case ProblemType::MultiLabel:
      return {{},
              multi_hot_targets(d, LabelMap(names), separator),
              static_cast<int>(names.size()),
              {},
              {}};
    case ProblemType::SingleLabel:
      break;
  }
  return ExampleLabels::classes(d.class_ids(LabelMap(names)));
}

}  // namespace bertrain
