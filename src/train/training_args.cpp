#include "train/training_args.h"

#include <cctype>
#include <cmath>

#include "core/error.h"

namespace bertrain {

namespace {

using A = TrainingArguments;

// clang-format off
const ArgField kFields[] = {
  // Model, data, output.
  {"model", [](A& a) -> ArgRef { return &a.model; }, "HF model directory (or a weights file's directory)", true, "--model_name_or_path,--model-name-or-path"},
  {"tokenizer", [](A& a) -> ArgRef { return &a.tokenizer; }, "vocab.txt, tokenizer.json or directory (default: the model's)", true},
  {"train_file", [](A& a) -> ArgRef { return &a.train_file; }, "Training data (CSV, TSV or JSON lines)"},
  {"eval_file", [](A& a) -> ArgRef { return &a.eval_file; }, "Evaluation data (run_glue: --validation_file)", true, "--validation_file"},
  {"test_file", [](A& a) -> ArgRef { return &a.test_file; }, "Texts --do_predict labels (CSV, TSV or JSON lines; labels unused); token classification and QA: a labelled file as --eval_file"},
  {"output_dir", [](A& a) -> ArgRef { return &a.output_dir; }, "Where checkpoints, logs and the model go (evaluate: the predictions of a token-classification or QA model)", true},
  {"do_train", [](A& a) -> ArgRef { return &a.do_train; }, "Train (run_glue; with none of the do_ flags: train, the default)"},
  {"do_eval", [](A& a) -> ArgRef { return &a.do_eval; }, "Evaluate on --eval_file at the end (without --do_train: --model)"},
  {"do_predict", [](A& a) -> ArgRef { return &a.do_predict; }, "Label --test_file into output_dir/predict_results.txt (token classification and QA: predict_predictions.json[l] and predict_results.json)"},
  {"dummy", [](A& a) -> ArgRef { return &a.dummy; }, "Train on the lecture's random data instead of files"},
  {"dummy_size", [](A& a) -> ArgRef { return &a.dummy_size; }, "Dummy dataset size"},
  {"dummy_seq_len", [](A& a) -> ArgRef { return &a.dummy_seq_len; }, "Dummy sequence length"},
  {"text_column", [](A& a) -> ArgRef { return &a.reader.text_column; }, "Text column: name or 0-based index", true},
  {"text_pair_column", [](A& a) -> ArgRef { return &a.reader.text_pair_column; }, "Second text column (pairs)", true},
  {"label_column", [](A& a) -> ArgRef { return &a.reader.label_column; }, "Label column: name or 0-based index", true},
  {"has_header", [](A& a) -> ArgRef { return &a.reader.has_header; }, "CSV/TSV header: true/false (default: detect)", true},
  {"data_format", [](A& a) -> ArgRef { return &a.reader.format; }, "csv | tsv | jsonl (default: from the extension)", true},
  {"bad_rows", [](A& a) -> ArgRef { return &a.reader.bad_rows; }, "Malformed rows: fail or skip (and count)", true},
  {"label_list", [](A& a) -> ArgRef { return &a.label_list; }, "Labels in class order, comma-separated (default: sorted training labels)", true},
  {"num_labels", [](A& a) -> ArgRef { return &a.num_labels; }, "Expected number of classes (checked)"},
  {"problem_type", [](A& a) -> ArgRef { return &a.problem_type; }, "single_label_classification | regression | multi_label_classification (default: config.json's, else from the labels)", true},
  {"label_separator", [](A& a) -> ArgRef { return &a.label_separator; }, "Multi-label: the separator of the names in a label column (JSON arrays need none)", true},
  {"task", [](A& a) -> ArgRef { return &a.task; }, "sequence_classification | token_classification (run_ner: CoNLL or JSON lines of tokens and ner_tags) | question_answering (run_qa: SQuAD JSON) | mlm (masked-LM pretraining on text; `pretrain` sets it)"},
  {"ignore_mismatched_sizes", [](A& a) -> ArgRef { return &a.ignore_mismatched_sizes; }, "A head stored with another shape (label count, head) is newly initialized instead of an error (from_pretrained)"},
  {"doc_stride", [](A& a) -> ArgRef { return &a.doc_stride; }, "question_answering: tokens of context a window repeats from the one before (run_qa)", true},
  {"max_train_samples", [](A& a) -> ArgRef { return &a.max_train_samples; }, "question_answering: train on the first N examples (run_qa)"},
  {"max_eval_samples", [](A& a) -> ArgRef { return &a.max_eval_samples; }, "question_answering: evaluate on the first N examples (run_qa)", true},
  {"version_2_with_negative", [](A& a) -> ArgRef { return &a.version_2_with_negative; }, "question_answering: some questions have no answer (SQuAD v2: null answers, the v2.0 metrics)", true},
  {"null_score_diff_threshold", [](A& a) -> ArgRef { return &a.null_score_diff_threshold; }, "question_answering with --version_2_with_negative: answer null when its score beats the best span's by more than this", true},
  {"label_all_tokens", [](A& a) -> ArgRef { return &a.label_all_tokens; }, "token_classification: label every piece of a word, not only the first (run_ner)", true},
  {"config_overrides", [](A& a) -> ArgRef { return &a.config_overrides; }, "Override config.json settings, e.g. hidden_dropout_prob=0,attention_probs_dropout_prob=0 (run_mlm)"},
  {"mlm_probability", [](A& a) -> ArgRef { return &a.mlm_probability; }, "mlm: share of tokens masked (80% [MASK], 10% random, 10% kept)"},
  {"line_by_line", [](A& a) -> ArgRef { return &a.line_by_line; }, "mlm: each line an example (else texts are concatenated and cut into max_seq_length blocks)"},
  {"whole_word_mask", [](A& a) -> ArgRef { return &a.whole_word_mask; }, "mlm: mask whole words (all their ## pieces together)"},
  {"cache_dir", [](A& a) -> ArgRef { return &a.cache_dir; }, "Token cache directory ('none' to disable)", true},
  {"max_seq_length", [](A& a) -> ArgRef { return &a.max_seq_length; }, "Truncate/pad to this many tokens", true},
  {"padding", [](A& a) -> ArgRef { return &a.padding; }, "max_length | longest (dynamic padding)", true},
  {"group_by_length", [](A& a) -> ArgRef { return &a.group_by_length; }, "Batch examples of similar length (HF semantics)"},
  // Optimisation.
  {"per_device_train_batch_size", [](A& a) -> ArgRef { return &a.per_device_train_batch_size; }, "Micro-batch size"},
  {"per_device_eval_batch_size", [](A& a) -> ArgRef { return &a.per_device_eval_batch_size; }, "Eval batch size", true},
  {"gradient_accumulation_steps", [](A& a) -> ArgRef { return &a.gradient_accumulation_steps; }, "Micro-batches per optimizer step"},
  {"num_train_epochs", [](A& a) -> ArgRef { return &a.num_train_epochs; }, "Epochs (may be fractional)"},
  {"max_steps", [](A& a) -> ArgRef { return &a.max_steps; }, "Optimizer steps; overrides epochs when > 0"},
  {"learning_rate", [](A& a) -> ArgRef { return &a.learning_rate; }, "Peak learning rate"},
  {"weight_decay", [](A& a) -> ArgRef { return &a.weight_decay; }, "AdamW weight decay (not on biases/LayerNorm)"},
  {"adam_beta1", [](A& a) -> ArgRef { return &a.adam_beta1; }, "AdamW beta1"},
  {"adam_beta2", [](A& a) -> ArgRef { return &a.adam_beta2; }, "AdamW beta2"},
  {"adam_epsilon", [](A& a) -> ArgRef { return &a.adam_epsilon; }, "AdamW epsilon"},
  {"warmup_steps", [](A& a) -> ArgRef { return &a.warmup_steps; }, "Linear warmup steps"},
  {"warmup_ratio", [](A& a) -> ArgRef { return &a.warmup_ratio; }, "Warmup as a fraction of all steps"},
  {"lr_scheduler_type", [](A& a) -> ArgRef { return &a.lr_scheduler_type; }, "linear | cosine | cosine_with_restarts | polynomial | constant | constant_with_warmup"},
  {"max_grad_norm", [](A& a) -> ArgRef { return &a.max_grad_norm; }, "Global-norm gradient clipping (0: off)"},
  {"seed", [](A& a) -> ArgRef { return &a.seed; }, "Seed for init, data order and dropout"},
  {"label_smoothing_factor", [](A& a) -> ArgRef { return &a.label_smoothing_factor; }, "Label smoothing epsilon (single-label; HF LabelSmoother)"},
  // Evaluation, logging, saving.
  {"eval_strategy", [](A& a) -> ArgRef { return &a.eval_strategy; }, "no | epoch | steps (default: epoch when --eval_file is given)", false, "--evaluation_strategy"},
  {"eval_steps", [](A& a) -> ArgRef { return &a.eval_steps; }, "Evaluate every N steps (eval_strategy steps; default: logging_steps)"},
  {"logging_steps", [](A& a) -> ArgRef { return &a.logging_steps; }, "Log every N optimizer steps"},
  {"save_strategy", [](A& a) -> ArgRef { return &a.save_strategy; }, "no | epoch | steps"},
  {"save_steps", [](A& a) -> ArgRef { return &a.save_steps; }, "Checkpoint every N steps"},
  {"save_total_limit", [](A& a) -> ArgRef { return &a.save_total_limit; }, "Keep at most N checkpoints (-1: all; the best one is kept too)"},
  {"load_best_model_at_end", [](A& a) -> ArgRef { return &a.load_best_model_at_end; }, "Load the best checkpoint (metric_for_best_model) at the end"},
  {"metric_for_best_model", [](A& a) -> ArgRef { return &a.metric_for_best_model; }, "Eval metric that picks the best checkpoint (default: loss)"},
  {"greater_is_better", [](A& a) -> ArgRef { return &a.greater_is_better; }, "Whether a larger metric is better (default: unless the name ends in loss)"},
  {"early_stopping_patience", [](A& a) -> ArgRef { return &a.early_stopping_patience; }, "Stop after N evaluations without improvement (0: off; needs load_best_model_at_end)"},
  {"early_stopping_threshold", [](A& a) -> ArgRef { return &a.early_stopping_threshold; }, "How much the metric must improve to count"},
  {"resume_from_checkpoint", [](A& a) -> ArgRef { return &a.resume_from_checkpoint; }, "Checkpoint directory or 'latest'"},
  {"overwrite_output_dir", [](A& a) -> ArgRef { return &a.overwrite_output_dir; }, "Start over even if output_dir has checkpoints"},
  {"save_final_model", [](A& a) -> ArgRef { return &a.save_final_model; }, "Write the trained model to output_dir at the end"},
  // Machine.
  {"dataloader_num_workers", [](A& a) -> ArgRef { return &a.dataloader_num_workers; }, "Threads preparing batches ahead"},
  {"device", [](A& a) -> ArgRef { return &a.device; }, "cpu | cuda | auto (a GPU if one is visible)", true},
  {"threads", [](A& a) -> ArgRef { return &a.threads; }, "Compute threads (0: OpenMP default)", true},
  {"memory_limit", [](A& a) -> ArgRef { return &a.memory_limit; }, "Behave like a device of this size, e.g. 7.4GiB"},
  {"disable_tqdm", [](A& a) -> ArgRef { return &a.disable_tqdm; }, "No progress bar"},
  // Memory knobs.
  {"gradient_checkpointing", [](A& a) -> ArgRef { return &a.gradient_checkpointing; }, "Keep only each layer's input; recompute the layer in backward"},
  {"attention", [](A& a) -> ArgRef { return &a.attention; }, "standard | memory_efficient (no S x S probabilities kept)"},
  {"bf16", [](A& a) -> ArgRef { return &a.bf16; }, "Mixed precision with bfloat16 activations and weight copy (bf16 GEMMs on AMX/AVX512-BF16)", true},
  {"fp16", [](A& a) -> ArgRef { return &a.fp16; }, "Mixed precision with float16 and dynamic loss scaling", true},
  {"fp16_init_scale", [](A& a) -> ArgRef { return &a.fp16_init_scale; }, "fp16: the first loss scale (torch GradScaler's init_scale)"},
  {"auto_find_batch_size", [](A& a) -> ArgRef { return &a.auto_find_batch_size; }, "With --memory_limit: use the largest batch that fits"},
  {"keep_effective_batch_size", [](A& a) -> ArgRef { return &a.keep_effective_batch_size; }, "With --auto_find_batch_size: raise accumulation to keep batch x accumulation"},
  {"ddp_bucket_cap_mb", [](A& a) -> ArgRef { return &a.ddp_bucket_cap_mb; }, "mpirun: gradients summed over the ranks in buckets of this many MiB as backward finishes them (torch DDP's bucket_cap_mb); 0: one sum after backward"},
  {"zero_stage", [](A& a) -> ArgRef { return &a.zero_stage; }, "0 | 1: ZeRO-1 shards the AdamW state over the ranks of an mpirun job (DeepSpeed's stage 1)"},
};
// clang-format on

}  // namespace

std::span<const ArgField> training_arg_fields() {
  return kFields;
}

const ArgField* find_training_arg(std::string_view name) {
  for (const ArgField& f : kFields)
    if (name == f.name) return &f;
  return nullptr;
}

bool is_boolean(const ArgField& f) {
  TrainingArguments probe;
  return std::holds_alternative<bool*>(f.ref(probe));
}

nlohmann::json training_args_json(const TrainingArguments& a) {
  // ref() hands out pointers for the CLI to write through; here they are only read.
  TrainingArguments& fields = const_cast<TrainingArguments&>(a);
  nlohmann::json j = nlohmann::json::object();
  for (const ArgField& f : kFields) {
    std::visit(
        [&](auto* p) {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, std::optional<bool>>)
            j[f.name] = p->has_value() ? nlohmann::json(**p) : nlohmann::json();
          else if constexpr (std::is_same_v<T, BadRows>)
            j[f.name] = *p == BadRows::Skip ? "skip" : "fail";
          else
            j[f.name] = *p;
        },
        f.ref(fields));
  }
  return j;
}

