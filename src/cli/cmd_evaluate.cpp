// bertrain evaluate: the metrics and loss of a fine-tuned model on a file (and the confusion
// matrix of a single-label one, the predictions of a token-classification or QA one); also
// train's --do_eval stage.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/stages.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/parallel.h"
#include "data/cache.h"
#include "device/cuda_device.h"
#include "model/checkpoint.h"
#include "train/eval_set.h"
#include "train/evaluation.h"
#include "train/task_labels.h"

namespace bertrain::cli {

namespace {

// The model of a.model, read for evaluation in the run's precision.
std::unique_ptr<Bert<float>> load_eval_model(const TrainingArguments& a, const BertConfig& config) {
  auto model = std::make_unique<Bert<float>>(config, device_named(a.device), /*with_grads=*/false);
  load_weights(*model, a.model);
  model->set_precision(precision_of(a));
  return model;
}

// run_glue's max_seq_length for the model's tokenizer, with its warning when cut.
int eval_max_length(const TrainingArguments& a, const BertTokenizer& tok) {
  std::string note;
  const int max_length = fit_max_length(tok, a.max_seq_length, &note);
  if (!note.empty()) std::fprintf(stderr, "%s\n", note.c_str());
  return max_length;
}

LoaderOptions eval_loader_options(const TrainingArguments& a, const BertTokenizer& tok,
                                  int max_length) {
  LoaderOptions lo;
  lo.batch_size = a.per_device_eval_batch_size;
  lo.shuffle = false;
  lo.pad_to_max_length = pads_to_max_length(a.padding);
  lo.max_length = max_length;
  lo.pad_id = tok.pad_id();
  return lo;
}

nlohmann::json result_json(const EvalResult& r, const Bert<float>& model,
                           const std::vector<std::string>& labels) {
  nlohmann::json j = {{"eval_loss", r.loss},
                      {"eval_samples", r.examples},
                      {"eval_runtime", r.seconds},
                      {"labels", labels},
                      {"precision", precision_name(model.memory_options().precision)},
                      {"gemm_kernel", model.gemm_kernel()}};
  for (const auto& [name, value] : r.metrics) j["eval_" + name] = value;
  return j;
}

// Token classification and QA: `path` read as run_ner / run_qa read it (the model's tags),
// scored as training's evaluation scores it; the predictions go to --output_dir when given,
// named by the stage (eval_ or predict_).
nlohmann::json evaluate_task_file(const TrainingArguments& a, const BertConfig& config,
                                  const BertTokenizer& tok, int max_length, const std::string& path,
                                  const std::string& stage) {
  auto model = load_eval_model(a, config);
  const TaskEvalSet set =
      load_eval_set(config.task, path, tok, eval_set_options(a, max_length, config.id2label));
  DataLoader loader(set.data(), set.labels(), eval_loader_options(a, tok, max_length));
  const QaReference qa = set.qa_reference();
  const EvalResult r = evaluate_model(*model, loader, nullptr, &qa);
  nlohmann::json j = result_json(r, *model, config.id2label);
  j["task"] = task_name(config.task);
  if (!a.output_dir.empty()) {
    std::filesystem::create_directories(a.output_dir);
    j["predictions_file"] = write_eval_predictions(set, config.id2label, r, a.output_dir, stage);
  }
  return j;
}

}  // namespace

nlohmann::json evaluate_file(const TrainingArguments& a) {
  if (a.model.empty()) fail("evaluate: --model is required (a fine-tuned model directory)");
  if (a.eval_file.empty()) fail("evaluate: --eval_file is required");
  pads_to_max_length(a.padding);  // a bad --padding fails before anything loads
  set_num_threads(a.threads);
  BertConfig config = load_config((std::filesystem::path(a.model) / "config.json").string());
  const bool per_token = config.task == Task::TokenClassification,
             qa = config.task == Task::QuestionAnswering;
  if (!per_token && !qa) config = load_classification_config(a.model);  // names another head
  BertTokenizer tok = load_tokenizer(a.tokenizer.empty() ? a.model : a.tokenizer);
  const int max_length = eval_max_length(a, tok);
  if (per_token || qa) return evaluate_task_file(a, config, tok, max_length, a.eval_file, "eval");
  if (!a.problem_type.empty())
    config.problem_type = problem_type_name(parse_problem_type(a.problem_type, "--problem_type"));
  auto model = load_eval_model(a, config);
  std::string cache = resolve_cache_dir(a.cache_dir);
  TokenizedDataset data = load_dataset(a.eval_file, a.reader, tok, max_length, cache);
  if (data.size() == 0) fail(a.eval_file, ": the dataset has no rows");
  // Labels are read in the model's class order (config.json id2label).
  const std::vector<std::string> names =
      a.label_list.empty() ? config.id2label : parse_label_list(a.label_list);
  if (static_cast<int>(names.size()) != config.num_labels())
    fail("--label_list names ", names.size(), " labels; the model has ", config.num_labels());
  DataLoader loader(data, example_labels(model->problem(), data, names, a.label_separator),
                    eval_loader_options(a, tok, max_length));
  EvalResult r = evaluate_model(*model, loader);
  nlohmann::json j = result_json(r, *model, names);
  j["problem_type"] = problem_type_name(model->problem());
  if (!r.confusion.empty()) j["confusion_matrix"] = r.confusion;
  return j;
}

std::string predict_task_file(const TrainingArguments& args, const std::string& model_dir) {
  TrainingArguments a = args;
  a.model = model_dir;
  const BertConfig config =
      load_config((std::filesystem::path(model_dir) / "config.json").string());
  BertTokenizer tok = load_tokenizer(a.tokenizer.empty() ? model_dir : a.tokenizer);
  const int max_length = eval_max_length(a, tok);
  const nlohmann::json j = evaluate_task_file(a, config, tok, max_length, a.test_file, "predict");
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [key, value] : j.items())  // run_ner/run_qa's predict_ metrics
    if (key.rfind("eval_", 0) == 0) metrics["predict_" + key.substr(5)] = value;
  const std::string path = (std::filesystem::path(a.output_dir) / "predict_results.json").string();
  write_text_file_atomic(path, metrics.dump(2) + "\n");
  std::printf("***** Predict results *****\n%s and %s written\n", path.c_str(),
              j["predictions_file"].get<std::string>().c_str());
  return j["predictions_file"];
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
  CLI::App* cmd = app.add_subcommand("evaluate",
                                     "Metrics and loss on a labelled file (confusion matrix; "
                                     "NER/QA predictions with --output_dir)");
  add_training_args(cmd, o->a, /*evaluate_only=*/true);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] { run_evaluate(*o); });
}

}  // namespace bertrain::cli
