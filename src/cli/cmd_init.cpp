// bertrain init: write a randomly initialised model in Hugging Face format.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/args.h"
#include "core/error.h"
#include "core/file_io.h"
#include "model/checkpoint.h"

namespace bertrain::cli {

namespace {

struct InitOptions {
  std::string config, preset, out, vocab;
  int num_labels = -1;
  uint64_t seed = 42;
};

size_t count_lines(const std::string& text) {
  size_t n = std::count(text.begin(), text.end(), '\n');
  if (!text.empty() && text.back() != '\n') ++n;
  return n;
}

void run_init(const InitOptions& o) {
  if (o.config.empty() == o.preset.empty()) fail("init: give exactly one of --config or --preset");
  BertConfig c = o.config.empty() ? preset_config(o.preset) : load_config(o.config);
  if (o.num_labels > 0) c.id2label = default_labels(o.num_labels, "--num_labels");
  c.validate(o.config.empty() ? "preset " + o.preset : o.config);
  std::string vocab_text;
  if (!o.vocab.empty()) {
    vocab_text = read_text_file(o.vocab, "vocabulary");
    size_t lines = count_lines(vocab_text);
    if (!o.preset.empty())
      c.vocab_size = static_cast<int>(lines);  // a preset takes the vocab's size
    if (lines > static_cast<size_t>(c.vocab_size)) {
      fail(o.vocab, ": has ", lines, " tokens but the config's vocab_size is ", c.vocab_size);
    }
  }
  Bert<float> model(c);
  init_weights(model, o.seed);
  save_pretrained(model, o.out);
  if (!o.vocab.empty())
    write_text_file_atomic((std::filesystem::path(o.out) / "vocab.txt").string(), vocab_text);
  std::cout << "wrote " << o.out << ": " << model.num_params() << " parameters, "
            << c.num_hidden_layers << " layers, hidden " << c.hidden_size << ", " << c.num_labels()
            << " labels\n";
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand("init", "Write a randomly initialised model (HF format)");
  cmd->add_option("--config", o->config, "BertConfig JSON file");
  cmd->add_option("--preset", o->preset, "tiny | bert-base-uncased | bert-large-uncased");
  cmd->add_option("--out", o->out, "Output model directory")->required();
  cmd->add_option("--vocab", o->vocab, "vocab.txt to copy into the model directory");
  cmd->add_option(flag("num_labels"), o->num_labels, "Number of classes (overrides the config)");
  cmd->add_option("--seed", o->seed, "Initialisation seed")->capture_default_str();
  cmd->callback([o] { run_init(*o); });
}

}  // namespace bertrain::cli
