// bertrain train: fine-tune a model on a labelled text file (or the lecture's dummy data), and
// bertrain pretrain: masked-LM pretraining on text files (run_mlm), the same trainer with
// --task mlm; both with Hugging Face TrainingArguments flags (training_arg_fields()).
#include "cli/args.h"
#include "train/trainer.h"

namespace bertrain::cli {

namespace {

void add_trainer_command(CLI::App& app, const char* name, const char* help, const char* task) {
  auto a = std::make_shared<TrainingArguments>();
  a->task = task;
  CLI::App* cmd = app.add_subcommand(name, help);
  add_training_args(cmd, *a);
  cmd->callback([a] {
    install_stop_handlers();
    TrainOutcome out = run_training(*a);
    if (out.interrupted) std::exit(128 + out.signal);
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
