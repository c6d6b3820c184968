// bertrain evaluate: accuracy, loss and the confusion matrix of a fine-tuned model on a file;
// also train's --do_eval stage.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/stages.h"
#include "core/error.h"
#include "core/parallel.h"
#include "data/cache.h"
#include "device/cuda_device.h"
#include "model/checkpoint.h"
#include "train/evaluation.h"
#include "train/task_labels.h"

namespace bertrain::cli {

nlohmann::json evaluate_file(const TrainingArguments& a) {
  if (a.model.empty()) fail("evaluate: --model is required (a fine-tuned model directory)");
  if (a.eval_file.empty()) fail("evaluate: --eval_file is required");
  const bool pad_to_max = pads_to_max_length(a.padding);
  set_num_threads(a.threads);
  BertConfig config = load_classification_config(a.model);
  if (!a.problem_type.empty())
    config.problem_type = problem_type_name(parse_problem_type(a.problem_type, "--problem_type"));
  Bert<float> model(config, device_named(a.device), /*with_grads=*/false);
  load_weights(model, a.model);
  model.set_precision(precision_of(a));
  BertTokenizer tok = load_tokenizer(a.tokenizer.empty() ? a.model : a.tokenizer);
  std::string note;
  const int max_length = fit_max_length(tok, a.max_seq_length, &note);
  if (!note.empty()) std::fprintf(stderr, "%s\n", note.c_str());
  std::string cache = resolve_cache_dir(a.cache_dir);
  TokenizedDataset data = load_dataset(a.eval_file, a.reader, tok, max_length, cache);
  if (data.size() == 0) fail(a.eval_file, ": the dataset has no rows");
  // Labels are read in the model's class order (config.json id2label).
  const std::vector<std::string> names =
      a.label_list.empty() ? config.id2label : parse_label_list(a.label_list);
  if (static_cast<int>(names.size()) != config.num_labels())
    fail("--label_list names ", names.size(), " labels; the model has ", config.num_labels());
  LoaderOptions lo;
  lo.batch_size = a.per_device_eval_batch_size;
  lo.shuffle = false;
  lo.pad_to_max_length = pad_to_max;
  lo.max_length = max_length;
  lo.pad_id = tok.pad_id();
  DataLoader loader(data, example_labels(model.problem(), data, names, a.label_separator), lo);
  EvalResult r = evaluate_model(model, loader);
  nlohmann::json j = {{"eval_loss", r.loss},
                      {"eval_samples", r.examples},
                      {"eval_runtime", r.seconds},
                      {"problem_type", problem_type_name(model.problem())},
                      {"labels", names},
                      {"precision", precision_name(model.memory_options().precision)},
                      {"gemm_kernel", model.gemm_kernel()}};
  for (const auto& [name, value] : r.metrics) j["eval_" + name] = value;
  if (!r.confusion.empty()) j["confusion_matrix"] = r.confusion;
  return j;
}

namespace {

struct EvaluateOptions {
  TrainingArguments a;
  bool json = false;
};

void print_evaluation(const nlohmann::json& j) {
  for (const auto& [key, value] : j.items())
    if (key.rfind("eval_", 0) == 0 && value.is_number_float() && key != "eval_runtime" &&
        key != "eval_loss")
      std::printf("%s: %.4f\n", key.c_str(), value.get<double>());
  std::printf("eval_loss: %.4f\neval_samples: %lld\neval_runtime: %.2f s\n",
              j["eval_loss"].get<double>(), j["eval_samples"].get<long long>(),
              j["eval_runtime"].get<double>());
  if (!j.contains("confusion_matrix")) return;
  const auto names = j["labels"].get<std::vector<std::string>>();
  std::printf("confusion matrix (rows: true label, columns: predicted):\n%12s", "");
  for (const std::string& l : names) std::printf(" %10.10s", l.c_str());
  std::printf("\n");
  const auto confusion = j["confusion_matrix"].get<std::vector<std::vector<int64_t>>>();
  for (size_t i = 0; i < confusion.size(); ++i) {
    std::printf("%12.12s", names[i].c_str());
    for (int64_t c : confusion[i]) std::printf(" %10lld", static_cast<long long>(c));
    std::printf("\n");
  }
}

void run_evaluate(const EvaluateOptions& o) {
  const nlohmann::json j = evaluate_file(o.a);
  if (o.json)
    std::cout << j.dump() << "\n";
  else
    print_evaluation(j);
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto o = std::make_shared<EvaluateOptions>();
  CLI::App* cmd =
      app.add_subcommand("evaluate", "Accuracy, loss and confusion matrix on a labelled file");
  add_training_args(cmd, o->a, /*evaluate_only=*/true);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_evaluate(*o); });
}

}  // namespace bertrain::cli
