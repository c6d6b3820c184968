#include "cli/args.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace bertrain::cli {

BertConfig load_classification_config(const std::string& model_dir) {
  BertConfig config = load_config((std::filesystem::path(model_dir) / "config.json").string());
  if (config.task != Task::SequenceClassification)
    fail(model_dir, ": a ", task_architecture(config.task),
         "; this command runs sequence-classification models (BertForSequenceClassification)");
  return config;
}

std::string flag(const std::string& snake_name) {
  std::string kebab = snake_name;
  std::replace(kebab.begin(), kebab.end(), '_', '-');
  if (kebab == snake_name) return "--" + snake_name;
  return "--" + snake_name + ",--" + kebab;
}

namespace {

void add_field(CLI::App* cmd, const ArgField& f, TrainingArguments& a) {
  std::string names = flag(f.name);
  if (*f.aliases) names += std::string(",") + f.aliases;
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) {
          cmd->add_flag(names + "{true}", *p, f.help)->default_str(*p ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::optional<bool>>) {
          cmd->add_option(names, *p, f.help);
        } else if constexpr (std::is_same_v<T, BadRows>) {
          cmd->add_option_function<std::string>(
                 names,
                 [p](const std::string& v) {
                   if (v != "fail" && v != "skip")
                     throw CLI::ValidationError("--bad_rows", "must be fail or skip");
                   *p = v == "skip" ? BadRows::Skip : BadRows::Fail;
                 },
                 f.help)
              ->default_str("fail");
        } else {
          static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, std::string>,
                        "a field type without a flag");
          cmd->add_option(names, *p, f.help)->capture_default_str();
        }
      },
      f.ref(a));
}

}  // namespace

void add_training_args(CLI::App* cmd, TrainingArguments& a, bool evaluate_only) {
  for (const ArgField& f : training_arg_fields())
    if (f.evaluate || !evaluate_only) add_field(cmd, f, a);
}

}  // namespace bertrain::cli

namespace bertrain::cli {

InputLines::InputLines(const std::string& path) : path_(path) {
  if (path_.empty()) return;
  file_.open(path_, std::ios::binary);
  if (!file_) fail(path_, ": cannot open input");
}

bool InputLines::next(std::string& line) {
  std::streambuf* in = stream().rdbuf();
  line.clear();
  bool any = false;
  for (int c; (c = in->sbumpc()) != std::char_traits<char>::eof();) {
    any = true;
    if (c == '\n') break;
    if (line.size() == kMaxLineBytes)
      fail(source(), ":", line_number_ + 1, ": line longer than ", kMaxLineBytes, " bytes");
    line.push_back(static_cast<char>(c));
  }
  if (!any) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

std::vector<std::string> expand_config_file(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto it = std::find_if(args.begin(), args.end(), [](const std::string& s) {
    return s == "--config_file" || s == "--config-file";
  });
  if (it == args.end()) return args;
  if (it + 1 == args.end()) fail("--config_file needs a JSON file");
  std::string path = *(it + 1);
  args.erase(it, it + 2);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path, "config file"));
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail(path, ": expected a JSON object of flag names to values");
  auto given = [&](const std::string& key) {
    std::string kebab = key;
    std::replace(kebab.begin(), kebab.end(), '_', '-');
    return std::find(args.begin(), args.end(), "--" + key) != args.end() ||
           std::find(args.begin(), args.end(), "--" + kebab) != args.end();
  };
  for (auto& [key, value] : j.items()) {
    // The command line wins; null is "not set" (training_args.json writes unset fields so).
    if (given(key) || value.is_null()) continue;
    if (value.is_boolean()) {
      args.push_back("--" + key + "=" + (value.get<bool>() ? "true" : "false"));
    } else if (value.is_string()) {
      args.push_back("--" + key);
      args.push_back(value.get<std::string>());
    } else if (value.is_number()) {
      args.push_back("--" + key);
      args.push_back(value.dump());
    } else {
      fail(path, ": value of \"", key, "\" must be a string, number or boolean");
    }
  }
  return args;
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggest_flag(const CLI::App& app, const std::string& unknown) {
  std::string word = unknown.substr(0, unknown.find('='));
  std::string best;
  size_t best_d = 4;  // only close misspellings
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->parsed()) continue;
    for (const CLI::Option* opt : sub->get_options())
      for (const std::string& name : opt->get_lnames()) {
        size_t d = edit_distance(word, "--" + name);
        if (d < best_d) {
          best_d = d;
          best = "--" + name;
        }
      }
  }
  return best.empty() ? "" : "did you mean " + best + "?";
}

}  // namespace bertrain::cli
