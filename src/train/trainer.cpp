#include "train/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/file_io.h"
#include "core/parallel.h"
#include "core/timing.h"
#include "data/cache.h"
#include "data/loader.h"
#include "data/squad.h"
#include "data/tagged.h"
#include "device/cuda_device.h"
#include "dist/comm.h"
#include "model/checkpoint.h"
#include "train/checkpoints.h"
#include "train/eval_set.h"
#include "train/evaluation.h"
#include "train/log_format.h"
#include "train/memory_model.h"
#include "train/task_labels.h"
#include "train/train_step.h"

namespace bertrain {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<int> g_stop_signal{0};

void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
}

// Everything one run holds.
struct Run {
  const TrainingArguments& args;
  Device device = cpu_device();    // where the model, its activations and the optimizer live
  Comm* comm = &single_process();  // the data-parallel world (mpirun), else a world of one
  bool main_rank() const { return comm->rank() == 0; }
  BertConfig config;
  std::optional<BertTokenizer> tokenizer;
  std::vector<std::string> tok_files;
  std::vector<std::string> labels;  // class order (config.json id2label)
  ProblemType problem = ProblemType::SingleLabel;
  MlmMasking masking;                 // masked LM: what the loaders mask
  std::vector<uint8_t> continuation;  // --whole_word_mask: which ids continue a word
  TokenizedDataset train_data, eval_data;
  // Token classification: labels per token, and the evaluation sentences with each token's word.
  std::vector<int32_t> train_token_labels;
  // Question answering: the windows of the training and evaluation examples.
  QaFeatures train_qa;
  TaskEvalSet eval_set;  // token classification and QA: what evaluation scores against
  bool has_eval = false;
  std::unique_ptr<Bert<float>> model;
  std::unique_ptr<AdamW<float>> optimizer;
  // The step whose checkpoint this run holds (saved, or resumed from): every rank knows it, so
  // all take the same decision to save (under ZeRO-1 saving is a collective).
  int64_t checkpoint_step = -1;
  std::unique_ptr<DataLoader> train_loader, eval_loader;
  LrSchedule schedule;
  int64_t updates_per_epoch = 0, total_steps = 0;
  int num_epochs = 0;
  std::string eval_strategy;
  json state;  // trainer_state.json
  double loss_since_log = 0;
  int64_t last_logged_step = 0;
  double total_loss = 0;
  double comm_wait_seconds = 0;  // data parallel: blocked in the gradients' sum over the ranks
  bool stop_requested = false;   // early stopping ended the run
  int batch,
      accumulation;    // per-device micro-batch and window (auto_find_batch_size may change them)
  int max_seq_length;  // --max_seq_length, cut to the tokenizer's model_max_length
  MemoryEstimate predicted;
  std::optional<GradScaler> scaler;  // fp16 only

  explicit Run(const TrainingArguments& a)
      : args(a),
        batch(a.per_device_train_batch_size),
        accumulation(a.gradient_accumulation_steps),
        max_seq_length(a.max_seq_length) {}
};

void log_line(Run& run, const LogEntry& entry) {
  if (isatty(STDERR_FILENO) && !run.args.disable_tqdm && run.main_rank())
    std::fprintf(stderr, "\r\033[K");
  std::printf("%s\n", py_dict(entry).c_str());
  std::fflush(stdout);
  json j = json::object();
  for (const auto& [k, v] : entry) j[k] = v;
  j["step"] = run.state["global_step"];
  run.state["log_history"].push_back(j);
}

void progress(const Run& run, int64_t step, std::chrono::steady_clock::time_point t0) {
  if (run.args.disable_tqdm || !isatty(STDERR_FILENO) || !run.main_rank()) return;
  double elapsed = seconds_since(t0), rate = step / std::max(elapsed, 1e-9);
  double eta = (run.total_steps - step) / std::max(rate, 1e-9);
  int width = 30, filled = static_cast<int>(width * step / std::max<int64_t>(1, run.total_steps));
  std::fprintf(stderr, "\r%3d%%|%s%s| %lld/%lld [%02d:%02d<%02d:%02d, %.2f it/s]",
               static_cast<int>(100 * step / std::max<int64_t>(1, run.total_steps)),
               std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
               static_cast<long long>(step), static_cast<long long>(run.total_steps),
               static_cast<int>(elapsed) / 60, static_cast<int>(elapsed) % 60,
               static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, rate);
}

// A classification head's labels and problem type, into the config the memory plan, the model
// and the saved config.json read (as transformers saves them).
void set_head_labels(Run& run) {
  run.config.id2label = run.labels;
  run.config.problem_type = problem_type_name(run.problem);
}

// Token classification and QA: the evaluation file read as run_ner / run_qa read it.
void load_task_eval_set(Run& run) {
  const TrainingArguments& a = run.args;
  if (a.eval_file.empty()) return;
  run.eval_set = load_eval_set(run.config.task, a.eval_file, *run.tokenizer,
                               eval_set_options(a, run.max_seq_length, run.labels));
  run.eval_data = run.eval_set.data();
  run.has_eval = true;
}

