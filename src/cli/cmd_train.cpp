// bertrain train: fine-tune a model on a labelled text file (or the lecture's dummy data)
// with Hugging Face TrainingArguments flags.
#include "cli/args.h"
#include "train/trainer.h"

namespace bertrain::cli {

namespace {

void add_bool(CLI::App* cmd, const std::string& name, bool& target, const std::string& help) {
  cmd->add_flag(flag(name) + "{true}", target, help)->default_str(target ? "true" : "false");
}

}  // namespace

void add_data_options(CLI::App* cmd, TrainingArguments& a) {
  cmd->add_option(flag("text_column"), a.reader.text_column, "Text column: name or 0-based index");
  cmd->add_option(flag("text_pair_column"), a.reader.text_pair_column,
                  "Second text column (pairs)");
  cmd->add_option(flag("label_column"), a.reader.label_column,
                  "Label column: name or 0-based index");
  cmd->add_option(flag("label_list"), a.label_list,
                  "Labels in class order, comma-separated (default: sorted training labels)");
  cmd->add_option(flag("has_header"), a.reader.has_header,
                  "CSV/TSV header: true/false (default: detect)");
  cmd->add_option(flag("data_format"), a.reader.format,
                  "csv | tsv | jsonl (default: from the extension)");
  cmd->add_option_function<std::string>(
      flag("bad_rows"),
      [&a](const std::string& v) {
        if (v != "fail" && v != "skip")
          throw CLI::ValidationError("--bad_rows", "must be fail or skip");
        a.reader.bad_rows = v == "skip" ? BadRows::Skip : BadRows::Fail;
      },
      "Malformed rows: fail (default) or skip and count");
  cmd->add_option(flag("max_seq_length"), a.max_seq_length, "Truncate/pad to this many tokens")
      ->capture_default_str();
  cmd->add_option(flag("tokenizer"), a.tokenizer,
                  "vocab.txt, tokenizer.json or directory (default: the model's)");
  cmd->add_option(flag("cache_dir"), a.cache_dir, "Token cache directory ('none' to disable)");
}

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainingArguments>();
  CLI::App* cmd =
      app.add_subcommand("train", "Fine-tune BertForSequenceClassification (HF Trainer semantics)");
  cmd->add_option("--model,--model_name_or_path,--model-name-or-path", a->model,
                  "HF model directory")
      ->required();
  cmd->add_option(flag("train_file"), a->train_file, "Training data (CSV, TSV or JSON lines)");
  cmd->add_option(flag("eval_file"), a->eval_file, "Evaluation data");
  cmd->add_option(flag("output_dir"), a->output_dir, "Where checkpoints, logs and the model go")
      ->required();
  add_bool(cmd, "dummy", a->dummy, "Train on the lecture's random data instead of files");
  cmd->add_option(flag("dummy_size"), a->dummy_size, "Dummy dataset size")->capture_default_str();
  cmd->add_option(flag("dummy_seq_len"), a->dummy_seq_len, "Dummy sequence length")
      ->capture_default_str();
  add_data_options(cmd, *a);
  cmd->add_option(flag("num_labels"), a->num_labels, "Expected number of classes (checked)");
  cmd->add_option("--padding", a->padding, "max_length | longest (dynamic padding)")
      ->capture_default_str();
  add_bool(cmd, "group_by_length", a->group_by_length,
           "Batch examples of similar length (HF semantics)");
  cmd->add_option(flag("per_device_train_batch_size"), a->per_device_train_batch_size,
                  "Micro-batch size")
      ->capture_default_str();
  cmd->add_option(flag("per_device_eval_batch_size"), a->per_device_eval_batch_size,
                  "Eval batch size")
      ->capture_default_str();
  cmd->add_option(flag("gradient_accumulation_steps"), a->gradient_accumulation_steps,
                  "Micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option(flag("num_train_epochs"), a->num_train_epochs, "Epochs (may be fractional)")
      ->capture_default_str();
  cmd->add_option(flag("max_steps"), a->max_steps, "Optimizer steps; overrides epochs when > 0")
      ->capture_default_str();
  cmd->add_option(flag("learning_rate"), a->learning_rate, "Peak learning rate")
      ->capture_default_str();
  cmd->add_option(flag("weight_decay"), a->weight_decay,
                  "AdamW weight decay (not on biases/LayerNorm)")
      ->capture_default_str();
  cmd->add_option(flag("adam_beta1"), a->adam_beta1, "AdamW beta1")->capture_default_str();
  cmd->add_option(flag("adam_beta2"), a->adam_beta2, "AdamW beta2")->capture_default_str();
  cmd->add_option(flag("adam_epsilon"), a->adam_epsilon, "AdamW epsilon")->capture_default_str();
  cmd->add_option(flag("warmup_steps"), a->warmup_steps, "Linear warmup steps")
      ->capture_default_str();
  cmd->add_option(flag("warmup_ratio"), a->warmup_ratio, "Warmup as a fraction of all steps")
      ->capture_default_str();
  cmd->add_option(flag("lr_scheduler_type"), a->lr_scheduler_type,
                  "linear | constant | constant_with_warmup")
      ->capture_default_str();
  cmd->add_option(flag("max_grad_norm"), a->max_grad_norm, "Global-norm gradient clipping (0: off)")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed for init, data order and dropout")
      ->capture_default_str();
  cmd->add_option(flag("eval_strategy") + ",--evaluation_strategy", a->eval_strategy,
                  "no | epoch | steps (default: epoch when --eval_file is given)");
  cmd->add_option(flag("eval_steps"), a->eval_steps,
                  "Evaluate every N steps (eval_strategy steps)");
  cmd->add_option(flag("logging_steps"), a->logging_steps, "Log every N optimizer steps")
      ->capture_default_str();
  cmd->add_option(flag("save_strategy"), a->save_strategy, "no | epoch | steps")
      ->capture_default_str();
  cmd->add_option(flag("save_steps"), a->save_steps, "Checkpoint every N steps")
      ->capture_default_str();
  cmd->add_option(flag("save_total_limit"), a->save_total_limit, "Keep at most N checkpoints");
  cmd->add_option(flag("resume_from_checkpoint"), a->resume_from_checkpoint,
                  "Checkpoint directory or 'latest'");
  add_bool(cmd, "overwrite_output_dir", a->overwrite_output_dir,
           "Start over even if output_dir has checkpoints");
  cmd->add_option(flag("dataloader_num_workers"), a->dataloader_num_workers,
                  "Threads preparing batches ahead")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Compute threads (0: OpenMP default)");
  cmd->add_option(flag("memory_limit"), a->memory_limit,
                  "Behave like a device of this size, e.g. 7.4GiB");
  add_bool(cmd, "disable_tqdm", a->disable_tqdm, "No progress bar");
  add_bool(cmd, "save_final_model", a->save_final_model,
           "Write the trained model to output_dir at the end");
  add_bool(cmd, "gradient_checkpointing", a->gradient_checkpointing,
           "Keep only each layer's input; recompute the layer in backward");
  add_bool(cmd, "bf16", a->bf16, "Mixed precision with bfloat16 activations and weight copy");
  add_bool(cmd, "fp16", a->fp16, "Mixed precision with float16 and dynamic loss scaling");
  cmd->add_option("--attention", a->attention,
                  "standard | memory_efficient (no S x S probabilities kept)")
      ->capture_default_str();
  add_bool(cmd, "auto_find_batch_size", a->auto_find_batch_size,
           "With --memory_limit: use the largest batch that fits");
  add_bool(cmd, "keep_effective_batch_size", a->keep_effective_batch_size,
           "With --auto_find_batch_size: raise accumulation to keep batch x accumulation");
  cmd->callback([a] {
    install_stop_handlers();
    TrainOutcome out = run_training(*a);
    if (out.interrupted) std::exit(128 + out.signal);
  });
}

}  // namespace bertrain::cli
