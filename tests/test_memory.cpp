// The memory model against what runs allocate; limits, batch finding, auto batch size.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/parallel.h"
#include "dist/shard.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "train/batch_finder.h"
#include "train/checkpoints.h"
#include "train/trainer.h"

using namespace bertrain;

namespace {

BertConfig small_bert() {
  BertConfig c = preset_config("tiny");
  c.num_hidden_layers = 3;
  c.max_position_embeddings = 128;
  c.id2label = {"a", "b", "c", "d", "e"};
  return c;
}

// Restores the process allocator's limit when a test that trains sets one.
struct LimitGuard {
  ~LimitGuard() { cpu_allocator().set_limit(0); }
};

}  // namespace

TEST(MemoryModel, PredictionEqualsTheMeasuredPeakOfATrainingStep) {
  for (bool ckpt : {false, true})
    for (AttentionMode mode : {AttentionMode::Standard, AttentionMode::MemoryEfficient})
      for (int B : {1, 4, 16})
        for (int S : {16, 64, 128}) {
          MemoryQuery q;
          q.attention = mode;
          q.config = small_bert();
          q.batch = B;
          q.seq = S;
          q.checkpointing = ckpt;
          BatchTrial t = try_batch(q, 0, 1);
          ASSERT_TRUE(t.fits);
          // The trial allocates exactly what the run would: prediction is exact, not just
          // within the 5% the issue asks for.
          EXPECT_EQ(t.measured_peak_bytes, t.predicted_bytes)
              << "B " << B << " S " << S << " ckpt " << ckpt << " mode " << int(mode);
        }
}

TEST(MemoryModel, CheckpointingCutsActivationsAndAccumulationDoesNot) {
  MemoryQuery q;
  q.config = preset_config("bert-base-uncased");
  q.batch = 8;
  q.seq = 512;
  MemoryEstimate plain = estimate_memory(q);
  q.checkpointing = true;
  MemoryEstimate ckpt = estimate_memory(q);
  EXPECT_LT(ckpt.peak, plain.peak * 0.55);  // at least -45% at seq 512
  q.checkpointing = false;
  q.accumulation = 4;
  MemoryEstimate acc = estimate_memory(q);
  EXPECT_EQ(acc.bytes[static_cast<size_t>(MemCategory::Activations)],
            plain.bytes[static_cast<size_t>(MemCategory::Activations)]);
  // Cross-check the planned fp32 activations against Korthikanti et al.: same order.
  size_t acts = plain.bytes[static_cast<size_t>(MemCategory::Activations)];
  EXPECT_GT(acts, plain.korthikanti_fp32 / 2);
  EXPECT_LT(acts, plain.korthikanti_fp32 * 2);
}

// On a device whose memory is not the host's (a GPU; here host memory declared otherwise), the
// host batches are not the device's: the prediction has no data, and the rest is unchanged.
TEST(MemoryModel, BatchesCountOnlyWhereTheDeviceMemoryIsTheHosts) {
  MemoryQuery q;
  q.config = small_bert();
  q.eval_batch = 4;
  const MemoryEstimate host = estimate_memory(q);
  RawMemory raw = host_memory();
  raw.host_visible = false;
  Allocator elsewhere("elsewhere", 0, raw);
  q.device = cpu_device(elsewhere);
  const MemoryEstimate device = estimate_memory(q);
  const size_t data = host.bytes[static_cast<size_t>(MemCategory::Data)];
  EXPECT_GT(data, 0u);
  EXPECT_EQ(device.bytes[static_cast<size_t>(MemCategory::Data)], 0u);
  EXPECT_EQ(device.peak, host.peak - data);
}

TEST(MemoryModel, ZeroStageOneShardsOnlyTheOptimizerState) {
  MemoryQuery q;
  q.config = preset_config("bert-base-uncased");
  const MemoryEstimate one = estimate_memory(q);
  q.world_size = 4;
  EXPECT_EQ(estimate_memory(q).peak, one.peak);  // ZeRO-0: every rank holds everything
  q.zero_stage = 1;
  const MemoryEstimate zero = estimate_memory(q);
  auto at = [](const MemoryEstimate& e, MemCategory c) { return e.bytes[static_cast<size_t>(c)]; };
  const size_t n = ParamLayout(q.config).total();
  EXPECT_EQ(at(zero, MemCategory::OptimizerState),
            2 * Allocator::charged_size(shard_of(n, 0, 4).size() * sizeof(float)));
  EXPECT_LT(at(zero, MemCategory::OptimizerState), at(one, MemCategory::OptimizerState) / 4 + 1024);
  EXPECT_EQ(one.peak - zero.peak,
            at(one, MemCategory::OptimizerState) - at(zero, MemCategory::OptimizerState));
}

TEST(MemoryModel, FindBatchSizeReturnsTheLargestThatFits) {
  MemoryQuery q;
  q.config = small_bert();
  q.seq = 64;
  const size_t limit = 40u << 20;
  BatchSearch s = find_batch_size(q, limit, 1);
  ASSERT_GT(s.batch, 1);
  MemoryQuery at = q;
  at.batch = s.batch;
  EXPECT_TRUE(try_batch(at, limit, 1).fits);
  at.batch = s.batch + 1;
  EXPECT_FALSE(try_batch(at, limit, 1).fits);
  EXPECT_LE(s.trials.size(), 4u);  // the prediction is exact: two trials confirm it
  // Not even batch 1: reported as 0, no crash.
  EXPECT_EQ(find_batch_size(q, 1u << 20, 0).batch, 0);
}