// Token classification (run_ner): tagged sentences, the tag list (sorted, or --label_list),
// each word's tags aligned to its pieces.
void load_tagged_data(Run& run) {
  const TrainingArguments& a = run.args;
  std::vector<TaggedSentence> train = read_tagged(a.train_file);
  if (train.empty()) fail(a.train_file, ": no tagged sentences");
  run.labels = a.label_list.empty() ? tag_list(train) : parse_label_list(a.label_list);
  if (run.labels.empty()) fail("--label_list names no labels");
  run.problem = ProblemType::SingleLabel;
  if (!a.problem_type.empty() && a.problem_type != "single_label_classification")
    fail("--problem_type ", a.problem_type, ": token classification is single-label");
  set_head_labels(run);
  const LabelMap map(run.labels);
  TaggedDataset t = tokenize_tagged(std::move(train), *run.tokenizer, run.max_seq_length, map,
                                    a.label_all_tokens, a.train_file);
  run.train_data = t.data;
  run.train_token_labels = std::move(t.token_labels);
  std::printf("train data: %s, %zu sentences, %zu tokens; %zu tags\n", a.train_file.c_str(),
              run.train_data.size(), run.train_data.total_tokens(), run.labels.size());
  load_task_eval_set(run);
}

// Question answering (run_qa): SQuAD examples cut into windows of max_seq_length with
// --doc_stride, each labelled with its answer's tokens (or the [CLS]).
void load_qa_data(Run& run) {
  const TrainingArguments& a = run.args;
  const std::vector<QaExample> train = read_squad(a.train_file, a.max_train_samples);
  if (train.empty()) fail(a.train_file, ": no questions");
  run.labels = default_labels(2, "question answering");  // BertForQuestionAnswering's 2 outputs
  set_head_labels(run);
  run.train_qa =
      prepare_qa_features(train, *run.tokenizer, run.max_seq_length, a.doc_stride, a.train_file);
  run.train_data = run.train_qa.data;
  std::printf("train data: %s, %zu questions in %zu windows of at most %d tokens (stride %d)\n",
              a.train_file.c_str(), train.size(), run.train_data.size(), run.max_seq_length,
              a.doc_stride);
  load_task_eval_set(run);
}

void load_data(Run& run) {
  const TrainingArguments& a = run.args;
  std::string tok_path = a.tokenizer.empty() ? a.model : a.tokenizer;
  if (a.dummy) {
    if (run.config.task != Task::SequenceClassification)
      fail("--dummy data has class labels; masked-LM pretraining needs text (--train_file)");
    int L = a.num_labels > 0 ? a.num_labels : run.config.num_labels();
    run.train_data = dummy_dataset(a.dummy_size, a.dummy_seq_len, run.config.vocab_size, L, a.seed);
    run.labels = run.train_data.label_strings;
    if (run.config.problem() != ProblemType::SingleLabel || !a.problem_type.empty())
      fail("--dummy data has class labels: train a single-label model on it");
    set_head_labels(run);
    if (fs::exists(fs::path(tok_path) / "vocab.txt") ||
        fs::exists(fs::path(tok_path) / "tokenizer.json") || !a.tokenizer.empty())
      run.tok_files = tokenizer_files(tok_path);
    return;
  }
  run.tokenizer = load_tokenizer(tok_path);
  run.tok_files = tokenizer_files(tok_path);
  std::string note;
  run.max_seq_length = fit_max_length(*run.tokenizer, a.max_seq_length, &note);
  if (!note.empty()) std::printf("%s\n", note.c_str());
  if (run.tokenizer->vocab().size() > static_cast<size_t>(run.config.vocab_size))
    fail(tok_path, ": the tokenizer has ", run.tokenizer->vocab().size(),
         " tokens but the model's vocab_size is ", run.config.vocab_size,
         " (a tokenizer from another model?)");
  if (run.config.task == Task::TokenClassification) return load_tagged_data(run);
  if (run.config.task == Task::QuestionAnswering) return load_qa_data(run);
  std::string cache = resolve_cache_dir(a.cache_dir);
  // Masked LM without --line_by_line: whole texts, concatenated and cut into blocks.
  const bool mlm = run.config.task == Task::MaskedLM, blocks = mlm && !a.line_by_line;
  auto load = [&](const std::string& path, CacheInfo* ci) {
    TokenizedDataset d =
        load_dataset(path, a.reader, *run.tokenizer, blocks ? 0 : run.max_seq_length, cache, ci);
    return blocks ? group_texts(d, run.max_seq_length) : d;
  };
  auto load_eval = [&] {
    if (a.eval_file.empty()) return;
    run.eval_data = load(a.eval_file, nullptr);
    if (run.eval_data.size() == 0) fail(a.eval_file, ": the dataset has no rows");
    run.has_eval = true;
  };
  CacheInfo info;
  run.train_data = load(a.train_file, &info);
  if (run.train_data.size() == 0) fail(a.train_file, ": the dataset has no rows");
  std::printf("train data: %s, %zu examples, %zu tokens%s%s\n", a.train_file.c_str(),
              run.train_data.size(), run.train_data.total_tokens(),
              info.hit ? " (token cache)" : "",
              info.skipped_rows
                  ? (", " + std::to_string(info.skipped_rows) + " malformed rows skipped").c_str()
                  : "");
  if (mlm) {  // the labels are the tokens: nothing to read but the evaluation texts
    run.labels = run.config.id2label;
    const Vocab& vocab = run.tokenizer->vocab();
    const int mask_id = vocab.find(run.tokenizer->options().mask);
    if (mask_id < 0)
      fail(tok_path, ": the vocabulary has no mask token \"", run.tokenizer->options().mask, "\"");
    run.masking = {a.mlm_probability,
                   a.seed,
                   mask_id,
                   run.tokenizer->cls_id(),
                   run.tokenizer->sep_id(),
                   static_cast<int>(vocab.size())};
    if (a.whole_word_mask) {
      run.continuation.resize(vocab.size());
      for (size_t id = 0; id < vocab.size(); ++id)
        run.continuation[id] = vocab.token(static_cast<int>(id)).rfind("##", 0) == 0;
      run.masking.continuation = &run.continuation;
    }
    load_eval();
    return;
  }
  if (run.train_data.label_strings.empty())
    fail(a.train_file, ": no labels found; name the label column with --label_column");
  const std::vector<std::string>& distinct = run.train_data.label_strings;
  run.problem =
      resolve_problem_type(a.problem_type, run.config, distinct, a.train_file, a.label_separator);
  run.labels = run_label_names(run.problem, a.label_list, run.config, distinct, a.label_separator);
  if (run.labels.empty()) fail("--label_list names no labels");
  // A label outside the list (or not a number, for regression) fails here, naming its line.
  example_labels(run.problem, run.train_data, run.labels, a.label_separator);
  std::printf("problem type: %s, %zu label%s\n", problem_type_name(run.problem), run.labels.size(),
              run.labels.size() == 1 ? "" : "s");
  set_head_labels(run);
  load_eval();
}

