// The fine-tuning job end to end on tiny models and the shipped Yelp reviews.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"
#include "data/cache.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "train/checkpoints.h"
#include "train/evaluation.h"
#include "train/inference.h"
#include "train/log_format.h"
#include "train/trainer.h"

using namespace bertrain;
namespace fs = std::filesystem;

namespace {

std::string vocab_path() {
  return test::shared_dir() + "/data/tokenizer/bert-base-uncased-vocab.txt";
}

std::string tiny_model(const std::string& name, double dropout = 0.1) {
  std::string dir = test::temp_dir(name);
  BertConfig c = preset_config("tiny");
  c.vocab_size = 30522;
  c.hidden_size = 32;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = dropout;
  c.id2label = {"1", "2", "3", "4", "5"};
  Bert<float> m(c);
  init_weights(m, 7);
  save_model_dir(m, dir, {vocab_path()}, true);
  return dir;
}

// The first `rows` rows of a Yelp file (one row per line in the shipped files).
std::string yelp_subset(const std::string& file, size_t rows, const std::string& name) {
  std::ifstream in(test::shared_dir() + "/data/yelp/" + file);
  std::string path = test::temp_dir(name) + "/" + file;
  std::ofstream out(path);
  std::string line;
  for (size_t i = 0; i < rows && std::getline(in, line); ++i) out << line << "\n";
  return path;
}

TrainingArguments tiny_args(const std::string& model, const std::string& train,
                            const std::string& out) {
  TrainingArguments a;
  a.model = model;
  a.train_file = train;
  a.output_dir = out;
  a.max_seq_length = 48;
  a.per_device_train_batch_size = 16;
  a.learning_rate = 2e-3;
  a.logging_steps = 10;
  a.cache_dir = "none";
  a.disable_tqdm = true;
  return a;
}

// Runs `full` again from its checkpoint-<step>, copied into a fresh directory; returns the
// resumed run's arguments.
TrainingArguments resume_copy(const TrainingArguments& full, int step, const std::string& name) {
  TrainingArguments part = full;
  part.output_dir = test::temp_dir(name);
  const std::string ckpt = "/checkpoint-" + std::to_string(step);
  fs::copy(full.output_dir + ckpt, part.output_dir + ckpt, fs::copy_options::recursive);
  part.resume_from_checkpoint = "latest";
  run_training(part);
  return part;
}

std::vector<float> weights_of(const std::string& dir) {
  SafetensorsReader r(dir + "/model.safetensors");
  std::vector<float> all;
  for (const std::string& name : r.names()) {
    const TensorInfo& ti = r.info(name);
    std::vector<float> v(shape_numel(ti.shape));
    r.read_into(name, ti.shape, v.data(), DType::F32);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// The training losses a run logged (trainer_state.json's log history).
std::vector<double> logged_losses(const std::string& dir) {
  nlohmann::json s = nlohmann::json::parse(std::ifstream(dir + "/trainer_state.json"));
  std::vector<double> l;
  for (const auto& e : s["log_history"])
    if (e.contains("loss")) l.push_back(e["loss"].get<double>());
  return l;
}

using test::error_of;

}  // namespace

TEST(LogFormat, PythonReprOfFloats) {
  EXPECT_EQ(py_float(0.0028), "0.0028");
  EXPECT_EQ(py_float(1.17e-06), "1.17e-06");
  EXPECT_EQ(py_float(0.41), "0.41");
  EXPECT_EQ(py_float(3.0), "3.0");
  EXPECT_EQ(py_float(0.0001), "0.0001");
  EXPECT_EQ(py_float(0.00001), "1e-05");
  EXPECT_EQ(py_float(123456.789), "123456.789");
  EXPECT_EQ(py_float(1e16), "1e+16");
  EXPECT_EQ(py_float(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(py_float(0.1 + 0.2), "0.30000000000000004");
  EXPECT_DOUBLE_EQ(py_round(0.98765, 2), 0.99);
  EXPECT_EQ(
      py_dict(
          {{"loss", 0.0028}, {"grad_norm", 0.41}, {"learning_rate", 1.17e-06}, {"epoch", 0.98}}),
      "{'loss': 0.0028, 'grad_norm': 0.41, 'learning_rate': 1.17e-06, 'epoch': 0.98}");
}

TEST(Trainer, LearnsYelpWellAboveTheMajorityRate) {
  std::string model = tiny_model("e2e_model");
  std::string train = yelp_subset("train.csv", 6000, "e2e_data");
  TrainingArguments a = tiny_args(model, train, test::temp_dir("e2e_out"));
  a.eval_file = test::shared_dir() + "/data/yelp/test.csv";  // balanced: majority rate 0.2
  a.num_train_epochs = 2;
  a.learning_rate = 1e-3;
  a.save_strategy = "epoch";
  a.save_total_limit = 2;
  a.padding = "longest";
  a.group_by_length = true;
  a.dataloader_num_workers = 1;
  TrainOutcome out = run_training(a);
  double acc = out.metrics.at("eval_accuracy").get<double>();
  EXPECT_GT(acc, 0.35) << "majority-class rate is 0.2";
  EXPECT_GT(out.metrics.at("train_samples_per_second").get<double>(), 0);
  EXPECT_GT(out.metrics.at("peak_memory_bytes").get<size_t>(), 0u);
  EXPECT_EQ(out.metrics.at("device"), "cpu");  // all_results.json names the device and world
  EXPECT_EQ(out.metrics.at("world_size"), 1);
  EXPECT_EQ(out.metrics.at("total_train_batch_size"), a.per_device_train_batch_size);
  EXPECT_EQ(list_checkpoints(a.output_dir).size(), 2u);  // save_total_limit
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
                        "trainer_state.json", "all_results.json"})
    EXPECT_TRUE(fs::exists(a.output_dir + "/" + f)) << f;
  nlohmann::json state = nlohmann::json::parse(std::ifstream(a.output_dir + "/trainer_state.json"));
  EXPECT_EQ(state["global_step"].get<int64_t>(), 2 * 375);
  EXPECT_GE(state["log_history"].size(), 75u);

  // The saved model: reloads, predict agrees with evaluate on every example.
  BertConfig c = load_config(a.output_dir + "/config.json");
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  Bert<float> m(c, cpu_device(), false);
  load_weights(m, a.output_dir + "/model.safetensors");
  BertTokenizer tok = load_tokenizer(a.output_dir);
  TokenizedDataset test_data = load_dataset(a.eval_file, {}, tok, 48, "");
  LoaderOptions lo;
  lo.batch_size = 50;
  lo.shuffle = false;
  lo.pad_to_max_length = true;
  lo.max_length = 48;
  std::vector<int32_t> gold = test_data.class_ids(LabelMap(c.id2label));
  DataLoader loader(test_data, ExampleLabels::classes(gold), lo);
  EvalResult ev = evaluate_model(m, loader);
  EXPECT_NEAR(ev.metrics.at("accuracy"), acc, 1e-12);
  ReadResult rows = read_examples(a.eval_file, {});
  std::vector<TextInput> texts;
  for (const Example& e : rows.examples) texts.push_back({e.text, "", false});
  int correct = 0;
  for (size_t start = 0; start < texts.size(); start += 64) {
    std::vector<TextInput> chunk(texts.begin() + start,
                                 texts.begin() + std::min(texts.size(), start + 64));
    std::vector<Prediction> p = predict_texts(m, tok, chunk, 48);
    for (size_t i = 0; i < p.size(); ++i) correct += p[i].label_id == gold[start + i];
  }
  EXPECT_NEAR(correct / 1000.0, ev.metrics.at("accuracy"),
              0.0011);  // a near-tie may flip with padding
}

TEST(Trainer, SavedModelReloadsWithBitIdenticalLogits) {
  std::string model = tiny_model("reload_model");
  BertConfig c = load_config(model + "/config.json");
  Bert<float> a(c, cpu_device(), false);
  load_weights(a, model + "/model.safetensors");
  std::string again = test::temp_dir("reload_again");
  save_model_dir(a, again, tokenizer_files(model), true);
  Bert<float> b(load_config(again + "/config.json"), cpu_device(), false);
  load_weights(b, again + "/model.safetensors");
  std::vector<int32_t> ids = {101, 2023, 2001, 2204, 102, 0}, types(6, 0),
                       mask = {1, 1, 1, 1, 1, 0};
  Batch batch{ids.data(), types.data(), mask.data(), nullptr, 1, 6};
  a.forward(batch, false, 0);
  b.forward(batch, false, 0);
  for (int i = 0; i < c.num_labels(); ++i) EXPECT_EQ(a.logits()[i], b.logits()[i]);
}

TEST(Trainer, ResumeMatchesTheUninterruptedRun) {
  std::string model = tiny_model("resume_model", 0.1);  // dropout on: seeds must line up too
  std::string train = yelp_subset("train.csv", 160, "resume_data");
  TrainingArguments full = tiny_args(model, train, test::temp_dir("resume_full"));
  full.max_steps = 8;
  full.save_steps = 3;
  full.gradient_accumulation_steps = 2;
  full.per_device_train_batch_size = 8;
  full.logging_steps = 1;
  full.dataloader_num_workers = 2;
  run_training(full);
  // Continue from checkpoint-3 in a fresh directory.
  TrainingArguments part = resume_copy(full, 3, "resume_part");
  EXPECT_EQ(weights_of(part.output_dir), weights_of(full.output_dir));
  EXPECT_EQ(logged_losses(part.output_dir), logged_losses(full.output_dir));
  EXPECT_EQ(logged_losses(full.output_dir).size(), 8u);
}

// fp16 with a first loss scale of 2^130: the first step's gradients overflow float and it is
// skipped. As in HF Trainer, the trainer's step counts it, the optimizer's and the LR
// schedule's do not, and a run resumed after it ends where the uninterrupted one does.
TEST(Trainer, Fp16SkippedStepKeepsStepCountsApartAndResumes) {
  std::string model = tiny_model("fp16_skip_model", 0.1);
  std::string train = yelp_subset("train.csv", 96, "fp16_skip_data");
  TrainingArguments full = tiny_args(model, train, test::temp_dir("fp16_skip_full"));
  full.fp16 = true;
  full.fp16_init_scale = std::ldexp(1.0, 130);  // 2^129 no longer overflows
  full.max_steps = 6;
  full.save_steps = 3;
  full.per_device_train_batch_size = 8;
  full.logging_steps = 1;
  TrainOutcome out = run_training(full);
  ASSERT_EQ(out.metrics["skipped_steps"], 1);
  nlohmann::json state =
      nlohmann::json::parse(std::ifstream(full.output_dir + "/trainer_state.json"));
  EXPECT_EQ(state["global_step"], 6);
  std::vector<double> lrs;
  for (const auto& e : state["log_history"])
    if (e.contains("learning_rate")) lrs.push_back(e["learning_rate"].get<double>());
  ASSERT_EQ(lrs.size(), 6u);
  // After trainer step s, 1 <= s <= 6, the schedule has taken s - 1 steps of 6.
  for (int s = 1; s <= 6; ++s) EXPECT_NEAR(lrs[s - 1], 2e-3 * (6 - (s - 1)) / 6.0, 1e-12) << s;

  TrainingArguments part = resume_copy(full, 3, "fp16_skip_part");
  EXPECT_EQ(weights_of(part.output_dir), weights_of(full.output_dir));
}

// training_args.json in a checkpoint holds every field of training_arg_fields(), by name.
TEST(Trainer, CheckpointTrainingArgsHoldEveryField) {
  std::string model = tiny_model("args_model", 0.1);
  std::string train = yelp_subset("train.csv", 32, "args_data");
  TrainingArguments a = tiny_args(model, train, test::temp_dir("args_out"));
  a.max_steps = 1;
  a.bf16 = true;
  a.adam_beta2 = 0.98;
  a.eval_steps = 7;
  a.attention = "memory_efficient";
  run_training(a);
  nlohmann::json j =
      nlohmann::json::parse(std::ifstream(a.output_dir + "/checkpoint-1/training_args.json"));
  for (const ArgField& f : training_arg_fields()) EXPECT_TRUE(j.contains(f.name)) << f.name;
  EXPECT_EQ(j.size(), training_arg_fields().size());
  EXPECT_EQ(j["bf16"], true);
  EXPECT_EQ(j["fp16"], false);
  EXPECT_EQ(j["gradient_checkpointing"], false);
  EXPECT_EQ(j["attention"], "memory_efficient");
  EXPECT_EQ(j["adam_beta1"], 0.9);
  EXPECT_EQ(j["adam_beta2"], 0.98);
  EXPECT_EQ(j["adam_epsilon"], 1e-8);
  EXPECT_EQ(j["eval_steps"], 7);
  EXPECT_EQ(j["bad_rows"], "fail");
  EXPECT_TRUE(j["has_header"].is_null());

  // It is a --config_file for the same run: the weights come out the same.
  const std::string again = test::temp_dir("args_again");
  const std::string cmd = std::string(BERTRAIN_EXE) + " train --config_file " + a.output_dir +
                          "/checkpoint-1/training_args.json --output_dir " + again + " > " + again +
                          ".log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << test::read_file(again + ".log");
  EXPECT_EQ(weights_of(again), weights_of(a.output_dir));
}

TEST(Trainer, BadInputsGiveClearErrors) {
  std::string model = tiny_model("bad_model");
  std::string train = yelp_subset("train.csv", 40, "bad_data");
  auto err = [&](const std::function<void(TrainingArguments&)>& change) {
    TrainingArguments a = tiny_args(model, train, test::temp_dir("bad_out"));
    a.max_steps = 1;
    change(a);
    return error_of([&] { run_training(a); });
  };
  EXPECT_NE(err([](TrainingArguments& a) {
              a.model = "/nonexistent/model";
            }).find("/nonexistent/model/config.json"),
            std::string::npos);
  std::string empty = test::temp_dir("bad_empty") + "/empty.csv";
  std::ofstream(empty) << "";
  EXPECT_NE(err([&](TrainingArguments& a) { a.train_file = empty; }).find("empty.csv: no rows"),
            std::string::npos);
  EXPECT_NE(err([](TrainingArguments& a) {
              a.num_labels = 3;
            }).find("--num_labels 3 but the data has 5 labels"),
            std::string::npos);
  EXPECT_NE(err([](TrainingArguments& a) {
              a.label_list = "1,2,3";
            }).find("label \"4\" is not one of the labels"),
            std::string::npos);
  std::string file = test::temp_dir("bad_file") + "/a_file";
  std::ofstream(file) << "x";
  EXPECT_NE(err([&](TrainingArguments& a) {
              a.output_dir = file + "/sub";
            }).find("cannot create the output directory"),
            std::string::npos);
  EXPECT_NE(err([](TrainingArguments& a) { a.dummy = true; }).find("--dummy and --train_file"),
            std::string::npos);
  EXPECT_NE(err([](TrainingArguments& a) { a.padding = "sideways"; }).find("--padding"),
            std::string::npos);
  // A tokenizer larger than the model's vocabulary.
  std::string small = test::temp_dir("bad_small_vocab");
  BertConfig c = load_config(model + "/config.json");
  c.vocab_size = 1000;
  Bert<float> m(c);
  init_weights(m, 1);
  save_model_dir(m, small, {vocab_path()}, true);
  EXPECT_NE(
      err([&](TrainingArguments& a) { a.model = small; }).find("the model's vocab_size is 1000"),
      std::string::npos);
  // Corrupt weights.
  std::string corrupt = test::temp_dir("bad_corrupt");
  fs::copy(model, corrupt, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::resize_file(corrupt + "/model.safetensors", 1000);
  EXPECT_NE(err([&](TrainingArguments& a) { a.model = corrupt; }).find("model.safetensors"),
            std::string::npos);
  // Checkpoints present without --resume_from_checkpoint or --overwrite_output_dir.
  TrainingArguments a = tiny_args(model, train, test::temp_dir("bad_twice"));
  a.max_steps = 1;
  run_training(a);
  EXPECT_NE(error_of([&] { run_training(a); }).find("already holds checkpoints"),
            std::string::npos);
}

// Links planted in output_dir (under checkpoint names, the names of files the trainer writes,
// and the temp names it uses) are replaced or removed, never written through: whatever they
// point to is unchanged after training, checkpointing, rotation and the final save.
TEST(Trainer, NeverWritesThroughLinksInTheOutputDir) {
  std::string model = tiny_model("links_model");
  std::string train = yelp_subset("train.csv", 32, "links_data");
  const fs::path victim = test::temp_dir("links_victim");
  fs::create_directories(victim / "dir");
  test::write_text((victim / "file").string(), "precious");
  test::write_text((victim / "dir" / "sentinel").string(), "keep");
  TrainingArguments a = tiny_args(model, train, test::temp_dir("links_out"));
  a.max_steps = 2;
  a.save_steps = 1;
  a.save_total_limit = 1;
  a.save_final_model = true;
  a.per_device_train_batch_size = 8;
  const fs::path out = a.output_dir;
  const std::string pid = std::to_string(::getpid());  // run_training runs in this process
  for (const std::string& name :
       std::vector<std::string>{"checkpoint-2", "checkpoint-9", ".tmp-checkpoint-2-" + pid,
                                ".deleting-checkpoint-1", ".old-checkpoint-2"})
    fs::create_directory_symlink(victim / "dir", out / name);
  for (const std::string& name : std::vector<std::string>{
           "config.json", "model.safetensors", "trainer_state.json", "all_results.json",
           "vocab.txt", "tokenizer_config.json", "config.json.tmp." + pid,
           "model.safetensors.tmp." + pid, ".bertrain-write-test." + pid})
    fs::create_symlink(victim / "file", out / name);

  run_training(a);

  EXPECT_EQ(read_text_file((victim / "file").string()), "precious");
  std::vector<std::string> in_dir;
  for (const auto& e : fs::directory_iterator(victim / "dir"))
    in_dir.push_back(e.path().filename().string());
  EXPECT_EQ(in_dir, std::vector<std::string>{"sentinel"});
  EXPECT_EQ(read_text_file((victim / "dir" / "sentinel").string()), "keep");
  // The trainer's own files are now real files and a real checkpoint directory; the link it
  // had no reason to touch is still there, and was not taken for a checkpoint.
  for (const char* name : {"config.json", "model.safetensors", "trainer_state.json", "vocab.txt"})
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out / name))) << name;
  EXPECT_TRUE(has_checkpoint(out.string(), 2));
  EXPECT_FALSE(fs::exists(fs::symlink_status(out / "checkpoint-1")));  // rotated away
  EXPECT_TRUE(fs::is_symlink(out / "checkpoint-9"));
  EXPECT_EQ(list_checkpoints(out.string()),
            std::vector<std::string>{(out / "checkpoint-2").string()});
  EXPECT_EQ(weights_of((out / "checkpoint-2").string()), weights_of(out.string()));
}

