// Helpers shared by the subcommands: flag spelling, sizes, the model/tensor glue.
#pragma once

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "train/training_args.h"

namespace bertrain::cli {

// A fine-tuned model directory's config.json, for the commands that run sequence-classification
// models (evaluate, predict): another head is an error naming the directory.
BertConfig load_classification_config(const std::string& model_dir);

// "--per_device_train_batch_size,--per-device-train-batch-size": both spellings accepted.
std::string flag(const std::string& snake_name);

void add_init_command(CLI::App& app);
void add_parity_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_train_command(CLI::App& app);
// The TrainingArguments fields as flags (training_arg_fields(): every one, or with
// evaluate_only those evaluate takes).
void add_training_args(CLI::App* cmd, TrainingArguments& a, bool evaluate_only = false);
void add_evaluate_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_memory_commands(CLI::App& app);
void add_sweep_command(CLI::App& app);

// Lines come from `path`, or from stdin when it is empty; `source` names it in messages.
class InputLines {
 public:
  // A line longer than this is refused before more of it is read (as a dataset row is).
  static constexpr size_t kMaxLineBytes = size_t{16} << 20;

  explicit InputLines(const std::string& path);
  // The next line without its "\n" or "\r\n"; false at the end of the input.
  bool next(std::string& line);
  std::string source() const { return path_.empty() ? "<stdin>" : path_; }
  size_t line_number() const { return line_number_; }

 private:
  std::istream& stream() { return path_.empty() ? std::cin : file_; }

  std::string path_;
  std::ifstream file_;
  size_t line_number_ = 0;
};

// Expands "--config_file F.json" into the flags it holds (command-line flags win).
std::vector<std::string> expand_config_file(int argc, char** argv);
// "did you mean --learning_rate?" for an unknown flag, or "".
std::string suggest_flag(const CLI::App& app, const std::string& unknown);

}  // namespace bertrain::cli