MemoryQuery memory_query(const Run& run) {
  MemoryQuery q = memory_query(run.args, run.config);
  q.device = run.device;
  q.batch = run.batch;
  q.accumulation = run.accumulation;
  if (!run.args.dummy) q.seq = run.max_seq_length;
  q.world_size = run.comm->size();
  return q;
}

std::string breakdown(const MemoryEstimate& e) {
  std::string s;
  for (size_t i = 0; i < kNumMemCategories; ++i)
    if (e.bytes[i])
      s += (s.empty() ? "" : ", ") + std::string(category_name(static_cast<MemCategory>(i))) + " " +
           format_bytes(e.bytes[i]);
  return s;
}

// Predicts the peak before anything big is allocated: with a memory limit, a run that cannot
// fit fails here (or, with --auto_find_batch_size, takes the largest batch that fits).
void plan_memory(Run& run) {
  const TrainingArguments& a = run.args;
  const size_t limit = run.device.allocator->limit();
  run.predicted = estimate_memory(memory_query(run));
  if (!limit || run.predicted.peak <= limit) return;
  if (a.auto_find_batch_size) {
    int fit = largest_fitting_batch(memory_query(run), limit, run.batch);
    if (fit == 0) fail("even batch size 1 does not fit --memory_limit ", format_bytes(limit));
    int old_batch = run.batch;
    run.batch = fit;
    if (a.keep_effective_batch_size)
      run.accumulation = (old_batch * run.accumulation + fit - 1) / fit;
    run.predicted = estimate_memory(memory_query(run));
    std::printf(
        "auto_find_batch_size: batch %d does not fit %s; using %d (gradient accumulation %d, "
        "predicted peak %s)\n",
        old_batch, format_bytes(limit).c_str(), fit, run.accumulation,
        format_bytes(run.predicted.peak).c_str());
    return;
  }
  throw OutOfMemoryError(
      "predicted peak " + format_bytes(run.predicted.peak) + " (" + breakdown(run.predicted) +
          ") exceeds --memory_limit " + format_bytes(limit) +
          "; nothing was run. To use less memory: lower --per_device_train_batch_size (keep the "
          "effective batch with --gradient_accumulation_steps), lower --max_seq_length, enable "
          "--gradient_checkpointing, or pass --auto_find_batch_size.",
      run.predicted.peak, 0, limit);
}

