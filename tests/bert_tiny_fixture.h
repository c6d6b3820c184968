// A bert_tiny golden fixture (../shared/fixtures/bert_tiny, or a head of bert_tiny_heads/):
// its inputs, expected values, tolerances and model, shared by the tests that compare against
// it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "test_util.h"

namespace bertrain::test {

struct BertTinyFixture {
  std::string dir;  // under the fixtures directory
  SafetensorsReader expected;
  BertConfig config;
  std::vector<int32_t> ids, types, mask;
  // Labels as the model reads them (core/batch.h): class ids [B] or [B, S], (start, end) [B, 2]
  // for question answering; or float labels [B, L] (regression, multi-label).
  std::vector<int32_t> labels;
  std::vector<float> targets;
  int B, S;

  explicit BertTinyFixture(std::string fixture_dir = "bert_tiny")
      : dir(std::move(fixture_dir)),
        expected(test::fixture(dir + "/expected.safetensors")),
        config(load_config(test::fixture(dir + "/model/config.json"))) {
    Shape shape = expected.info("input_ids").shape;
    B = static_cast<int>(shape[0]);
    S = static_cast<int>(shape[1]);
    ids.resize(B * S);
    types.resize(B * S);
    mask.resize(B * S);
    expected.read_into("input_ids", shape, ids.data(), DType::I32);
    expected.read_into("token_type_ids", shape, types.data(), DType::I32);
    expected.read_into("attention_mask", shape, mask.data(), DType::I32);
    if (config.task == Task::QuestionAnswering) {
      std::vector<int32_t> start(B), end(B);
      expected.read_into("start_positions", {B}, start.data(), DType::I32);
      expected.read_into("end_positions", {B}, end.data(), DType::I32);
      for (int b = 0; b < B; ++b) labels.insert(labels.end(), {start[b], end[b]});
      return;
    }
    const TensorInfo& l = expected.info("labels");
    if (l.dtype == DType::F32) {
      targets.resize(shape_numel(l.shape));
      expected.read_into("labels", l.shape, targets.data(), DType::F32);
    } else {
      labels.resize(shape_numel(l.shape));
      expected.read_into("labels", l.shape, labels.data(), DType::I32);
    }
  }
  Batch rows(int begin, int count) const {
    size_t off = static_cast<size_t>(begin) * S;
    Batch b{ids.data() + off, types.data() + off, mask.data() + off, nullptr, count, S};
    if (targets.empty())
      b.labels = labels.data() + static_cast<size_t>(begin) * (labels.size() / B);
    else
      b.targets = targets.data() + static_cast<size_t>(begin) * (targets.size() / B);
    return b;
  }
  std::vector<float> values(const std::string& name) const {
    const TensorInfo& ti = expected.info(name);
    std::vector<float> v(shape_numel(ti.shape));
    expected.read_into(name, ti.shape, v.data(), DType::F32);
    return v;
  }
  bool heads_fixture() const { return dir.rfind("bert_tiny_heads/", 0) == 0; }
  // A gradient zero in exact arithmetic that bert_tiny_heads' READMEs compare with an absolute
  // bound only (every key bias, whose q.b_k term is the same for all keys of a query; in
  // question answering also qa_outputs.bias and the last layer's output LayerNorm bias, which
  // shift a row's logits alike). bert_tiny's README keeps its relative rule for all.
  bool zero_gradient(const std::string& name) const {
    if (!heads_fixture()) return false;
    if (name.find("attention.self.key.bias") != std::string::npos) return true;
    const std::string last = "bert.encoder.layer." + std::to_string(config.num_hidden_layers - 1);
    return config.task == Task::QuestionAnswering &&
           (name == "qa_outputs.bias" || name == last + ".output.LayerNorm.bias");
  }
  // The README's tolerance on final parameters: 1e-5 (masked LM 5e-5); a zero-gradient
  // tensor's 1e-4, question answering's two 2e-3 (Adam's noise-driven moves).
  double final_atol(const std::string& name) const {
    if (!heads_fixture()) return 1e-5;  // bert_tiny's README: 1e-5 for all
    if (zero_gradient(name)) return name.find("key.bias") != std::string::npos ? 1e-4 : 2e-3;
    return config.task == Task::MaskedLM ? 5e-5 : 1e-5;
  }
  std::unique_ptr<Bert<float>> model(const Device& device = cpu_device()) const {
    auto m = std::make_unique<Bert<float>>(config, device);
    load_weights(*m, test::fixture(dir + "/model/model.safetensors"));
    m->set_mlm_all_positions(true);  // the fixture's logits are every position's
    return m;
  }
};

}  // namespace bertrain::test
