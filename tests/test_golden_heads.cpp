// bertrain against Hugging Face's heads (../shared/fixtures/bert_tiny_heads/):
// BertForSequenceClassification with problem_type regression and multi_label_classification,
// BertForMaskedLM (the decoder tied to the word embeddings), BertForTokenClassification and
// BertForQuestionAnswering, at the tolerances their READMEs state: forward, every gradient, the
// 4-step trajectory, and `bertrain parity` writing the fixture's quantities.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

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

TEST_P(GoldenHeads, ConfigReadsTheHead) {
  test::BertTinyFixture fx(dir());
  const std::map<std::string, std::pair<Task, ProblemType>> want = {
      {"regression", {Task::SequenceClassification, ProblemType::Regression}},
      {"multi_label", {Task::SequenceClassification, ProblemType::MultiLabel}},
      {"mlm", {Task::MaskedLM, ProblemType::SingleLabel}},
      {"token_classification", {Task::TokenClassification, ProblemType::SingleLabel}},
      {"question_answering", {Task::QuestionAnswering, ProblemType::SingleLabel}}};
  EXPECT_EQ(fx.config.task, want.at(GetParam()).first);
  if (fx.config.task == Task::SequenceClassification) {
    EXPECT_EQ(fx.config.problem(), want.at(GetParam()).second);
  }
}

// `bertrain parity` with the fixture's recipe (4 steps, lr 5e-4, weight decay 0.01, 2
// micro-batches, max_grad_norm 1) writes every quantity under the fixture's names, each within
// the README's tolerance.
TEST_P(GoldenHeads, ParityCommandWritesTheFixturesValues) {
  test::BertTinyFixture fx(dir());
  const size_t compared = test::check_parity_command(
      fx, 4, test::temp_dir("parity_" + GetParam()) + "/out.safetensors");
  // The logits (QA: start and end), loss, pooled (sequence classification), 3 hidden states,
  // 4 trajectory series, grad.* and final.* per parameter.
  const size_t logits = fx.config.task == Task::QuestionAnswering ? 2 : 1;
  const size_t pooled = fx.config.task == Task::SequenceClassification ? 1 : 0;
  EXPECT_EQ(compared, logits + 1 + pooled + 3 + 4 + 2 * fx.model()->layout().params().size());
}

INSTANTIATE_TEST_SUITE_P(Heads, GoldenHeads,
                         ::testing::Values("regression", "multi_label", "mlm",
                                           "token_classification", "question_answering"),
                         [](const auto& info) { return info.param; });

// BertForMaskedLM saves as transformers' save_pretrained does: the tied decoder weight and
// bias are not in the file (their tensors are the word embeddings and cls.predictions.bias);
// it reloads exactly, and a file that stores the tied names anyway (torch.save of the
// state_dict) loads with them skipped.
TEST(GoldenHeadsMlm, SavesWithoutTheTiedDecoderAndReloads) {
  test::BertTinyFixture fx("bert_tiny_heads/mlm");
  auto m = fx.model();
  const std::string dir = test::temp_dir("mlm_save");
  save_pretrained(*m, dir);
  SafetensorsReader saved(dir + "/model.safetensors");
  for (const std::string& name : saved.names())
    EXPECT_EQ(name.find("cls.predictions.decoder"), std::string::npos) << name;
  EXPECT_EQ(saved.names().size(), m->layout().params().size());
  EXPECT_EQ(load_config(dir + "/config.json").task, Task::MaskedLM);
  Bert<float> again(load_config(dir + "/config.json"));
  load_weights(again, dir);
  for (size_t i = 0; i < m->num_params(); ++i) ASSERT_EQ(again.params()[i], m->params()[i]);
  // The tied names stored too: skipped, nothing reported unused.
  std::vector<float> word(m->layout().find("bert.embeddings.word_embeddings.weight").numel);
  std::copy_n(m->params() + m->layout().word_emb, word.size(), word.data());
  std::vector<float> bias(fx.config.vocab_size);
  std::copy_n(m->params() + m->layout().decoder_b, bias.size(), bias.data());
  std::vector<TensorView> views;
  for (const ParamSpec& p : m->layout().params())
    views.push_back({p.name, DType::F32, p.shape, m->params() + p.offset});
  views.push_back({"cls.predictions.decoder.weight",
                   DType::F32,
                   {fx.config.vocab_size, fx.config.hidden_size},
                   word.data()});
  views.push_back(
      {"cls.predictions.decoder.bias", DType::F32, {fx.config.vocab_size}, bias.data()});
  const std::string with_tied = test::temp_dir("mlm_tied") + "/model.safetensors";
  save_safetensors(with_tied, views);
  Bert<float> third(fx.config);
  const LoadReport r = load_weights(third, with_tied);
  EXPECT_TRUE(r.unused.empty());
  for (size_t i = 0; i < m->num_params(); ++i) ASSERT_EQ(third.params()[i], m->params()[i]);
}