// --load_best_model_at_end with early stopping, where the best evaluation is not the last:
// eval_loss with greater_is_better (a learning model's eval loss falls, so its first
// evaluation is the best by this rule). The run stops after `patience` evaluations without
// improvement, keeps the best checkpoint through save_total_limit 1, and ends with the best
// weights (saved model and final evaluation). Every expectation is read off the run's log.
TEST(Trainer, EarlyStoppingKeepsAndLoadsTheBestCheckpointWhenItIsNotTheLast) {
  std::string model = tiny_model("best_model", 0.0);
  std::string train = yelp_subset("train.csv", 64, "best_data");
  TrainingArguments a = tiny_args(model, train, test::temp_dir("best_out"));
  a.eval_file = yelp_subset("test.csv", 32, "best_eval");
  a.num_train_epochs = 6;
  a.save_strategy = "epoch";
  a.save_total_limit = 1;
  a.load_best_model_at_end = true;
  a.metric_for_best_model = "loss";
  a.greater_is_better = true;
  a.early_stopping_patience = 2;
  run_training(a);
  const nlohmann::json state =
      nlohmann::json::parse(std::ifstream(a.output_dir + "/trainer_state.json"));
  std::vector<std::pair<int64_t, double>> evals;  // (step, eval_loss)
  for (const auto& e : state["log_history"])
    if (e.contains("eval_loss") && e.contains("step"))
      evals.push_back({e["step"].get<int64_t>(), e["eval_loss"].get<double>()});
  ASSERT_GE(evals.size(), 2u);
  size_t best = 0;
  for (size_t i = 1; i < evals.size(); ++i)
    if (evals[i].second > evals[best].second) best = i;
  ASSERT_LT(best, evals.size() - 1) << "the scenario needs a best evaluation before the last";
  EXPECT_EQ(evals.size(), best + 1 + 2) << "stops after patience 2 evaluations";
  EXPECT_LT(evals.size(), 6u);
  const std::string best_dir = a.output_dir + "/checkpoint-" + std::to_string(evals[best].first);
  const std::string last_dir = a.output_dir + "/checkpoint-" + std::to_string(evals.back().first);
  EXPECT_EQ(state["best_model_checkpoint"], best_dir);
  EXPECT_DOUBLE_EQ(state["best_metric"].get<double>(), evals[best].second);
  EXPECT_TRUE(fs::exists(best_dir));  // kept by the rotation beside the newest
  EXPECT_TRUE(fs::exists(last_dir));
  EXPECT_EQ(list_checkpoints(a.output_dir).size(), 2u);
  EXPECT_EQ(weights_of(a.output_dir), weights_of(best_dir));
  EXPECT_NE(weights_of(a.output_dir), weights_of(last_dir));
  const nlohmann::json results =
      nlohmann::json::parse(std::ifstream(a.output_dir + "/all_results.json"));
  EXPECT_NEAR(results["eval_loss"].get<double>(), evals[best].second, 1e-9);
}