void build_model(Run& run) {
  const TrainingArguments& a = run.args;
  if (a.num_labels > 0 && a.num_labels != static_cast<int>(run.labels.size()))
    fail("--num_labels ", a.num_labels, " but the data has ", run.labels.size(), " labels (",
         run.labels.front(), " ... ", run.labels.back(), ")");
  run.model = std::make_unique<Bert<float>>(run.config, run.device);
  run.model->set_gradient_checkpointing(a.gradient_checkpointing);
  run.model->set_attention_mode(parse_attention_mode(a.attention));
  run.model->set_precision(precision_of(a));
  run.model->set_label_smoothing(a.label_smoothing_factor);
  if (run.config.task == Task::MaskedLM) run.model->set_mlm_probability(a.mlm_probability);
  if (a.fp16) run.scaler = GradScaler{.scale = a.fp16_init_scale};
  if (a.bf16)
    std::printf("bf16: encoder GEMMs on %s\n",
                run.model->bf16_gemms()
                    ? run.model->gemm_kernel().c_str()
                    : "fp32 GEMMs over bf16-rounded values (no bf16 matrix units found by oneDNN "
                      "on this CPU): memory is saved, time is not");
  init_weights(*run.model, a.seed);
  const std::string loaded = describe(
      load_weights(*run.model, a.model, /*allow_new_head=*/true, a.ignore_mismatched_sizes));
  std::fputs(loaded.c_str(), stdout);
  std::optional<Shard> shard;  // ZeRO-1: this rank's piece of the optimizer state
  if (a.zero_stage == 1 && run.comm->size() > 1) {
    if (!run.device.host_visible())
      fail(
          "--zero_stage 1 exchanges the optimizer state in host memory: use --device cpu (ZeRO-1 "
          "on ",
          run.device.name(), " is not built yet)");
    shard = shard_of(run.model->num_params(), run.comm->rank(), run.comm->size());
  }
  run.optimizer = std::make_unique<AdamW<float>>(
      run.model->layout(),
      AdamWConfig{a.learning_rate, a.adam_beta1, a.adam_beta2, a.adam_epsilon, a.weight_decay},
      run.model->device(), shard);
}

void build_loaders(Run& run) {
  const TrainingArguments& a = run.args;
  LoaderOptions o;
  o.batch_size = run.batch;
  o.seed = a.seed;
  o.pad_to_max_length = pads_to_max_length(a.padding) && !a.dummy;
  o.max_length = run.max_seq_length;
  o.group_by_length = a.group_by_length;
  o.num_workers = a.dataloader_num_workers;
  o.pad_id = run.tokenizer ? run.tokenizer->pad_id() : run.config.pad_token_id;
  o.rank = run.comm->rank();
  o.world = run.comm->size();
  if (run.config.task == Task::MaskedLM) o.mlm = &run.masking;
  auto labels = [&](const TokenizedDataset& d) {
    if (run.config.task == Task::TokenClassification)
      return &d == &run.train_data ? ExampleLabels::per_token(run.train_token_labels)
                                   : run.eval_set.labels();
    if (run.config.task == Task::QuestionAnswering)
      return &d == &run.train_data ? ExampleLabels::answer_spans(run.train_qa.spans)
                                   : run.eval_set.labels();
    if (run.config.task == Task::MaskedLM)  // the loader masks the tokens
      return ExampleLabels::classes(std::vector<int32_t>(d.size(), -100));
    return example_labels(run.problem, d, run.labels, a.label_separator);
  };
  run.train_loader = std::make_unique<DataLoader>(run.train_data, labels(run.train_data), o);
  if (run.has_eval) {
    LoaderOptions e = o;
    e.batch_size = a.per_device_eval_batch_size;
    e.shuffle = false;
    e.group_by_length = false;
    e.pad_shards = false;  // each rank evaluates its shard once; the sums are added up
    run.eval_loader = std::make_unique<DataLoader>(run.eval_data, labels(run.eval_data), e);
  }
  const int64_t batches = static_cast<int64_t>(run.train_loader->batches_per_epoch());
  if (batches == 0) fail("no training batches (dataset smaller than the batch with drop_last?)");
  run.updates_per_epoch = (batches + run.accumulation - 1) / run.accumulation;
  if (a.max_steps > 0) {
    run.total_steps = a.max_steps;
    run.num_epochs =
        static_cast<int>((a.max_steps + run.updates_per_epoch - 1) / run.updates_per_epoch);
  } else {
    run.total_steps = static_cast<int64_t>(std::ceil(a.num_train_epochs * run.updates_per_epoch));
    run.num_epochs = static_cast<int>(std::ceil(a.num_train_epochs));
  }
  int64_t warmup = a.warmup_steps > 0
                       ? a.warmup_steps
                       : static_cast<int64_t>(std::ceil(a.warmup_ratio * run.total_steps));
  run.schedule = {parse_schedule(a.lr_scheduler_type), a.learning_rate, warmup, run.total_steps};
  run.eval_strategy = a.eval_strategy.empty() ? (run.has_eval ? "epoch" : "no") : a.eval_strategy;
}