Precision precision_of(const TrainingArguments& a) {
  if (a.bf16 && a.fp16) fail("--bf16 and --fp16 exclude each other: pick one precision");
  return a.bf16 ? Precision::BF16 : a.fp16 ? Precision::FP16 : Precision::FP32;
}

bool pads_to_max_length(const std::string& padding) {
  if (padding != "max_length" && padding != "longest")
    fail("--padding must be max_length or longest, got \"", padding, "\"");
  return padding == "max_length";
}

size_t parse_size(const std::string& text) {
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    fail("cannot read the size \"", text, "\" (expected e.g. 7.4GiB, 3281MB, 512M)");
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  double scale = 0;
  const std::pair<const char*, double> units[] = {{"", 1},
                                                  {"B", 1},
                                                  {"K", 1024},
                                                  {"KiB", 1024},
                                                  {"KB", 1e3},
                                                  {"M", 1 << 20},
                                                  {"MiB", 1 << 20},
                                                  {"MB", 1e6},
                                                  {"G", 1ull << 30},
                                                  {"GiB", 1ull << 30},
                                                  {"GB", 1e9},
                                                  {"T", 1ull << 40},
                                                  {"TiB", 1ull << 40},
                                                  {"TB", 1e12}};
  for (const auto& [name, s] : units)
    if (unit == name) scale = s;
  if (scale == 0)
    fail("unknown unit \"", unit, "\" in size \"", text, "\" (use B, KiB, MiB, GiB, KB, MB, GB)");
  double bytes = value * scale;
  if (!(bytes > 0) || bytes > 1e18) fail("size \"", text, "\" is out of range");
  return static_cast<size_t>(std::llround(bytes));
}

