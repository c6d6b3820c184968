// bertrain train: fine-tune a model on a labelled text file (or the lecture's dummy data), and
// bertrain pretrain: masked-LM pretraining on text files (run_mlm), the same trainer with
// --task mlm; both with Hugging Face TrainingArguments flags (training_arg_fields()).
#include <filesystem>
#include <fstream>

#include "cli/args.h"
#include "cli/stages.h"
#include "core/error.h"
#include "core/file_io.h"
#include "dist/comm.h"
#include "model/bert_config.h"
#include "train/trainer.h"

namespace bertrain::cli {

namespace {

// --do_eval without --do_train: the evaluation of --model, saved as Trainer.save_metrics("eval")
// saves it (eval_results.json, merged into all_results.json).
void eval_stage(const TrainingArguments& a) {
  if (a.task == "mlm")
    fail(
        "--do_eval without --do_train evaluates fine-tuned models; pretraining evaluates with "
        "--do_train");
  // The model's head decides what is evaluated; a --task given must name it.
  if (a.task != "sequence_classification" && !a.model.empty()) {
    const BertConfig c = load_config((std::filesystem::path(a.model) / "config.json").string());
    if (a.task != task_name(c.task))
      fail(a.model, ": a ", task_architecture(c.task), ", not a model for --task ", a.task);
  }
  nlohmann::json j = evaluate_file(a);
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [key, value] : j.items())
    if (key.rfind("eval_", 0) == 0) metrics[key] = value;
  const std::filesystem::path dir(a.output_dir);
  std::filesystem::create_directories(dir);
  write_text_file_atomic((dir / "eval_results.json").string(), metrics.dump(2) + "\n");
  nlohmann::json all = nlohmann::json::object();
  if (std::ifstream in(dir / "all_results.json"); in) {
    try {
      all = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      fail((dir / "all_results.json").string(), ": not valid JSON (", e.what(), ")");
    }
  }
  all.update(metrics);
  write_text_file_atomic((dir / "all_results.json").string(), all.dump(2) + "\n");
  std::printf("***** eval metrics *****\n");
  for (const auto& [key, value] : metrics.items())
    std::printf("  %-24s = %s\n", key.c_str(), value.dump().c_str());
}

// The run_glue stages the arguments select (all but --do_predict's by default: training).
int run_stages(const TrainingArguments& a) {
  if (a.trains()) {
    TrainOutcome out = run_training(a);
    if (out.interrupted) return 128 + out.signal;
    if (world().rank() != 0) return 0;  // one rank writes the stages' files
  } else {
    a.validate();
    if (a.do_eval) eval_stage(a);
  }
  if (a.do_predict) {  // with the model's head
    const std::string dir = a.do_train ? a.output_dir : a.model;
    const Task task = load_config((std::filesystem::path(dir) / "config.json").string()).task;
    if (task == Task::TokenClassification || task == Task::QuestionAnswering)
      predict_task_file(a, dir);
    else if (task == Task::SequenceClassification)
      predict_file(a, dir);
    else
      fail("--do_predict runs fine-tuned models; ", dir, " holds a ", task_architecture(task));
  }
  return 0;
}

void add_trainer_command(CLI::App& app, const char* name, const char* help, const char* task) {
  auto a = std::make_shared<TrainingArguments>();
  a->task = task;
  CLI::App* cmd = app.add_subcommand(name, help);
  add_training_args(cmd, *a);
  cmd->callback([a] {
    install_stop_handlers();
    if (int rc = run_stages(*a)) std::exit(rc);
  });
}

}  // namespace

void add_train_command(CLI::App& app) {
  add_trainer_command(app, "train",
                      "Fine-tune BertForSequenceClassification (HF Trainer semantics)",
                      "sequence_classification");
  add_trainer_command(app, "pretrain",
                      "Masked-LM pretraining on text (run_mlm: BertForMaskedLM; train --task mlm)",
                      "mlm");
}

}  // namespace bertrain::cli
