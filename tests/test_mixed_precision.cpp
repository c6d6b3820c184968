// Mixed precision (bf16/fp16 activations and weight copy, fp32 master) and loss scaling.
#include <gtest/gtest.h>

#include "bert_tiny_fixture.h"
#include "core/parallel.h"
#include "kernels/cpu/gemm_bf16.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "train/batch_finder.h"
#include "train/train_step.h"

using namespace bertrain;

TEST(GradScaler, BacksOffOnOverflowAndGrowsAfterTheInterval) {
  GradScaler s;
  s.growth_interval = 3;
  EXPECT_FALSE(s.update(true));  // overflow: skip, halve
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_EQ(s.skipped_steps, 1);
  EXPECT_TRUE(s.update(false));
  EXPECT_TRUE(s.update(false));
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_TRUE(s.update(false));  // third good step in a row: grow
  EXPECT_EQ(s.scale, 65536.0);
  EXPECT_EQ(s.growth_tracker, 0);
  EXPECT_TRUE(s.update(false));
  EXPECT_FALSE(s.update(true));  // an overflow resets the run of good steps
  EXPECT_EQ(s.growth_tracker, 0);
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_EQ(GradScaler{}.scale, 65536.0);  // torch's defaults
  EXPECT_EQ(GradScaler{}.growth_interval, 2000);
}

namespace {

using Fixture = test::BertTinyFixture;

// A fixture's trajectory (bert_tiny: 6 steps; a head of bert_tiny_heads: 4) under a precision;
// returns the largest loss deviation from the fp32 reference.
double trajectory_deviation(Precision p, bool checkpointing, const std::string& dir = "bert_tiny") {
  Fixture fx(dir);
  std::unique_ptr<Bert<float>> model = fx.model();
  Bert<float>& m = *model;
  m.set_mlm_all_positions(false);  // the trajectory's loss is over the labelled positions
  m.set_precision(p);
  m.set_gradient_checkpointing(checkpointing);
  std::vector<Batch> micro = {fx.rows(0, fx.B / 2), fx.rows(fx.B / 2, fx.B / 2)};
  AdamW<float> opt(m.layout(), {5e-4, 0.9, 0.999, 1e-8, 0.01});
  std::vector<float> want = fx.values("trajectory.loss");
  const int steps = static_cast<int>(want.size());
  LrSchedule sched{ScheduleType::Linear, 5e-4, 0, steps};
  GradScaler scaler;
  double worst = 0;
  for (int s = 0; s < steps; ++s) {
    StepResult r =
        train_step(m, opt, sched, micro, 1.0, 42, p == Precision::FP16 ? &scaler : nullptr);
    EXPECT_FALSE(r.skipped);
    worst = std::max(worst, std::abs(r.loss - want[s]));
  }
  return worst;
}

}  // namespace

// Stated tolerances for the fixture's 6-step trajectory (loss about 1.6): bf16 (8 significant
// bits) within 2e-3 absolute of the fp32 losses, fp16 (11 bits) within 2e-4. Measured on
// 2026-11-29: 1.25e-4 and 6.4e-6.
TEST(MixedPrecision, Bf16TracksTheFp32Trajectory) {
  double d = trajectory_deviation(Precision::BF16, false);
  std::printf("bf16: largest loss deviation from fp32 over 6 steps: %.3g\n", d);
  EXPECT_LT(d, 2e-3);
  EXPECT_GT(d, 0.0);  // it really ran in reduced precision
}

// The masked LM's decoder (a 30522-word vocabulary on bf16 GEMMs where the CPU has them): its
// 4-step trajectory within the same 2e-3 absolute. Measured on 2026-12-01 (Intel Xeon,
// AMX-BF16): 4.3e-4.
TEST(MixedPrecision, Bf16MaskedLmTracksTheFp32Trajectory) {
  double d = trajectory_deviation(Precision::BF16, false, "bert_tiny_heads/mlm");
  std::printf("bf16 masked LM: largest loss deviation from fp32 over 4 steps: %.3g\n", d);
  EXPECT_LT(d, 2e-3);
  EXPECT_GT(d, 0.0);
}

TEST(MixedPrecision, Fp16TracksTheFp32TrajectoryWithLossScaling) {
  double d = trajectory_deviation(Precision::FP16, false);
  std::printf("fp16: largest loss deviation from fp32 over 6 steps: %.3g\n", d);
  EXPECT_LT(d, 2e-4);
  EXPECT_GT(d, 0.0);
}

TEST(MixedPrecision, CheckpointingReproducesTheSameRoundedValues) {
  EXPECT_EQ(trajectory_deviation(Precision::BF16, true),
            trajectory_deviation(Precision::BF16, false));
}

TEST(MixedPrecision, OverflowSkipsTheStepAndBacksOff) {
  Fixture fx;
  Bert<float> m(fx.config);
  load_weights(m, test::fixture("bert_tiny/model/model.safetensors"));
  m.set_precision(Precision::FP16);
  std::vector<float> before(m.params(), m.params() + m.num_params());
  AdamW<float> opt(m.layout(), {5e-4});
  LrSchedule sched{ScheduleType::Constant, 5e-4, 0, 1};
  GradScaler scaler;
  scaler.scale = 1e40;  // the scaled loss gradient overflows float: inf everywhere
  Batch b = fx.rows(0, fx.B);
  StepResult r = train_step(m, opt, sched, {&b, 1}, 1.0, 42, &scaler);
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(opt.steps(), 0);
  EXPECT_EQ(scaler.scale, 5e39);
  EXPECT_EQ(std::vector<float>(m.params(), m.params() + m.num_params()), before);
  scaler.scale = 65536;  // a sane scale steps again
  r = train_step(m, opt, sched, {&b, 1}, 1.0, 42, &scaler);
  EXPECT_FALSE(r.skipped);
  EXPECT_EQ(opt.steps(), 1);
}

TEST(MixedPrecision, HalvesStoredActivationsAndPredictionStaysExact) {
  BertConfig c = preset_config("tiny");
  c.id2label = {"a", "b"};
  for (Precision p : {Precision::BF16, Precision::FP16})
    for (bool ckpt : {false, true})
      for (AttentionMode mode : {AttentionMode::Standard, AttentionMode::MemoryEfficient}) {
        MemoryQuery q;
        q.config = c;
        q.batch = 8;
        q.seq = 64;
        q.precision = p;
        q.checkpointing = ckpt;
        q.attention = mode;
        const int64_t unplanned = cpu::gemm_bf16_unplanned_runs();
        BatchTrial t = try_batch(q, 0, 1);
        ASSERT_TRUE(t.fits);
        EXPECT_EQ(t.measured_peak_bytes, t.predicted_bytes);
        // Every bf16 GEMM ran on scratch the plan counted, none on oneDNN's own.
        EXPECT_EQ(cpu::gemm_bf16_unplanned_runs(), unplanned);
      }
  MemoryQuery q;
  q.config = preset_config("bert-base-uncased");
  q.batch = 8;
  q.seq = 512;
  size_t fp32 = estimate_memory(q).bytes[static_cast<size_t>(MemCategory::Activations)];
  q.precision = Precision::BF16;
  size_t bf16 = estimate_memory(q).bytes[static_cast<size_t>(MemCategory::Activations)];
  EXPECT_LT(bf16, fp32 * 0.6);  // about half, plus one fp32 working layer
}