void TrainingArguments::validate() const {
  if (model.empty()) fail("--model is required (a Hugging Face model directory)");
  if (output_dir.empty()) fail("--output_dir is required");
  if (dummy && !train_file.empty())
    fail("--dummy and --train_file exclude each other: pick one data source");
  if (trains() && !dummy && train_file.empty())
    fail("--train_file is required (or --dummy for random data)");
  if (stages_given() && !trains() && output_dir.empty())
    fail("--output_dir is required: --do_eval and --do_predict write their results there");
  auto positive = [](const char* name, double v) {
    if (!(v > 0)) fail("--", name, " must be positive, got ", v);
  };
  positive("per_device_train_batch_size", per_device_train_batch_size);
  positive("per_device_eval_batch_size", per_device_eval_batch_size);
  positive("gradient_accumulation_steps", gradient_accumulation_steps);
  positive("max_seq_length", max_seq_length);
  if (max_steps <= 0) positive("num_train_epochs", num_train_epochs);
  if (learning_rate < 0) fail("--learning_rate must be >= 0");
  if (!(ddp_bucket_cap_mb >= 0)) fail("--ddp_bucket_cap_mb must be >= 0, got ", ddp_bucket_cap_mb);
  if (zero_stage != 0 && zero_stage != 1)
    fail("--zero_stage must be 0 or 1 (ZeRO-1: the optimizer state sharded), got ", zero_stage);
  if (weight_decay < 0) fail("--weight_decay must be >= 0");
  if (warmup_ratio < 0 || warmup_ratio >= 1) fail("--warmup_ratio must be in [0, 1)");
  if (warmup_steps < 0) fail("--warmup_steps must be >= 0");
  if (warmup_steps > 0 && warmup_ratio > 0)
    fail("--warmup_steps and --warmup_ratio both set: give one (HF uses warmup_steps then)");
  pads_to_max_length(padding);
  for (const auto& [name, v] :
       {std::pair{"eval_strategy", eval_strategy}, {"save_strategy", save_strategy}})
    if (!v.empty() && v != "no" && v != "epoch" && v != "steps")
      fail("--", name, " must be no, epoch or steps, got \"", v, "\"");
  if (eval_strategy == "steps" && eval_steps <= 0 && logging_steps <= 0)
    fail("--eval_strategy steps needs --eval_steps");
  if ((eval_strategy == "epoch" || eval_strategy == "steps") && eval_file.empty() && !dummy)
    fail("--eval_strategy ", eval_strategy, " needs --eval_file");
  if (save_strategy == "steps" && save_steps <= 0)
    fail("--save_steps must be positive with --save_strategy steps");
  if (logging_steps <= 0) fail("--logging_steps must be positive");
  if (do_eval && eval_file.empty()) fail("--do_eval needs --eval_file (or --validation_file)");
  if (do_predict && test_file.empty()) fail("--do_predict needs --test_file");
  if (!test_file.empty() && !do_predict) fail("--test_file is read only with --do_predict");
  if (do_predict && do_train && !save_final_model)
    fail(
        "--do_predict after --do_train labels with the trained model, which "
        "--save_final_model false does not save");
  parse_task(task, "--task");
  if (!(mlm_probability > 0 && mlm_probability < 1))
    fail("--mlm_probability must be in (0, 1), got ", mlm_probability);
  if (!(label_smoothing_factor >= 0 && label_smoothing_factor < 1))
    fail("--label_smoothing_factor must be in [0, 1), got ", label_smoothing_factor);
  if (load_best_model_at_end) {  // as TrainingArguments checks it
    const std::string eval =
        eval_strategy.empty() ? (eval_file.empty() ? "no" : "epoch") : eval_strategy;
    if (eval == "no") fail("--load_best_model_at_end needs evaluations (--eval_file)");
    if (eval != save_strategy)
      fail("--load_best_model_at_end requires the save and eval strategy to match, got eval ", eval,
           " and save ", save_strategy);
    const int64_t every_eval = eval_steps > 0 ? eval_steps : logging_steps;
    if (eval == "steps" && save_steps % every_eval != 0)
      fail("--load_best_model_at_end requires --save_steps (", save_steps,
           ") to be a multiple of --eval_steps (", every_eval, ")");
  }
  if (early_stopping_patience < 0) fail("--early_stopping_patience must be >= 0");
  if (early_stopping_patience > 0 && !load_best_model_at_end)
    fail("--early_stopping_patience needs --load_best_model_at_end (as EarlyStoppingCallback)");
  if (dataloader_num_workers < 0) fail("--dataloader_num_workers must be >= 0");
  if (dummy && (dummy_size <= 0 || dummy_seq_len <= 1))
    fail("--dummy_size and --dummy_seq_len must be positive");
  if (!memory_limit.empty()) parse_size(memory_limit);
  precision_of(*this);
  if (fp16 && !(fp16_init_scale > 0 && std::isfinite(fp16_init_scale)))
    fail("--fp16_init_scale must be a positive number, got ", fp16_init_scale);
  if (attention != "standard" && attention != "memory_efficient")
    fail("--attention must be standard or memory_efficient, got \"", attention, "\"");
  if (device != "cpu" && device != "cuda" && device != "auto")
    fail("--device must be cpu, cuda or auto, got \"", device, "\"");
}

}  // namespace bertrain