TEST(Checkpoints, RotationKeepsTheNewestAndTheBest) {
  const std::vector<std::string> all = {"o/checkpoint-1", "o/checkpoint-2", "o/checkpoint-3",
                                        "o/checkpoint-4"};
  using V = std::vector<std::string>;
  EXPECT_EQ(checkpoints_to_delete(all, 2, ""), (V{"o/checkpoint-1", "o/checkpoint-2"}));
  EXPECT_EQ(checkpoints_to_delete(all, 2, "o/checkpoint-1"),
            (V{"o/checkpoint-2", "o/checkpoint-3"}));
  EXPECT_EQ(checkpoints_to_delete(all, 2, "o/checkpoint-3"),
            (V{"o/checkpoint-1", "o/checkpoint-2"}));
  EXPECT_EQ(checkpoints_to_delete(all, 1, "o/checkpoint-2"),
            (V{"o/checkpoint-1", "o/checkpoint-3"}));
  EXPECT_EQ(checkpoints_to_delete(all, 1, "o/checkpoint-4"),
            (V{"o/checkpoint-1", "o/checkpoint-2", "o/checkpoint-3"}));
  EXPECT_EQ(checkpoints_to_delete(all, 5, "o/checkpoint-2"), V{});
}

// `pretrain` (train --task mlm) on review texts: the loss falls, the evaluation reports the
// masked positions' accuracy and perplexity = exp(eval_loss), the output is a BertForMaskedLM
// without the tied decoder's names, and a run resumed from its middle checkpoint ends
// bit-identical (the masks are keyed on seed, epoch, example and position).
TEST(Trainer, PretrainLearnsResumesAndSavesAMaskedLm) {
  std::string model = tiny_model("pt_model", 0.1);
  std::string train = yelp_subset("train.csv", 64, "pt_data");
  TrainingArguments a = tiny_args(model, train, test::temp_dir("pt_out"));
  a.task = "mlm";
  a.eval_file = yelp_subset("test.csv", 16, "pt_eval");
  a.eval_strategy = "steps";
  a.eval_steps = 12;
  a.max_steps = 12;
  a.logging_steps = 1;
  a.save_steps = 6;
  run_training(a);
  const nlohmann::json state =
      nlohmann::json::parse(std::ifstream(a.output_dir + "/trainer_state.json"));
  std::vector<double> losses;
  for (const auto& e : state["log_history"])
    if (e.contains("loss")) losses.push_back(e["loss"].get<double>());
  ASSERT_EQ(losses.size(), 12u);
  // From ln(30522) = 10.33 (uniform over the vocabulary): the last three steps' mean at least
  // 0.2 below the first three's (0.29 seen).
  const double first = (losses[0] + losses[1] + losses[2]) / 3;
  const double last = (losses[9] + losses[10] + losses[11]) / 3;
  EXPECT_LT(last, first - 0.2) << "from " << first;
  const nlohmann::json results =
      nlohmann::json::parse(std::ifstream(a.output_dir + "/all_results.json"));
  EXPECT_NEAR(results["eval_perplexity"].get<double>(),
              std::exp(results["eval_loss"].get<double>()), 1e-9);
  EXPECT_GE(results["eval_accuracy"].get<double>(), 0.0);
  // The memory model knows the masked-LM head: every category predicted to the byte, but the
  // batches (an upper bound on those alive at once).
  for (const auto& [category, bytes] : results["peak_memory_by_category"].items())
    if (category != "data") {
      EXPECT_EQ(bytes, results["predicted_peak_memory_by_category"][category]) << category;
    }
  const BertConfig saved = load_config(a.output_dir + "/config.json");
  EXPECT_EQ(saved.task, Task::MaskedLM);
  SafetensorsReader weights(a.output_dir + "/model.safetensors");
  for (const std::string& name : weights.names())
    EXPECT_EQ(name.find("cls.predictions.decoder"), std::string::npos) << name;
  TrainingArguments part = resume_copy(a, 6, "pt_resumed");
  EXPECT_EQ(weights_of(part.output_dir), weights_of(a.output_dir));
}