namespace {

TrainingArguments memory_args(const std::string& name) {
  std::string model = test::temp_dir(name + "_model");
  BertConfig c = small_bert();
  c.vocab_size = 30522;
  Bert<float> m(c);
  init_weights(m, 3);
  save_model_dir(m, model, {test::shared_dir() + "/data/tokenizer/bert-base-uncased-vocab.txt"},
                 true);
  TrainingArguments a;
  a.model = model;
  a.dummy = true;
  a.dummy_size = 64;
  a.dummy_seq_len = 64;
  a.output_dir = test::temp_dir(name + "_out");
  a.per_device_train_batch_size = 16;
  a.max_steps = 2;
  a.save_strategy = "no";
  a.disable_tqdm = true;
  return a;
}

}  // namespace

TEST(MemoryModel, TrainingRunPeakMatchesPrediction) {
  for (bool ckpt : {false, true}) {
    TrainingArguments a = memory_args(ckpt ? "run_ckpt" : "run_plain");
    a.gradient_checkpointing = ckpt;
    a.gradient_accumulation_steps = 2;
    a.dataloader_num_workers = 1;
    TrainOutcome out = run_training(a);
    double measured = out.metrics["peak_memory_bytes"].get<double>();
    double predicted = out.metrics["predicted_peak_memory_bytes"].get<double>();
    EXPECT_LE(measured, predicted);
    EXPECT_GE(measured, 0.95 * predicted) << "ckpt " << ckpt;
  }
}

TEST(MemoryModel, LimitBelowNeedFailsFastWithTheClearError) {
  LimitGuard guard;
  TrainingArguments a = memory_args("limit");
  a.memory_limit = "30MiB";
  try {
    run_training(a);
    FAIL() << "expected out of memory";
  } catch (const OutOfMemoryError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("exceeds --memory_limit 30.00 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("nothing was run"), std::string::npos) << m;
    EXPECT_NE(m.find("--gradient_checkpointing"), std::string::npos) << m;
  }
  EXPECT_EQ(cpu_allocator().allocated(MemCategory::Weights), 0u);
}

TEST(MemoryModel, AutoFindBatchSizeKeepsTheEffectiveBatch) {
  LimitGuard guard;
  TrainingArguments a = memory_args("auto");
  a.memory_limit = "36MiB";  // the weights and AdamW state take 30 MiB; batch 16 needs 12 more
  a.auto_find_batch_size = true;
  a.keep_effective_batch_size = true;
  TrainOutcome out = run_training(a);
  int batch = out.metrics["per_device_train_batch_size"].get<int>();
  int accumulation = out.metrics["gradient_accumulation_steps"].get<int>();
  EXPECT_LT(batch, 16);
  EXPECT_GE(batch * accumulation, 16);
  EXPECT_LT(batch * (accumulation - 1), 16);
  EXPECT_LE(out.metrics["peak_memory_bytes"].get<size_t>(), 36u << 20);
}

// `bertrain memory` given a train command's own flags predicts that run: the trainer's
// prediction to the byte, and the peak the run then counts within 5% (never above), for fp32,
// bf16 and fp16, with and without checkpointing and evaluation.
TEST(MemoryModel, MemoryCommandWithTrainFlagsPredictsThatRun) {
  const std::string dir = test::temp_dir("cli");
  const std::string exe = BERTRAIN_EXE;
  const std::string model = dir + "/model";
  ASSERT_EQ(std::system((exe + " init --config " + BERTRAIN_SOURCE_DIR +
                         "/models/bert-tiny-yelp/config.json --vocab " + BERTRAIN_SOURCE_DIR +
                         "/models/bert-tiny-yelp/vocab.txt --out " + model + " > /dev/null")
                            .c_str()),
            0);
  std::ifstream in(test::shared_dir() + "/data/yelp/train.csv");
  std::ofstream train(dir + "/train.csv");
  std::string line;
  for (int i = 0; i < 48 && std::getline(in, line); ++i) train << line << "\n";
  train.close();
  int run = 0;
  const std::vector<std::string> runs = {
      "", "--bf16", "--fp16 --gradient_checkpointing", "--bf16 --eval_file " + dir + "/train.csv",
      "--attention memory_efficient --gradient_accumulation_steps 2"};
  for (const std::string& knobs : runs) {
    const std::string out = dir + "/out" + std::to_string(run++);
    const std::string flags = "--model " + model + " --train_file " + dir +
                              "/train.csv --output_dir " + out +
                              " --max_seq_length 64 --per_device_train_batch_size 8 --max_steps 2"
                              " --cache_dir none --save_strategy no --disable_tqdm " +
                              knobs;
    ASSERT_EQ(std::system((exe + " memory --json " + flags + " > " + dir + "/memory.json").c_str()),
              0)
        << flags;
    ASSERT_EQ(std::system((exe + " train " + flags + " > /dev/null").c_str()), 0) << flags;
    auto memory = nlohmann::json::parse(std::ifstream(dir + "/memory.json"));
    auto results = nlohmann::json::parse(std::ifstream(out + "/all_results.json"));
    const double predicted = memory["peak_bytes"].get<double>();
    EXPECT_EQ(predicted, results["predicted_peak_memory_bytes"].get<double>()) << knobs;
    EXPECT_EQ(memory["precision"], results["precision"]) << knobs;
    const double measured = results["peak_memory_bytes"].get<double>();
    EXPECT_LE(measured, predicted) << knobs;
    EXPECT_GE(measured, 0.95 * predicted) << knobs;
  }
}
