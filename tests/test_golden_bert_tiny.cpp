// bertrain against Hugging Face's BertForSequenceClassification (../shared/fixtures/bert_tiny),
// at the tolerances its README states. Shapes, depth and label count come from the fixture's
// files, so any fixture made by the same recipe works.
#include <gtest/gtest.h>

#include <cmath>

#include "bert_tiny_fixture.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "train/train_step.h"

using namespace bertrain;

namespace {

using Fixture = test::BertTinyFixture;

void expect_close(const std::vector<float>& want, const float* got, double atol, double rtol_of_max,
                  const std::string& what) {
  double max_abs = 0;
  for (float w : want) max_abs = std::max(max_abs, std::abs(static_cast<double>(w)));
  double tol = atol + rtol_of_max * max_abs;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol) << what << "[" << i << "]";
}

}  // namespace

TEST(GoldenBertTiny, ForwardMatchesHuggingFace) {
  Fixture fx;
  auto m = fx.model();
  double loss = m->forward(fx.rows(0, fx.B), /*training=*/true, 0);  // dropout probs are 0
  EXPECT_NEAR(loss, fx.values("loss")[0], 1e-6);
  expect_close(fx.values("logits"), m->logits(), 1e-5, 0, "logits");
  expect_close(fx.values("pooled_output"), m->pooled_output(), 1e-5, 0, "pooled_output");
  for (int k = 0; k <= fx.config.num_hidden_layers; ++k) {
    std::string name = "hidden_states." + std::to_string(k);
    expect_close(fx.values(name), m->hidden_state(k), 1e-5, 0, name);
  }
}

TEST(GoldenBertTiny, GradientsMatchHuggingFace) {
  Fixture fx;
  auto m = fx.model();
  m->zero_grads();
  m->forward(fx.rows(0, fx.B), true, 0);
  m->backward(1.0);
  for (const ParamSpec& p : m->layout().params()) {
    // README: |diff| <= 1e-4 * max|grad of that tensor| + 1e-9.
    expect_close(fx.values("grad." + p.name), m->grads() + p.offset, 1e-9, 1e-4, "grad." + p.name);
  }
}

// The fixture's trajectory: the same batch every step, split into 2 micro-batches,
// lr 5e-4 linearly decayed, weight decay 0.01, AdamW, clipping at max_norm.
static void check_trajectory(const std::string& prefix, const std::string& final_prefix,
                             double max_norm) {
  Fixture fx;
  auto m = fx.model();
  std::vector<float> want_loss = fx.values(prefix + ".loss");
  std::vector<float> want_norm = fx.values(prefix + ".grad_norm");
  std::vector<float> want_micro = fx.values(prefix + ".microbatch_loss");
  const int steps = static_cast<int>(want_loss.size());
  const int K = static_cast<int>(want_micro.size()) / steps;
  ASSERT_EQ(fx.B % K, 0);
  std::vector<Batch> micro;
  for (int k = 0; k < K; ++k) micro.push_back(fx.rows(k * fx.B / K, fx.B / K));
  AdamW<float> opt(m->layout(), {5e-4, 0.9, 0.999, 1e-8, 0.01});
  LrSchedule sched{ScheduleType::Linear, 5e-4, 0, steps};
  for (int s = 0; s < steps; ++s) {
    StepResult r = train_step(*m, opt, sched, micro, max_norm, 42);
    EXPECT_NEAR(r.loss, want_loss[s], 1e-5) << "step " << s;
    EXPECT_NEAR(r.grad_norm, want_norm[s], 1e-4 * want_norm[s]) << "step " << s;
    for (int k = 0; k < K; ++k) EXPECT_NEAR(r.microbatch_losses[k], want_micro[s * K + k], 1e-5);
  }
  for (const ParamSpec& p : m->layout().params())
    expect_close(fx.values(final_prefix + "." + p.name), m->params() + p.offset, 1e-5, 0,
                 final_prefix + "." + p.name);
}

TEST(GoldenBertTiny, TrajectoryMatchesHuggingFaceTrainer) {
  Fixture fx;
  std::vector<float> lr = fx.values("trajectory.lr");
  LrSchedule sched{ScheduleType::Linear, 5e-4, 0, static_cast<int64_t>(lr.size())};
  for (size_t s = 0; s < lr.size(); ++s) EXPECT_NEAR(sched.lr(s), lr[s], 1e-10);
  check_trajectory("trajectory", "final", 1.0);
}

TEST(GoldenBertTiny, ClippedTrajectoryMatchesHuggingFaceTrainer) {
  Fixture fx;
  check_trajectory("trajectory_clip", "final_clip", fx.values("trajectory_clip.max_grad_norm")[0]);
}

TEST(GoldenBertTiny, SaveAndReloadIsExact) {
  Fixture fx;
  auto m = fx.model();
  std::string dir = test::temp_dir("golden_save");
  save_pretrained(*m, dir);
  BertForSequenceClassification<float> again(load_config(dir + "/config.json"));
  load_weights(again, dir + "/model.safetensors");
  for (size_t i = 0; i < m->num_params(); ++i) ASSERT_EQ(again.params()[i], m->params()[i]);
  EXPECT_EQ(again.config().id2label, fx.config.id2label);
}

// `bertrain parity` end to end: with the fixture's recipe (6 steps, lr 5e-4, weight decay
// 0.01, 2 micro-batches, max_grad_norm 1) every tensor it writes matches expected.safetensors
// at the README's tolerances.
TEST(GoldenBertTiny, ParityCommandWritesTheFixturesValues) {
  Fixture fx;
  const std::string out = test::temp_dir("parity") + "/out.safetensors";
  const std::string cmd = std::string(BERTRAIN_EXE) + " parity --model " +
                          test::fixture("bert_tiny/model") + " --inputs " +
                          test::fixture("bert_tiny/expected.safetensors") + " --out " + out +
                          " --train_steps 6 --learning_rate 5e-4 --weight_decay 0.01"
                          " --gradient_accumulation_steps 2 --max_grad_norm 1 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  SafetensorsReader got(out);
  size_t compared = 0;
  for (const std::string& name : got.names()) {
    const TensorInfo& ti = got.info(name);
    std::vector<float> v(shape_numel(ti.shape));
    got.read_into(name, ti.shape, v.data(), DType::F32);
    double atol = 1e-5, rtol_of_max = 0;  // hidden states, pooled, logits, final params, loss
    if (name == "loss") atol = 1e-6;
    if (name.rfind("grad.", 0) == 0) atol = 1e-9, rtol_of_max = 1e-4;
    if (name == "trajectory.grad_norm") atol = 0, rtol_of_max = 1e-4;
    if (name == "trajectory.lr") atol = 1e-10;
    expect_close(fx.values(name), v.data(), atol, rtol_of_max, name);
    ++compared;
  }
  // logits, loss, pooled, 3 hidden states, 4 trajectory series, grad.* and final.* per param.
  EXPECT_EQ(compared, 10 + 2 * fx.model()->layout().params().size());
}
