#include "model/bert_config.h"

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/error.h"
#include "core/file_io.h"

namespace bertrain {

using nlohmann::json;

namespace {

// Each head with transformers' class name and its --task name.
struct TaskNames {
  Task task;
  const char* architecture;
  const char* name;
};
constexpr TaskNames kTasks[] = {
    {Task::SequenceClassification, "BertForSequenceClassification", "sequence_classification"},
    {Task::MaskedLM, "BertForMaskedLM", "mlm"},
    {Task::TokenClassification, "BertForTokenClassification", "token_classification"},
    {Task::QuestionAnswering, "BertForQuestionAnswering", "question_answering"}};

const TaskNames& names_of(Task t) {
  for (const TaskNames& n : kTasks)
    if (n.task == t) return n;
  return kTasks[0];
}

// Whether a JSON number is an integer (768 or 768.0) that T holds.
template <typename T>
bool fits_integer(const json& v) {
  using L = std::numeric_limits<T>;
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(L::max());
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i >= static_cast<int64_t>(L::min()) && i <= static_cast<int64_t>(L::max());
  }
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d && d >= static_cast<double>(L::min()) &&
         d <= static_cast<double>(L::max());
}

template <typename T>
void read_field(const json& j, const char* key, T* out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Checked here, not by a cast: 1e30 into an int is undefined, 2^32 + 1 would become 1.
    if (it->is_number() && !fits_integer<T>(*it))
      fail(source, ": field \"", key, "\" is ", it->dump(), ", not an integer in range");
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    fail(source, ": field \"", key, "\" has the wrong type (", it->type_name(), ")");
  }
}

std::vector<std::string> read_labels(const json& j, const std::string& source) {
  std::vector<std::string> labels;
  auto it = j.find("id2label");
  if (it != j.end() && it->is_object() && !it->empty()) {
    labels.resize(it->size());
    for (auto& [key, value] : it->items()) {
      size_t pos = 0;
      long id = -1;
      try {
        id = std::stol(key, &pos);
      } catch (const std::exception&) {
      }
      if (pos != key.size() || id < 0 || id >= static_cast<long>(labels.size()) ||
          !value.is_string()) {
        fail(source, ": field \"id2label\" must map ids 0..", labels.size() - 1,
             " to strings; bad entry \"", key, "\"");
      }
      labels[id] = value.get<std::string>();
    }
  }
  const bool has_num_labels = j.contains("num_labels") && !j["num_labels"].is_null();
  int num_labels = 2;  // HF's PretrainedConfig default
  read_field(j, "num_labels", &num_labels, source);
  if (labels.empty()) {
    labels = default_labels(num_labels, source + ": field \"num_labels\"");
  } else if (has_num_labels && num_labels != static_cast<int>(labels.size())) {
    fail(source, ": field \"num_labels\" is ", num_labels, " but \"id2label\" has ", labels.size(),
         " entries");
  }
  return labels;
}

}  // namespace

std::vector<std::string> default_labels(long n, const std::string& what) {
  if (n < 1 || n > BertConfig::kMaxLabels)
    fail(what, " is ", n, ", expected 1..", BertConfig::kMaxLabels, " labels");
  std::vector<std::string> labels;
  for (long i = 0; i < n; ++i) labels.push_back("LABEL_" + std::to_string(i));
  return labels;
}

