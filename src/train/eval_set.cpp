#include "train/eval_set.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace bertrain {

namespace fs = std::filesystem;
using json = nlohmann::json;

const TokenizedDataset& TaskEvalSet::data() const {
  return task == Task::QuestionAnswering ? features.data : tagged.data;
}

ExampleLabels TaskEvalSet::labels() const {
  if (task == Task::QuestionAnswering) return ExampleLabels::answer_spans(features.spans);
  return ExampleLabels::per_token(tagged.token_labels);
}

EvalSetOptions eval_set_options(const TrainingArguments& a, int max_length,
                                std::vector<std::string> tags) {
  EvalSetOptions o;
  o.max_length = max_length;
  o.tags = std::move(tags);
  o.label_all_tokens = a.label_all_tokens;
  o.doc_stride = a.doc_stride;
  o.max_samples = a.max_eval_samples;
  o.version_2 = a.version_2_with_negative;
  o.null_threshold = a.null_score_diff_threshold;
  return o;
}

TaskEvalSet load_eval_set(Task task, const std::string& path, const BertTokenizer& tok,
                          const EvalSetOptions& o) {
  TaskEvalSet set;
  set.task = task;
  if (task == Task::QuestionAnswering) {
    set.examples = read_squad(path, o.max_samples);
    if (set.examples.empty()) fail(path, ": no questions");
    set.features = prepare_qa_features(set.examples, tok, o.max_length, o.doc_stride, path);
    set.version_2 = o.version_2;
    set.null_threshold = o.null_threshold;
    return set;
  }
  if (task != Task::TokenClassification)
    fail("load_eval_set: ", task_architecture(task), " has no such evaluation set");
  set.tagged = tokenize_tagged(read_tagged(path), tok, o.max_length, LabelMap(o.tags),
                               o.label_all_tokens, path);
  if (set.tagged.data.size() == 0) fail(path, ": no tagged sentences");
  return set;
}

namespace {

std::string token_predictions(const TaggedDataset& t, const std::vector<std::string>& tags,
                              const EvalResult& r) {
  std::string out;
  const TokenizedDataset& d = t.data;
  for (size_t i = 0; i < r.token_predictions.size() && i < d.size(); ++i) {
    const TaggedSentence& s = t.sentences[i];
    json predicted(s.words.size(), nullptr);
    size_t k = 0;  // the next labelled position's prediction
    for (int64_t pos = d.offsets[i]; pos < d.offsets[i + 1]; ++pos) {
      if (t.token_labels[pos] == -100) continue;
      const int32_t w = t.token_words[pos];
      const int32_t id = r.token_predictions[i][k++];
      if (predicted[w].is_null()) predicted[w] = tags[id];
    }
    out += json{{"tokens", s.words}, {"predicted_tags", predicted}}.dump() + "\n";
  }
  return out;
}

}  // namespace

std::string write_eval_predictions(const TaskEvalSet& set, const std::vector<std::string>& tags,
                                   const EvalResult& result, const std::string& out_dir,
                                   const std::string& stage) {
  fs::path file;
  std::string text;
  if (set.task == Task::TokenClassification) {
    file = fs::path(out_dir) / (stage + "_predictions.jsonl");
    text = token_predictions(set.tagged, tags, result);
  } else if (set.task == Task::QuestionAnswering) {
    file = fs::path(out_dir) / (stage + "_predictions.json");
    text = json(result.answers).dump(2) + "\n";
  } else {
    return "";
  }
  write_text_file_atomic(file.string(), text);
  return file.string();
}

}  // namespace bertrain