// The eval log key that picks the best checkpoint, and whether more is better
// (TrainingArguments' defaults: "loss"; greater unless the name ends in "loss").
std::string best_metric_key(const TrainingArguments& a) {
  const std::string m = a.metric_for_best_model.empty() ? "loss" : a.metric_for_best_model;
  return m.rfind("eval_", 0) == 0 ? m : "eval_" + m;
}
bool greater_is_better(const TrainingArguments& a) {
  if (a.greater_is_better) return *a.greater_is_better;
  const std::string key = best_metric_key(a);
  return !(key.size() >= 4 && key.compare(key.size() - 4, 4, "loss") == 0);
}

// After an evaluation at `step`: EarlyStoppingCallback's check against the best so far, then
// the new best (trainer_state.json's best_metric and best_global_step). Both are kept in the
// trainer state, so a resumed run goes on counting.
void track_best(Run& run, const LogEntry& e, int64_t step) {
  const TrainingArguments& a = run.args;
  if (!a.load_best_model_at_end) return;
  const std::string key = best_metric_key(a);
  auto it = std::find_if(e.begin(), e.end(), [&](const auto& kv) { return kv.first == key; });
  if (it == e.end()) {
    std::string have;
    for (const auto& [k, v] : e) have += (have.empty() ? "" : ", ") + k;
    fail("--metric_for_best_model ", a.metric_for_best_model, ": the evaluation has no ", key,
         " (it has ", have, ")");
  }
  const double v = it->second;
  auto better = [&](double x, double best) { return greater_is_better(a) ? x > best : x < best; };
  json& s = run.state;
  const bool has_best = s.contains("best_metric") && s["best_metric"].is_number();
  if (a.early_stopping_patience > 0) {
    int counter = s.value("early_stopping_patience_counter", 0);
    const double best = has_best ? s["best_metric"].get<double>() : 0.0;
    if (!has_best || (better(v, best) && std::abs(v - best) > a.early_stopping_threshold))
      counter = 0;
    else
      ++counter;
    s["early_stopping_patience_counter"] = counter;
    if (counter >= a.early_stopping_patience) {
      run.stop_requested = true;
      std::printf("early stopping: %s has not improved for %d evaluations (best %g at step %lld)\n",
                  key.c_str(), counter, s["best_metric"].get<double>(),
                  static_cast<long long>(s["best_global_step"].get<int64_t>()));
    }
  }
  if (!has_best || better(v, s["best_metric"].get<double>())) {
    s["best_metric"] = v;
    s["best_global_step"] = step;
  }
}

LogEntry evaluate_and_log(Run& run, double epoch) {
  const QaReference qa = run.eval_set.qa_reference();
  EvalResult r = evaluate_model(*run.model, *run.eval_loader, run.comm, &qa);
  LogEntry e = {{"eval_loss", r.loss}};
  for (const auto& [name, value] : r.metrics) e.push_back({"eval_" + name, value});
  e.insert(e.end(),
           {{"eval_runtime", py_round(r.seconds, 4)},
            {"eval_samples_per_second", py_round(r.examples / std::max(r.seconds, 1e-9), 3)},
            {"eval_steps_per_second",
             py_round(run.eval_loader->batches_per_epoch() / std::max(r.seconds, 1e-9), 3)},
            {"epoch", py_round(epoch, 2)}});
  log_line(run, e);
  track_best(run, e, run.state["global_step"].get<int64_t>());
  return e;
}

void save(Run& run, int64_t step) {
  // The ranks hold the same model, and the same optimizer state unless it is sharded (ZeRO-1):
  // then rank 0 gathers the pieces first, so that the checkpoint is the same at any world size.
  run.checkpoint_step = step;
  std::vector<float> gathered[2];
  const AdamW<float>& opt = *run.optimizer;
  if (opt.sharded()) {  // the whole state on rank 0 only, for the time of the save
    const size_t n = run.model->num_params();
    const float* states[2] = {opt.exp_avg(), opt.exp_avg_sq()};
    for (int i = 0; i < 2; ++i) {
      if (run.main_rank()) gathered[i].resize(n);
      run.comm->gather_to_root(states[i], gathered[i].data(), n);
    }
  }
  const TrainingArguments& a = run.args;
  if (run.state.value("best_global_step", int64_t{-1}) == step)  // the best is this checkpoint
    run.state["best_model_checkpoint"] =
        (fs::path(a.output_dir) / ("checkpoint-" + std::to_string(step))).string();
  if (!run.main_rank()) return;
  run.state["global_step"] = step;
  run.state["total_loss"] = run.total_loss;
  if (run.scaler)
    run.state["grad_scaler"] = {{"scale", run.scaler->scale},
                                {"growth_tracker", run.scaler->growth_tracker},
                                {"skipped_steps", run.scaler->skipped_steps}};
  const Device host = cpu_device();  // where the gathered state is
  const OptimizerState state = opt.sharded()
                                   ? OptimizerState{gathered[0].data(), gathered[1].data(),
                                                    gathered[0].size(), opt.steps(), &host}
                                   : OptimizerState::of(opt);
  save_checkpoint(a.output_dir, step, *run.model, state, run.state, training_args_json(a),
                  run.tok_files, run.tokenizer ? run.tokenizer->options().lowercase : true,
                  a.save_total_limit, run.state.value("best_model_checkpoint", std::string()));
}