void BertConfig::validate(const std::string& source) const {
  auto positive = [&](const char* name, long v, long max) {
    if (v <= 0 || v > max) fail(source, ": field \"", name, "\" is ", v, ", expected 1..", max);
  };
  positive("vocab_size", vocab_size, 10'000'000);
  positive("hidden_size", hidden_size, 65536);
  positive("num_hidden_layers", num_hidden_layers, 1024);
  positive("num_attention_heads", num_attention_heads, 1024);
  positive("intermediate_size", intermediate_size, 1 << 20);
  positive("max_position_embeddings", max_position_embeddings, 1 << 20);
  positive("type_vocab_size", type_vocab_size, 1 << 16);
  positive("num_labels", num_labels(), kMaxLabels);
  if (hidden_size % num_attention_heads != 0) {
    fail(source, ": field \"hidden_size\" (", hidden_size,
         ") is not a multiple of \"num_attention_heads\" (", num_attention_heads, ")");
  }
  if (pad_token_id < 0 || pad_token_id >= vocab_size)
    fail(source, ": field \"pad_token_id\" is ", pad_token_id, ", outside the vocabulary");
  if (hidden_act != "gelu") {
    fail(source, ": field \"hidden_act\" is \"", hidden_act,
         "\"; bertrain supports \"gelu\" (exact erf GELU) only");
  }
  if (position_embedding_type != "absolute") {
    fail(source, ": field \"position_embedding_type\" is \"", position_embedding_type,
         "\"; bertrain supports \"absolute\" only");
  }
  if (!(layer_norm_eps > 0)) fail(source, ": field \"layer_norm_eps\" must be > 0");
  auto prob = [&](const char* name, double p) {
    if (!(p >= 0 && p < 1)) fail(source, ": field \"", name, "\" is ", p, ", expected [0, 1)");
  };
  prob("hidden_dropout_prob", hidden_dropout_prob);
  prob("attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (classifier_dropout >= 0) prob("classifier_dropout", classifier_dropout);
}

BertConfig override_config(const BertConfig& c, const std::string& overrides) {
  const std::string source = "--config_overrides";
  json j = json::parse(config_to_json(c));
  size_t begin = 0;
  while (begin <= overrides.size()) {
    size_t end = overrides.find(',', begin);
    if (end == std::string::npos) end = overrides.size();
    const std::string item = overrides.substr(begin, end - begin);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) fail(source, ": \"", item, "\" is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (!j.contains(key)) fail(source, ": config.json has no key \"", key, "\"");
    char* rest = nullptr;
    const double number = std::strtod(value.c_str(), &rest);
    if (value == "true" || value == "false")
      j[key] = value == "true";
    else if (!value.empty() && *rest == '\0' && j[key].is_number_integer() &&
             number == std::floor(number))
      j[key] = static_cast<int64_t>(number);
    else if (!value.empty() && *rest == '\0')
      j[key] = number;
    else
      j[key] = value;
    begin = end + 1;
  }
  return parse_config(j.dump(), source);
}

