#include "train/inference.h"

#include <algorithm>

namespace bertrain {

std::vector<Prediction> predict_texts(Bert<float>& model, const BertTokenizer& tok,
                                      const std::vector<TextInput>& inputs, int max_length) {
  if (inputs.empty()) return {};
  std::vector<Encoding> enc(inputs.size());
#pragma omp parallel for schedule(dynamic, 8)
  for (size_t i = 0; i < inputs.size(); ++i)
    enc[i] = tok.encode(inputs[i].text, inputs[i].has_pair ? &inputs[i].pair : nullptr, max_length,
                        true, Padding::None);
  size_t S = 0;
  for (const Encoding& e : enc) S = std::max(S, e.input_ids.size());
  std::vector<int32_t> ids, types, mask;
  for (Encoding& e : enc) {
    tok.pad_to(e, S);
    ids.insert(ids.end(), e.input_ids.begin(), e.input_ids.end());
    types.insert(types.end(), e.token_type_ids.begin(), e.token_type_ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
  }
  const int B = static_cast<int>(inputs.size()), L = model.config().num_labels();
  model.forward({ids.data(), types.data(), mask.data(), nullptr, B, static_cast<int>(S)}, false, 0);
  const std::vector<float> probs = model.host_outputs();
  std::vector<Prediction> out;
  for (int b = 0; b < B; ++b) {
    const float* row = probs.data() + static_cast<size_t>(b) * L;
    out.push_back(
        {static_cast<int>(std::max_element(row, row + L) - row), std::vector<float>(row, row + L)});
  }
  return out;
}

}  // namespace bertrain
