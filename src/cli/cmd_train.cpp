// bertrain train: fine-tune a model on a labelled text file (or the lecture's dummy data)
// with Hugging Face TrainingArguments flags (training_arg_fields()).
#include "cli/args.h"
#include "train/trainer.h"

namespace bertrain::cli {

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainingArguments>();
  CLI::App* cmd =
      app.add_subcommand("train", "Fine-tune BertForSequenceClassification (HF Trainer semantics)");
  add_training_args(cmd, *a);
  cmd->callback([a] {
    install_stop_handlers();
    TrainOutcome out = run_training(*a);
    if (out.interrupted) std::exit(128 + out.signal);
  });
}

}  // namespace bertrain::cli
