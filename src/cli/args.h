// Helpers shared by the subcommands: flag spelling, sizes, the model/tensor glue.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace bertrain::cli {

// "--per_device_train_batch_size,--per-device-train-batch-size": both spellings accepted.
std::string flag(const std::string& snake_name);

void add_init_command(CLI::App& app);
void add_parity_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);

}  // namespace bertrain::cli