BertConfig parse_config(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(source, ": not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail(source, ": expected a JSON object");
  std::string model_type;
  read_field(j, "model_type", &model_type, source);
  if (!model_type.empty() && model_type != "bert") {
    fail(source, ": field \"model_type\" is \"", model_type, "\"; bertrain supports \"bert\"");
  }
  BertConfig c;
  read_field(j, "vocab_size", &c.vocab_size, source);
  read_field(j, "hidden_size", &c.hidden_size, source);
  read_field(j, "num_hidden_layers", &c.num_hidden_layers, source);
  read_field(j, "num_attention_heads", &c.num_attention_heads, source);
  read_field(j, "intermediate_size", &c.intermediate_size, source);
  read_field(j, "max_position_embeddings", &c.max_position_embeddings, source);
  read_field(j, "type_vocab_size", &c.type_vocab_size, source);
  read_field(j, "pad_token_id", &c.pad_token_id, source);
  read_field(j, "layer_norm_eps", &c.layer_norm_eps, source);
  read_field(j, "hidden_dropout_prob", &c.hidden_dropout_prob, source);
  read_field(j, "attention_probs_dropout_prob", &c.attention_probs_dropout_prob, source);
  read_field(j, "classifier_dropout", &c.classifier_dropout, source);
  read_field(j, "initializer_range", &c.initializer_range, source);
  read_field(j, "hidden_act", &c.hidden_act, source);
  read_field(j, "position_embedding_type", &c.position_embedding_type, source);
  read_field(j, "problem_type", &c.problem_type, source);
  if (auto a = j.find("architectures");
      a != j.end() && a->is_array() && !a->empty() && (*a)[0].is_string())
    for (Task t : {Task::SequenceClassification, Task::MaskedLM, Task::TokenClassification,
                   Task::QuestionAnswering})
      if ((*a)[0].get<std::string>() == task_architecture(t)) c.task = t;
  if (!c.problem_type.empty())
    parse_problem_type(c.problem_type, source + ": field \"problem_type\"");
  c.id2label = read_labels(j, source);
  c.validate(source);
  return c;
}

const char* task_architecture(Task t) {
  return names_of(t).architecture;
}

const char* task_name(Task t) {
  return names_of(t).name;
}

int class_ids_per_row(Task t, int S) {
  switch (t) {
    case Task::MaskedLM:
    case Task::TokenClassification:
      return S;
    case Task::QuestionAnswering:
      return 2;
    case Task::SequenceClassification:
      break;
  }
  return 1;
}

Task parse_task(const std::string& name, const std::string& what) {
  for (const TaskNames& n : kTasks)
    if (name == n.name) return n.task;
  fail(what, " is \"", name,
       "\"; expected sequence_classification, mlm, token_classification or question_answering");
}

const char* problem_type_name(ProblemType t) {
  switch (t) {
    case ProblemType::Regression:
      return "regression";
    case ProblemType::MultiLabel:
      return "multi_label_classification";
    case ProblemType::SingleLabel:
      break;
  }
  return "single_label_classification";
}

ProblemType parse_problem_type(const std::string& name, const std::string& what) {
  for (ProblemType t : {ProblemType::SingleLabel, ProblemType::Regression, ProblemType::MultiLabel})
    if (name == problem_type_name(t)) return t;
  fail(what, " is \"", name,
       "\"; expected single_label_classification, regression or multi_label_classification");
}

ProblemType BertConfig::problem() const {
  if (!problem_type.empty()) return parse_problem_type(problem_type, "problem_type");
  return num_labels() == 1 ? ProblemType::Regression : ProblemType::SingleLabel;
}

BertConfig load_config(const std::string& path) {
  return parse_config(read_text_file(path, "config file"), path);
}

std::string config_to_json(const BertConfig& c) {
  json id2label = json::object(), label2id = json::object();
  for (int i = 0; i < c.num_labels(); ++i) {
    id2label[std::to_string(i)] = c.id2label[i];
    label2id[c.id2label[i]] = i;
  }
  json j = {
      {"architectures", {task_architecture(c.task)}},
      {"attention_probs_dropout_prob", c.attention_probs_dropout_prob},
      {"classifier_dropout", c.classifier_dropout >= 0 ? json(c.classifier_dropout) : json()},
      {"hidden_act", c.hidden_act},
      {"hidden_dropout_prob", c.hidden_dropout_prob},
      {"hidden_size", c.hidden_size},
      {"id2label", id2label},
      {"initializer_range", c.initializer_range},
      {"intermediate_size", c.intermediate_size},
      {"label2id", label2id},
      {"layer_norm_eps", c.layer_norm_eps},
      {"max_position_embeddings", c.max_position_embeddings},
      {"model_type", "bert"},
      {"num_attention_heads", c.num_attention_heads},
      {"num_hidden_layers", c.num_hidden_layers},
      {"pad_token_id", c.pad_token_id},
      {"position_embedding_type", c.position_embedding_type},
      {"problem_type", c.problem_type.empty() ? json() : json(c.problem_type)},
      {"torch_dtype", "float32"},
      {"type_vocab_size", c.type_vocab_size},
      {"use_cache", true},
      {"vocab_size", c.vocab_size},
  };
  return j.dump(2) + "\n";
}

BertConfig preset_config(const std::string& name) {
  BertConfig c;  // defaults are bert-base-uncased
  if (name == "bert-base-uncased") return c;
  if (name == "bert-large-uncased") {
    c.hidden_size = 1024;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 16;
    c.intermediate_size = 4096;
    return c;
  }
  if (name == "tiny") {
    c.vocab_size = 512;
    c.hidden_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 128;
    c.max_position_embeddings = 64;
    return c;
  }
  fail("unknown preset \"", name, "\"; expected tiny, bert-base-uncased or bert-large-uncased");
}

}  // namespace bertrain
