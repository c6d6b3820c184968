#include "data/dataset.h"

#include <map>
#include <random>

#include "core/error.h"

namespace bertrain {

void TokenizedDataset::point_at_storage() {
  offsets = storage->offsets;
  ids = storage->ids;
  types = storage->types;
  label_index = storage->label_index;
  lines = storage->lines;
}

std::vector<int64_t> TokenizedDataset::first_lines() const {
  std::vector<int64_t> first(label_strings.size(), 0);
  for (size_t i = size(); i-- > 0;)  // backwards: the earliest line is written last
    if (label_index[i] >= 0) first[label_index[i]] = lines[i];
  return first;
}

std::vector<int32_t> TokenizedDataset::class_ids(const LabelMap& map) const {
  std::vector<int32_t> per_label(label_strings.size());
  const std::vector<int64_t> first = first_lines();  // an unknown label's first line is reported
  for (size_t k = 0; k < label_strings.size(); ++k) {
    Example probe;
    probe.label = label_strings[k];
    probe.line = static_cast<size_t>(first[k]);
    per_label[k] = map.id(probe, source);
  }
  std::vector<int32_t> out(size());
  for (size_t i = 0; i < size(); ++i)
    out[i] = label_index[i] < 0 ? -100 : per_label[label_index[i]];
  return out;
}

TokenizedDataset tokenize_examples(const std::vector<Example>& examples, const BertTokenizer& tok,
                                   int max_length, const std::string& source) {
  const size_t n = examples.size();
  std::vector<Encoding> enc(n);
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < n; ++i) {
    const Example& e = examples[i];
    enc[i] = tok.encode(e.text, e.has_pair ? &e.text_pair : nullptr, max_length, max_length > 0,
                        Padding::None);
  }
  TokenizedDataset d;
  d.source = source;
  d.label_strings = default_label_list(examples);
  std::map<std::string, int32_t> index;
  for (size_t k = 0; k < d.label_strings.size(); ++k)
    index[d.label_strings[k]] = static_cast<int32_t>(k);
  auto s = std::make_shared<TokenizedDataset::Storage>();
  s->offsets.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    s->ids.insert(s->ids.end(), enc[i].input_ids.begin(), enc[i].input_ids.end());
    for (int32_t t : enc[i].token_type_ids) s->types.push_back(static_cast<uint8_t>(t));
    s->offsets.push_back(static_cast<int64_t>(s->ids.size()));
    s->label_index.push_back(examples[i].label.empty() ? -1 : index.at(examples[i].label));
    s->lines.push_back(static_cast<int64_t>(examples[i].line));
  }
  d.storage = std::move(s);
  d.point_at_storage();
  return d;
}

TokenizedDataset dummy_dataset(size_t size, int seq_len, int vocab_size, int num_labels,
                               uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> id(100, std::max(100, std::min(30000, vocab_size) - 1));
  std::uniform_int_distribution<int> label(0, num_labels - 1);
  TokenizedDataset d;
  d.source = "dummy data";
  for (int k = 0; k < num_labels; ++k) d.label_strings.push_back(std::to_string(k));
  auto s = std::make_shared<TokenizedDataset::Storage>();
  s->offsets.push_back(0);
  for (size_t i = 0; i < size; ++i) {
    for (int t = 0; t < seq_len; ++t) s->ids.push_back(id(rng));
    s->types.resize(s->ids.size(), 0);
    s->offsets.push_back(static_cast<int64_t>(s->ids.size()));
    s->label_index.push_back(label(rng));
    s->lines.push_back(static_cast<int64_t>(i + 1));
  }
  d.storage = std::move(s);
  d.point_at_storage();
  return d;
}

}  // namespace bertrain
