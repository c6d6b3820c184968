// bertrain against Hugging Face's BertForSequenceClassification (../shared/fixtures/bert_tiny),
// at the tolerances its README states. Shapes, depth and label count come from the fixture's
// files, so any fixture made by the same recipe works.
#include <gtest/gtest.h>

#include <cmath>

#include "golden_bert_tiny_checks.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "train/train_step.h"

using namespace bertrain;

using test::BertTinyFixture;
using test::expect_close;
using Fixture = BertTinyFixture;

TEST(GoldenBertTiny, ForwardMatchesHuggingFace) {
  test::check_golden_forward(cpu_device());
}

TEST(GoldenBertTiny, GradientsMatchHuggingFace) {
  test::check_golden_gradients(cpu_device());
}

TEST(GoldenBertTiny, TrajectoryMatchesHuggingFaceTrainer) {
  Fixture fx;
  std::vector<float> lr = fx.values("trajectory.lr");
  LrSchedule sched{ScheduleType::Linear, 5e-4, 0, static_cast<int64_t>(lr.size())};
  for (size_t s = 0; s < lr.size(); ++s) EXPECT_NEAR(sched.lr(s), lr[s], 1e-10);
  test::check_golden_trajectory(cpu_device(), "trajectory", "final", 1.0);
}

TEST(GoldenBertTiny, ClippedTrajectoryMatchesHuggingFaceTrainer) {
  Fixture fx;
  test::check_golden_trajectory(cpu_device(), "trajectory_clip", "final_clip",
                                fx.values("trajectory_clip.max_grad_norm")[0]);
}

TEST(GoldenBertTiny, SaveAndReloadIsExact) {
  Fixture fx;
  auto m = fx.model();
  std::string dir = test::temp_dir("golden_save");
  save_pretrained(*m, dir);
  Bert<float> again(load_config(dir + "/config.json"));
  load_weights(again, dir + "/model.safetensors");
  for (size_t i = 0; i < m->num_params(); ++i) ASSERT_EQ(again.params()[i], m->params()[i]);
  EXPECT_EQ(again.config().id2label, fx.config.id2label);
}

// `bertrain parity` end to end: with the fixture's recipe (6 steps, lr 5e-4, weight decay
// 0.01, 2 micro-batches, max_grad_norm 1) every tensor it writes matches expected.safetensors
// at the README's tolerances.
TEST(GoldenBertTiny, ParityCommandWritesTheFixturesValues) {
  Fixture fx;
  const size_t compared =
      test::check_parity_command(fx, 6, test::temp_dir("parity") + "/out.safetensors");
  // logits, loss, pooled, 3 hidden states, 4 trajectory series, grad.* and final.* per param.
  EXPECT_EQ(compared, 10 + 2 * fx.model()->layout().params().size());
}