// --load_best_model_at_end: the best checkpoint's weights replace the last ones, so the saved
// model and the final evaluation are the best's (HF's _load_best_model).
void load_best_model(Run& run) {
  if (!run.args.load_best_model_at_end || !run.state.contains("best_model_checkpoint")) return;
  const std::string dir = run.state["best_model_checkpoint"].get<std::string>();
  std::printf("Loading best model from %s (score: %g).\n", dir.c_str(),
              run.state["best_metric"].get<double>());
  load_weights(*run.model, (fs::path(dir) / "model.safetensors").string());
}

void prepare_output_dir(const TrainingArguments& a, bool main_rank) {
  std::error_code ec;
  fs::create_directories(a.output_dir, ec);
  if (ec || !fs::is_directory(a.output_dir))
    fail(a.output_dir, ": cannot create the output directory (", ec.message(), ")");
  require_writable_directory(a.output_dir);
  if (main_rank)
    for (const auto& entry : fs::directory_iterator(a.output_dir)) {  // leftovers of a killed save
      std::string name = entry.path().filename().string();
      for (const char* prefix : {".tmp-checkpoint-", ".deleting-", ".old-checkpoint-"})
        if (name.rfind(prefix, 0) == 0) fs::remove_all(entry.path());
    }
  if (a.resume_from_checkpoint.empty() && !a.overwrite_output_dir &&
      !list_checkpoints(a.output_dir).empty())
    fail(a.output_dir,
         ": already holds checkpoints; pass --resume_from_checkpoint latest to continue, or "
         "--overwrite_output_dir to start over");
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

static TrainOutcome train(Run& run);

TrainOutcome run_training(const TrainingArguments& a) {
  a.validate();
  Comm& comm = world();
  // Under mpirun each rank defaults to its share of the host's cores, and only rank 0 prints.
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  set_num_threads(a.threads > 0 || comm.size() == 1 ? a.threads
                                                    : std::max(1, cores / comm.local_size()));
  if (comm.rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    fail("rank ", comm.rank(), ": cannot silence stdout");
  prepare_output_dir(a, comm.rank() == 0);
  Run run(a);
  run.comm = &comm;
  run.device = device_named(a.device);
  if (!a.memory_limit.empty()) run.device.allocator->set_limit(parse_size(a.memory_limit));
  try {
    return train(run);
  } catch (const OutOfMemoryError& e) {
    json record = {{"error", e.what()},
                   {"requested_bytes", e.requested},
                   {"allocated_bytes", e.allocated},
                   {"limit_bytes", e.limit},
                   {"predicted_peak_memory_bytes", run.predicted.peak}};
    if (run.main_rank())
      write_text_file_atomic((fs::path(a.output_dir) / "out_of_memory.json").string(),
                             record.dump(2) + "\n");
    throw;
  }
}

// The job after the output directory is ready: data, memory plan, model, loop, outputs.
static TrainOutcome train(Run& run) {
  const TrainingArguments& a = run.args;
  run.config = load_config((fs::path(a.model) / "config.json").string());
  if (!a.config_overrides.empty()) run.config = override_config(run.config, a.config_overrides);
  // The head --task asks for, whatever head the checkpoint has (run_glue's
  // AutoModelForSequenceClassification, run_mlm's AutoModelForMaskedLM): the encoder loads,
  // a missing head is new.
  run.config.task = parse_task(a.task, "--task");
  if (a.max_seq_length > run.config.max_position_embeddings && !a.dummy)
    fail("--max_seq_length ", a.max_seq_length, " exceeds the model's max_position_embeddings (",
         run.config.max_position_embeddings, ")");
  load_data(run);
  plan_memory(run);
  build_model(run);
  build_loaders(run);

  run.state = {{"global_step", 0},
               {"epoch", 0.0},
               {"max_steps", run.total_steps},
               {"num_train_epochs", run.num_epochs},
               {"train_batch_size", run.batch},
               {"logging_steps", a.logging_steps},
               {"save_steps", a.save_steps},
               {"seed", a.seed},
               {"log_history", json::array()}};
  int64_t step = 0;
  if (!a.resume_from_checkpoint.empty()) {
    std::string dir = resolve_checkpoint(a.resume_from_checkpoint, a.output_dir);
    load_weights(*run.model, (fs::path(dir) / "model.safetensors").string());  // ours: no report
    load_optimizer(dir, *run.optimizer);
    run.state = load_trainer_state(dir);
    step = run.state.at("global_step").get<int64_t>();
    if (has_checkpoint(a.output_dir, step)) run.checkpoint_step = step;  // read before any save
    run.total_loss = run.state.value("total_loss", 0.0);
    if (run.scaler && run.state.contains("grad_scaler")) {
      const json& gs = run.state["grad_scaler"];
      run.scaler->scale = gs.at("scale").get<double>();
      run.scaler->growth_tracker = gs.at("growth_tracker").get<int64_t>();
      run.scaler->skipped_steps = gs.at("skipped_steps").get<int64_t>();
    }
    // Steps the fp16 scaler skipped count for the trainer, not for the optimizer (HF Trainer).
    const int64_t skipped = run.scaler ? run.scaler->skipped_steps : 0;
    if (step != run.optimizer->steps() + skipped)
      fail(dir, ": trainer_state.json (step ", step, ", ", skipped,
           " skipped) and optimizer.safetensors (step ", run.optimizer->steps(), ") disagree");
    run.last_logged_step = step;
    std::printf("resuming from %s (step %lld)\n", dir.c_str(), static_cast<long long>(step));
  }

  const int K = run.accumulation;
  const int64_t batches_per_epoch = static_cast<int64_t>(run.train_loader->batches_per_epoch());
  std::printf(
      "***** Running training *****\n  Num examples = %zu\n  Num Epochs = %d\n"
      "  Instantaneous batch size per device = %d\n"
      "  Total train batch size (w. parallel, distributed & accumulation) = %d\n"
      "  Gradient Accumulation steps = %d\n"
      "  Total optimization steps = %lld\n  Number of trainable parameters = %zu\n",
      run.train_data.size(), run.num_epochs, run.batch, run.batch * run.comm->size() * K, K,
      static_cast<long long>(run.total_steps), run.model->num_params());
  std::fflush(stdout);
  run.device.allocator->reset_peak();
  auto t0 = std::chrono::steady_clock::now();
  const int64_t start_step = step;
  int64_t samples = 0, tokens_computed = 0, real_tokens = 0;  // padding = computed - real
  TrainOutcome outcome;
  std::vector<HostBatch> window(K);
  std::vector<Batch> micro;
  for (int epoch = static_cast<int>(step / run.updates_per_epoch);
       epoch < run.num_epochs && step < run.total_steps && !run.stop_requested; ++epoch) {
    const int64_t done_in_epoch = step - epoch * run.updates_per_epoch;
    run.train_loader->start_epoch(epoch, static_cast<size_t>(done_in_epoch * K));
    for (int64_t u = done_in_epoch;
         u < run.updates_per_epoch && step < run.total_steps && !run.stop_requested; ++u) {
      micro.clear();
      for (int k = 0; k < K && run.train_loader->next(window[k]); ++k) {
        micro.push_back(window[k].view());
        samples += static_cast<int64_t>(window[k].B) * run.comm->size();  // every rank's
        tokens_computed += static_cast<int64_t>(window[k].B) * window[k].S;
        real_tokens += window[k].real_tokens;
      }
      StepResult r = train_step(*run.model, *run.optimizer, run.schedule, micro, a.max_grad_norm,
                                a.seed, run.scaler ? &*run.scaler : nullptr, run.comm,
                                static_cast<size_t>(a.ddp_bucket_cap_mb * double(1 << 20)));
      ++step;
      run.loss_since_log += r.loss;
      run.total_loss += r.loss;
      run.comm_wait_seconds += r.comm_wait_seconds;
      const double epoch_f =
          epoch + static_cast<double>(std::min<int64_t>((u + 1) * K, batches_per_epoch)) /
                      batches_per_epoch;
      run.state["global_step"] = step;
      run.state["epoch"] = epoch_f;
      progress(run, step, t0);
      if (step % a.logging_steps == 0) {
        log_line(run, {{"loss", py_round(run.loss_since_log / (step - run.last_logged_step), 4)},
                       {"grad_norm", r.grad_norm},
                       {"learning_rate", run.schedule.lr(run.optimizer->steps())},
                       {"epoch", py_round(epoch_f, 2)}});
        run.loss_since_log = 0;
        run.last_logged_step = step;
      }
      if (run.eval_strategy == "steps" && run.has_eval &&
          step % (a.eval_steps > 0 ? a.eval_steps : a.logging_steps) == 0)
        evaluate_and_log(run, epoch_f);
      if (a.save_strategy == "steps" && step % a.save_steps == 0) save(run, step);
      if (int sig = g_stop_signal.load()) {
        save(run, step);
        std::printf(
            "\nstopped by signal %d after step %lld; checkpoint saved in %s/checkpoint-%lld; "
            "continue with --resume_from_checkpoint latest\n",
            sig, static_cast<long long>(step), a.output_dir.c_str(), static_cast<long long>(step));
        outcome.interrupted = true;
        outcome.signal = sig;
        return outcome;
      }
    }
    for (HostBatch& w : window) w = HostBatch();  // the epoch's batches are done
    if (run.eval_strategy == "epoch" && run.has_eval) evaluate_and_log(run, epoch + 1.0);
    if (a.save_strategy == "epoch") save(run, step);
  }
  const double runtime = seconds_since(t0);
  const double epoch_f = run.state["epoch"].get<double>();
  const int64_t steps_run = step - start_step;
  LogEntry summary = {{"train_runtime", py_round(runtime, 4)},
                      {"train_samples_per_second", py_round(samples / std::max(runtime, 1e-9), 3)},
                      {"train_steps_per_second", py_round(steps_run / std::max(runtime, 1e-9), 3)},
                      {"train_loss", step ? run.total_loss / step : 0.0},
                      {"epoch", py_round(epoch_f, 2)}};
  log_line(run, summary);
  if (a.save_strategy != "no" && run.checkpoint_step != step) save(run, step);
  load_best_model(run);

  json metrics = json::object();
  for (const auto& [k, v] : summary) metrics[k] = v;
  Metrics final_metrics;
  // The final evaluation: by default, or when --do_eval asks for it among run_glue's stages.
  const bool evaluate_at_end = run.has_eval && (!a.stages_given() || a.do_eval);
  if (evaluate_at_end) {
    const QaReference qa = run.eval_set.qa_reference();
    EvalResult final_eval = evaluate_model(*run.model, *run.eval_loader, run.comm, &qa);
    for (const auto& [name, value] : final_eval.metrics) metrics["eval_" + name] = value;
    final_metrics = final_eval.metrics;
    if (run.main_rank())  // every rank holds every example's predictions
      write_eval_predictions(run.eval_set, run.labels, final_eval, a.output_dir);
    metrics["eval_loss"] = final_eval.loss;
    metrics["eval_samples"] = final_eval.examples;
  }
  const Allocator& mem = *run.device.allocator;
  metrics["peak_memory_bytes"] = mem.peak();
  json by_cat = json::object();
  MemByCategory at_peak = mem.peak_breakdown();
  for (size_t i = 0; i < kNumMemCategories; ++i)
    by_cat[std::string(category_name(static_cast<MemCategory>(i)))] = at_peak[i];
  metrics["peak_memory_by_category"] = by_cat;
  metrics["predicted_peak_memory_bytes"] = run.predicted.peak;
  json pred_cat = json::object();
  for (size_t i = 0; i < kNumMemCategories; ++i)
    pred_cat[std::string(category_name(static_cast<MemCategory>(i)))] = run.predicted.bytes[i];
  metrics["predicted_peak_memory_by_category"] = pred_cat;
  metrics["per_device_train_batch_size"] = run.batch;
  metrics["precision"] = precision_name(precision_of(a));
  metrics["device"] = run.device.name();
  metrics["gemm_kernel"] = run.model->gemm_kernel();
  if (run.scaler) metrics["skipped_steps"] = run.scaler->skipped_steps;
  metrics["gradient_accumulation_steps"] = run.accumulation;
  metrics["train_samples"] = samples;
  metrics["train_tokens_computed"] = tokens_computed;
  metrics["train_real_tokens"] = real_tokens;
  metrics["data_wait_seconds"] = run.train_loader->wait_seconds();
  if (run.comm->size() > 1) metrics["allreduce_wait_seconds"] = run.comm_wait_seconds;

  metrics["world_size"] = run.comm->size();
  metrics["zero_stage"] = a.zero_stage;
  metrics["total_train_batch_size"] = run.batch * run.comm->size() * run.accumulation;
  outcome.metrics = metrics;
  if (!run.main_rank()) return outcome;
  if (a.save_final_model)
    save_model_dir(*run.model, a.output_dir, run.tok_files,
                   run.tokenizer ? run.tokenizer->options().lowercase : true);
  write_text_file_atomic((fs::path(a.output_dir) / "trainer_state.json").string(),
                         run.state.dump(2) + "\n");
  write_text_file_atomic((fs::path(a.output_dir) / "all_results.json").string(),
                         metrics.dump(2) + "\n");

  std::printf(
      "\nTime: %.2f s\nSamples/second: %.2f\nPeak memory occupied: %.0f MB (%s; predicted %s)\n",
      runtime, samples / std::max(runtime, 1e-9), mem.peak() / 1e6,
      format_bytes(mem.peak()).c_str(), format_bytes(run.predicted.peak).c_str());
  std::printf("  %-16s %12s %12s\n", "category", "measured", "predicted");
  for (size_t i = 0; i < kNumMemCategories; ++i)
    if (at_peak[i] || run.predicted.bytes[i])
      std::printf("  %-16s %12s %12s\n",
                  std::string(category_name(static_cast<MemCategory>(i))).c_str(),
                  format_bytes(at_peak[i]).c_str(), format_bytes(run.predicted.bytes[i]).c_str());
  std::printf("Data wait: %.3f s\n", run.train_loader->wait_seconds());
  if (evaluate_at_end) {
    std::printf("Eval");
    for (const auto& [name, value] : final_metrics) std::printf(" %s %.4f", name.c_str(), value);
    std::printf("  (eval_loss %.4f)\n", metrics["eval_loss"].get<double>());
  }
  if (a.save_final_model) std::printf("Model saved to %s\n", a.output_dir.c_str());
  return outcome;
}

}  // namespace bertrain
