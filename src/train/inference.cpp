#include "train/inference.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "train/seqeval.h"

namespace bertrain {

namespace {

// Pads encodings to the longest and runs them as one batch without dropout.
void forward_batch(Bert<float>& model, const BertTokenizer& tok, std::vector<Encoding>& enc) {
  size_t S = 0;
  for (const Encoding& e : enc) S = std::max(S, e.input_ids.size());
  std::vector<int32_t> ids, types, mask;
  for (Encoding& e : enc) {
    tok.pad_to(e, S);
    ids.insert(ids.end(), e.input_ids.begin(), e.input_ids.end());
    types.insert(types.end(), e.token_type_ids.begin(), e.token_type_ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
  }
  model.forward({ids.data(), types.data(), mask.data(), nullptr, static_cast<int>(enc.size()),
                 static_cast<int>(S)},
                false, 0);
}

}  // namespace

std::vector<Prediction> predict_texts(Bert<float>& model, const BertTokenizer& tok,
                                      const std::vector<TextInput>& inputs, int max_length) {
  if (inputs.empty()) return {};
  std::vector<Encoding> enc(inputs.size());
#pragma omp parallel for schedule(dynamic, 8)
  for (size_t i = 0; i < inputs.size(); ++i)
    enc[i] = tok.encode(inputs[i].text, inputs[i].has_pair ? &inputs[i].pair : nullptr, max_length,
                        true, Padding::None);
  forward_batch(model, tok, enc);
  const int B = static_cast<int>(inputs.size()), L = model.config().num_labels();
  const std::vector<float> probs = model.host_outputs();
  std::vector<Prediction> out;
  for (int b = 0; b < B; ++b) {
    const float* row = probs.data() + static_cast<size_t>(b) * L;
    out.push_back(
        {static_cast<int>(std::max_element(row, row + L) - row), std::vector<float>(row, row + L)});
  }
  return out;
}

std::vector<TaggedEntity> group_entities(const std::string& text,
                                         const std::vector<std::pair<int32_t, int32_t>>& spans,
                                         const std::vector<std::string>& tags,
                                         const std::vector<float>& scores) {
  const std::u32string chars = unicode::decode_utf8(text);
  std::vector<TaggedEntity> out;
  for (const Entity& ent : seqeval_entities(tags)) {
    double score = 0;
    for (int64_t k = ent.first; k <= ent.last; ++k) score += scores[k];
    const int32_t b = spans[ent.first].first, end = spans[ent.last].second;
    out.push_back({ent.type, unicode::encode_utf8(chars.substr(b, end - b)), b, end,
                   score / static_cast<double>(ent.last - ent.first + 1)});
  }
  return out;
}

std::vector<TagPrediction> predict_tags(Bert<float>& model, const BertTokenizer& tok,
                                        const std::vector<TagInput>& inputs, int max_length) {
  if (inputs.empty()) return {};
  std::vector<TagPrediction> out(inputs.size());
  std::vector<Encoding> enc;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TagInput& in = inputs[i];
    std::vector<Piece> pieces;
    if (in.words.empty()) {
      out[i].text = in.text;
      pieces = tok.pieces(in.text);
    } else {  // offsets within each word, moved to where the word sits in the joined text
      pieces = tok.word_pieces(in.words);
      std::vector<int32_t> at;
      for (const std::string& w : in.words) {
        if (!out[i].text.empty()) out[i].text += ' ';
        at.push_back(static_cast<int32_t>(unicode::decode_utf8(out[i].text).size()));
        out[i].text += w;
      }
      for (Piece& p : pieces) p.begin += at[p.word], p.end += at[p.word];
    }
    enc.push_back(tok.assemble(std::move(pieces), nullptr, max_length, true, Padding::None));
  }
  std::vector<Encoding> padded = enc;
  forward_batch(model, tok, padded);
  const int L = model.config().num_labels();
  const size_t S = padded.front().input_ids.size();
  const std::vector<float> probs = model.host_outputs();  // [B x S, L]
  const std::vector<std::string>& names = model.config().id2label;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TagPrediction& p = out[i];
    const Encoding& e = enc[i];
    const std::u32string text = unicode::decode_utf8(p.text);
    std::vector<std::pair<int32_t, int32_t>> spans;  // each word's characters
    for (size_t k = 0; k < e.input_ids.size(); ++k) {
      const int32_t w = e.word_ids[k];
      if (w < 0) continue;
      if (k > 0 && e.word_ids[k - 1] == w) {  // a later piece widens the word's span
        spans.back().second = e.offsets[k].second;
        continue;
      }
      const float* row = probs.data() + (i * S + k) * L;
      const int tag = static_cast<int>(std::max_element(row, row + L) - row);
      spans.push_back(e.offsets[k]);
      p.tags.push_back(names[tag]);
      p.scores.push_back(row[tag]);
    }
    for (const auto& [b, end] : spans)
      p.words.push_back(unicode::encode_utf8(text.substr(b, end - b)));
    p.entities = group_entities(p.text, spans, p.tags, p.scores);
  }
  return out;
}

QaAnswer predict_answer(Bert<float>& model, const BertTokenizer& tok, const QaExample& example,
                        int max_length, int doc_stride) {
  const QaFeatures f = prepare_qa_features({example}, tok, max_length, doc_stride, "input");
  std::vector<Encoding> enc;
  std::vector<size_t> windows;
  for (size_t w = 0; w < f.data.size(); ++w) {
    Encoding e;
    e.input_ids.assign(f.data.ids_of(w), f.data.ids_of(w) + f.data.length(w));
    for (int k = 0; k < f.data.length(w); ++k) e.token_type_ids.push_back(f.data.types_of(w)[k]);
    e.attention_mask.assign(e.input_ids.size(), 1);
    e.tokens.assign(e.input_ids.size(), "");
    e.offsets.assign(e.input_ids.size(), {0, 0});
    e.word_ids.assign(e.input_ids.size(), -1);
    e.sequence_ids.assign(e.input_ids.size(), -1);
    enc.push_back(std::move(e));
    windows.push_back(w);
  }
  forward_batch(model, tok, enc);
  const size_t B = enc.size(), S = enc.front().input_ids.size();
  const std::vector<float> logits = model.host_logits();  // [2, B, S]
  std::vector<std::vector<float>> starts, ends;
  for (size_t w = 0; w < B; ++w) {
    const size_t len = static_cast<size_t>(f.data.length(w));
    starts.emplace_back(logits.begin() + w * S, logits.begin() + w * S + len);
    ends.emplace_back(logits.begin() + (B + w) * S, logits.begin() + (B + w) * S + len);
  }
  return best_answer(example, f, windows, starts, ends);
}

}  // namespace bertrain