// The token-classification and QA heads carry the whole trainer: bf16 GEMMs, gradient
// checkpointing and a --memory_limit the run fits, then a resume from a mid-run checkpoint
// that ends bit-identical to the uninterrupted run (weights and every logged loss).
TEST(Trainer, TokenClassificationAndQaResumeUnderBf16CheckpointingAndALimit) {
  const std::string data = test::temp_dir("heads_resume_data");
  {  // the first 60 WNUT sentences (QA reads the shipped SQuAD part's first 40 questions)
    std::ifstream in(test::shared_dir() + "/data/ner/wnut17-train.conll");
    std::ofstream out(data + "/ner.conll");
    int sentences = 0;
    for (std::string line; sentences < 60 && std::getline(in, line);) {
      out << line << "\n";
      if (line.find_first_not_of(" \t\r") == std::string::npos) ++sentences;
    }
  }
  for (const char* task : {"token_classification", "question_answering"}) {
    SCOPED_TRACE(task);
    const bool qa = std::string(task) == "question_answering";
    std::string model = tiny_model(std::string("heads_resume_model_") + task, 0.1);
    TrainingArguments full = tiny_args(
        model, qa ? test::shared_dir() + "/data/squad/dev-v1.1-part1.json" : data + "/ner.conll",
        test::temp_dir(std::string("heads_resume_full_") + task));
    full.task = task;
    full.ignore_mismatched_sizes = true;  // the tiny model's 5-class sequence head
    full.max_train_samples = 40;
    full.max_seq_length = 64;
    full.doc_stride = 16;
    full.bf16 = true;
    full.gradient_checkpointing = true;
    full.memory_limit = "256MB";
    full.per_device_train_batch_size = 8;
    full.max_steps = 6;
    full.save_steps = 3;
    full.logging_steps = 1;
    const TrainOutcome out = run_training(full);
    EXPECT_EQ(out.metrics["precision"], "bf16");
    EXPECT_LE(out.metrics["peak_memory_bytes"].get<double>(), 256e6);
    EXPECT_EQ(out.metrics["peak_memory_bytes"], out.metrics["predicted_peak_memory_bytes"]);
    TrainingArguments part = resume_copy(full, 3, std::string("heads_resume_part_") + task);
    EXPECT_EQ(weights_of(part.output_dir), weights_of(full.output_dir));
    EXPECT_EQ(logged_losses(part.output_dir), logged_losses(full.output_dir));
    EXPECT_EQ(logged_losses(full.output_dir).size(), 6u);
    nlohmann::json config = nlohmann::json::parse(std::ifstream(full.output_dir + "/config.json"));
    EXPECT_EQ(config["architectures"][0],
              qa ? "BertForQuestionAnswering" : "BertForTokenClassification");
  }
}
