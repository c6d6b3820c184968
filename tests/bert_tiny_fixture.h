// The bert_tiny golden fixture (../shared/fixtures/bert_tiny): its inputs, expected values and
// model, shared by the tests that compare against it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "test_util.h"

namespace bertrain::test {

struct BertTinyFixture {
  SafetensorsReader expected{test::fixture("bert_tiny/expected.safetensors")};
  BertConfig config = load_config(test::fixture("bert_tiny/model/config.json"));
  std::vector<int32_t> ids, types, mask, labels;
  int B, S;

  BertTinyFixture() {
    Shape shape = expected.info("input_ids").shape;
    B = static_cast<int>(shape[0]);
    S = static_cast<int>(shape[1]);
    ids.resize(B * S);
    types.resize(B * S);
    mask.resize(B * S);
    labels.resize(B);
    expected.read_into("input_ids", shape, ids.data(), DType::I32);
    expected.read_into("token_type_ids", shape, types.data(), DType::I32);
    expected.read_into("attention_mask", shape, mask.data(), DType::I32);
    expected.read_into("labels", {B}, labels.data(), DType::I32);
  }
  Batch rows(int begin, int count) const {
    size_t off = static_cast<size_t>(begin) * S;
    return {
        ids.data() + off, types.data() + off, mask.data() + off, labels.data() + begin, count, S};
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
    load_weights(*m, test::fixture("bert_tiny/model/model.safetensors"));
    return m;
  }
};

}  // namespace bertrain::test
