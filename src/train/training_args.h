// The knobs of a training run, named as Hugging Face's TrainingArguments (and run_glue's
// data arguments) name them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "data/reader.h"
#include "model/bert.h"

namespace bertrain {

struct TrainingArguments {
  // Model, data, output.
  std::string model;      // HF model directory (config.json, model.safetensors, tokenizer)
  std::string tokenizer;  // vocab.txt / tokenizer.json / directory; default: the model's
  std::string train_file, eval_file, output_dir;
  std::string test_file;  // --do_predict's texts (labels, if any, unused)
  // run_glue's stages. None given: train, with its evaluations (the default). Any given: only
  // those run: --do_train trains (evaluating by eval_strategy), --do_eval evaluates the
  // trained model (without --do_train: --model) on --eval_file at the end, and --do_predict
  // labels --test_file into output_dir/predict_results.txt.
  bool do_train = false, do_eval = false, do_predict = false;
  bool stages_given() const { return do_train || do_eval || do_predict; }
  bool trains() const { return !stages_given() || do_train; }
  bool dummy = false;  // the lecture's random data instead of files
  int dummy_size = 512, dummy_seq_len = 512;
  ReaderOptions reader;
  std::string label_list;       // comma-separated, class order; default: sorted training labels
  int num_labels = -1;          // checked against the label list / config
  std::string problem_type;     // empty: config.json's, else from the labels (task_labels.h)
  std::string label_separator;  // multi-label names joined in one column
  // The head trained: sequence_classification (train's default) or mlm (pretrain's), with
  // run_mlm's data options.
  std::string task = "sequence_classification";
  std::string config_overrides;  // run_mlm's "key=value,..." over the model's config.json
  double mlm_probability = 0.15;
  bool line_by_line = false;  // else texts are concatenated and cut into max_seq_length blocks
  bool whole_word_mask = false;
  bool label_all_tokens = false;         // token classification: every piece of a word labelled
  bool version_2_with_negative = false;  // question answering: SQuAD v2 (null answers)
  double null_score_diff_threshold = 0.0;
  bool ignore_mismatched_sizes = false;
  int doc_stride = 128;  // question answering: tokens a window repeats from the one before
  int64_t max_train_samples = -1,
          max_eval_samples =
              -1;  // run_qa's: the first N examples  // a head stored with another shape: new, not
                   // an error  // DataCollatorForWholeWordMask's choice of whole words
  std::string cache_dir;  // default: default_cache_dir(); "none" disables
  int max_seq_length = 128;
  std::string padding = "max_length";  // max_length | longest
  bool group_by_length = false;

  // Optimisation.
  int per_device_train_batch_size = 8, per_device_eval_batch_size = 8;
  int gradient_accumulation_steps = 1;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;
  double learning_rate = 5e-5, weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  int64_t warmup_steps = 0;
  double warmup_ratio = 0.0;
  std::string lr_scheduler_type = "linear";
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  double label_smoothing_factor = 0.0;  // single-label: HF's LabelSmoother

  // Evaluation, logging, saving.
  std::string eval_strategy;  // no | epoch | steps; default: epoch when there is eval data
  int64_t eval_steps = -1;
  int64_t logging_steps = 500;
  std::string save_strategy = "steps";  // no | epoch | steps
  int64_t save_steps = 500;
  int save_total_limit = -1;
  // The best checkpoint by an eval metric (HF: "loss" by default, lower is better unless the
  // name does not end in "loss"); loaded at the end, and never rotated away.
  bool load_best_model_at_end = false;
  std::string metric_for_best_model;  // with or without "eval_"
  std::optional<bool> greater_is_better;
  // EarlyStoppingCallback: stop after this many evaluations without an improvement of more
  // than the threshold over the best metric (0: off).
  int early_stopping_patience = 0;
  double early_stopping_threshold = 0.0;
  std::string resume_from_checkpoint;  // a checkpoint directory or "latest"
  bool overwrite_output_dir = false;
  bool save_final_model =
      true;  // write the trained model to output_dir at the end (sweeps skip it)

  // Machine.
  int dataloader_num_workers = 0;
  std::string device = "cpu";  // cpu | cuda | auto (a GPU if one is visible)
  int threads = 0;             // 0: OpenMP default
  std::string memory_limit;    // e.g. 7.4GiB; empty: none
  bool disable_tqdm = false;

  // Memory knobs.
  bool gradient_checkpointing = false;
  std::string attention = "standard";  // standard | memory_efficient
  bool bf16 = false, fp16 = false;     // mixed precision (fp16 with dynamic loss scaling)
  double fp16_init_scale = 65536.0;    // the GradScaler's first loss scale (torch's init_scale)
  bool auto_find_batch_size = false;   // with a memory limit: the largest batch that fits
  bool keep_effective_batch_size =
      false;                      // ... and raise accumulation to keep batch x accumulation
  int zero_stage = 0;             // 1: ZeRO-1, the optimizer state sharded over the ranks (mpirun)
  double ddp_bucket_cap_mb = 25;  // gradient buckets summed during backward; 0: one sum after

  // Throws Error for contradictory or out-of-range values, saying what was meant.
  void validate() const;
};

// One entry per field of TrainingArguments: its flag name (HF's snake_case spelling; the
// kebab-case one is accepted too), where it lives, what it means. This table is the only list of
// the fields: it makes the flags of train, memory, find-batch-size and evaluate, checks the
// sweep's knobs and --config_file keys, and writes training_args.json.
using ArgRef = std::variant<bool*, int*, int64_t*, uint64_t*, double*, std::string*,
                            std::optional<bool>*, BadRows*>;

struct ArgField {
  const char* name;
  ArgRef (*ref)(TrainingArguments&);
  const char* help;
  bool evaluate = false;     // evaluate takes it too (data and batch flags)
  const char* aliases = "";  // other spellings, e.g. "--evaluation_strategy"
};

std::span<const ArgField> training_arg_fields();
// nullptr when no field has that name.
const ArgField* find_training_arg(std::string_view name);
bool is_boolean(const ArgField& f);
// Every field by name, as training_args.json holds them.
nlohmann::json training_args_json(const TrainingArguments& a);

// --bf16 / --fp16 as a Precision; both at once is an error.
Precision precision_of(const TrainingArguments& a);

// --padding for batches: true for max_length, false for longest (dynamic padding); any other
// value is an error naming it.
bool pads_to_max_length(const std::string& padding);

// "7.4GiB", "3281MB", "512M", "1e9" -> bytes; an error names the text.
size_t parse_size(const std::string& text);

}  // namespace bertrain
