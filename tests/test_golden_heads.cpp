// bertrain against Hugging Face's BertForSequenceClassification with problem_type regression
// and multi_label_classification (../shared/fixtures/bert_tiny_heads/regression and
// multi_label), at the tolerances their READMEs state: forward, every gradient, the 4-step
// trajectory, and `bertrain parity` writing the fixture's quantities.
#include <gtest/gtest.h>

#include <cstdlib>

#include "golden_bert_tiny_checks.h"
#include "model/safetensors.h"
#include "test_util.h"

using namespace bertrain;

class GoldenHeads : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return "bert_tiny_heads/" + GetParam(); }
};

TEST_P(GoldenHeads, ForwardMatchesHuggingFace) {
  test::check_golden_forward(cpu_device(), dir());
}

TEST_P(GoldenHeads, GradientsMatchHuggingFace) {
  test::check_golden_gradients(cpu_device(), dir());
}

TEST_P(GoldenHeads, TrajectoryMatchesHuggingFaceTrainer) {
  test::check_golden_trajectory(cpu_device(), "trajectory", "final", 1.0, single_process(), dir());
}

TEST_P(GoldenHeads, ConfigReadsTheProblemType) {
  test::BertTinyFixture fx(dir());
  const ProblemType want =
      GetParam() == "regression" ? ProblemType::Regression : ProblemType::MultiLabel;
  EXPECT_EQ(fx.config.problem(), want);
}

// `bertrain parity` with the fixture's recipe (4 steps, lr 5e-4, weight decay 0.01, 2
// micro-batches, max_grad_norm 1) writes every quantity under the fixture's names, each within
// the README's tolerance.
TEST_P(GoldenHeads, ParityCommandWritesTheFixturesValues) {
  test::BertTinyFixture fx(dir());
  const std::string out = test::temp_dir("parity_" + GetParam()) + "/out.safetensors";
  const std::string cmd = std::string(BERTRAIN_EXE) + " parity --model " +
                          test::fixture(dir() + "/model") + " --inputs " +
                          test::fixture(dir() + "/expected.safetensors") + " --out " + out +
                          " --train_steps 4 --learning_rate 5e-4 --weight_decay 0.01"
                          " --gradient_accumulation_steps 2 --max_grad_norm 1 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  SafetensorsReader got(out);
  size_t compared = 0;
  for (const std::string& name : got.names()) {
    const TensorInfo& ti = got.info(name);
    std::vector<float> v(shape_numel(ti.shape));
    got.read_into(name, ti.shape, v.data(), DType::F32);
    double atol = 1e-5, rtol_of_max = 0;  // hidden states, pooled, logits, final params
    if (name == "loss") atol = 1e-6;
    if (name.rfind("grad.", 0) == 0) atol = 1e-9, rtol_of_max = 1e-4;
    if (name.rfind("grad.", 0) == 0 && test::zero_gradient(name)) {
      test::expect_close(std::vector<float>(v.size(), 0.0f), v.data(), 1e-6, 0, name);
      ++compared;
      continue;
    }
    if (name == "trajectory.grad_norm") atol = 0, rtol_of_max = 1e-4;
    if (name == "trajectory.lr") atol = 1e-10;
    test::expect_close(fx.values(name), v.data(), atol, rtol_of_max, name);
    ++compared;
  }
  // logits, loss, pooled, 3 hidden states, 4 trajectory series, grad.* and final.* per param.
  EXPECT_EQ(compared, 10 + 2 * fx.model()->layout().params().size());
}

INSTANTIATE_TEST_SUITE_P(Heads, GoldenHeads, ::testing::Values("regression", "multi_label"),
                         [](const auto& info) { return info.param; });
