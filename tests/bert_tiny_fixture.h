// A bert_tiny golden fixture (../shared/fixtures/bert_tiny, or a sequence-classification head of
// bert_tiny_heads/: regression, multi_label): its inputs, expected values and model, shared by
// the tests that compare against it.
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
  std::vector<int32_t> ids, types, mask, labels;  // labels: class ids (int64 in the file)
  std::vector<float> targets;                     // or float labels [B, L] (float32)
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
    const TensorInfo& l = expected.info("labels");
    if (l.dtype == DType::F32) {
      targets.resize(shape_numel(l.shape));
      expected.read_into("labels", l.shape, targets.data(), DType::F32);
    } else {
      labels.resize(B);
      expected.read_into("labels", {B}, labels.data(), DType::I32);
    }
  }
  Batch rows(int begin, int count) const {
    size_t off = static_cast<size_t>(begin) * S;
    Batch b{ids.data() + off, types.data() + off, mask.data() + off, nullptr, count, S};
    if (targets.empty())
      b.labels = labels.data() + begin;
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
  std::unique_ptr<BertForSequenceClassification<float>> model(
      const Device& device = cpu_device()) const {
    auto m = std::make_unique<BertForSequenceClassification<float>>(config, device);
    load_weights(*m, test::fixture(dir + "/model/model.safetensors"));
    return m;
  }
};

}  // namespace bertrain::test
