#include "model/param_layout.h"

#include "core/error.h"

namespace bertrain {

size_t ParamLayout::add(const std::string& name, Shape shape, bool decay) {
  size_t n = static_cast<size_t>(shape_numel(shape));
  params_.push_back({name, std::move(shape), total_, n, decay});
  total_ += n;
  return params_.back().offset;
}

ParamLayout::ParamLayout(const BertConfig& c) {
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const std::string e = "bert.embeddings.";
  word_emb = add(e + "word_embeddings.weight", {c.vocab_size, H}, true);
  pos_emb = add(e + "position_embeddings.weight", {c.max_position_embeddings, H}, true);
  type_emb = add(e + "token_type_embeddings.weight", {c.type_vocab_size, H}, true);
  emb_ln_g = add(e + "LayerNorm.weight", {H}, false);
  emb_ln_b = add(e + "LayerNorm.bias", {H}, false);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    LayerOffsets o;
    o.qkv_w = add(p + "attention.self.query.weight", {H, H}, true);
    add(p + "attention.self.key.weight", {H, H}, true);
    add(p + "attention.self.value.weight", {H, H}, true);
    o.qkv_b = add(p + "attention.self.query.bias", {H}, false);
    add(p + "attention.self.key.bias", {H}, false);
    add(p + "attention.self.value.bias", {H}, false);
    o.attn_out_w = add(p + "attention.output.dense.weight", {H, H}, true);
    o.attn_out_b = add(p + "attention.output.dense.bias", {H}, false);
    o.ln1_g = add(p + "attention.output.LayerNorm.weight", {H}, false);
    o.ln1_b = add(p + "attention.output.LayerNorm.bias", {H}, false);
    o.inter_w = add(p + "intermediate.dense.weight", {I, H}, true);
    o.inter_b = add(p + "intermediate.dense.bias", {I}, false);
    o.out_w = add(p + "output.dense.weight", {H, I}, true);
    o.out_b = add(p + "output.dense.bias", {H}, false);
    o.ln2_g = add(p + "output.LayerNorm.weight", {H}, false);
    o.ln2_b = add(p + "output.LayerNorm.bias", {H}, false);
    layers.push_back(o);
  }
  head_begin = total_;
  switch (c.task) {
    case Task::SequenceClassification:
      pooler_w = add("bert.pooler.dense.weight", {H, H}, true);
      pooler_b = add("bert.pooler.dense.bias", {H}, false);
      [[fallthrough]];
    case Task::TokenClassification:
      out_w = add("classifier.weight", {c.num_labels(), H}, true);
      out_b = add("classifier.bias", {c.num_labels()}, false);
      break;
    case Task::QuestionAnswering:
      out_w = add("qa_outputs.weight", {2, H}, true);
      out_b = add("qa_outputs.bias", {2}, false);
      break;
    case Task::MaskedLM: {
      const std::string t = "cls.predictions.transform.";
      transform_w = add(t + "dense.weight", {H, H}, true);
      transform_b = add(t + "dense.bias", {H}, false);
      transform_ln_g = add(t + "LayerNorm.weight", {H}, false);
      transform_ln_b = add(t + "LayerNorm.bias", {H}, false);
      decoder_b = add("cls.predictions.bias", {c.vocab_size}, false);
      break;
    }
  }
}

const ParamSpec& ParamLayout::find(const std::string& name) const {
  for (const ParamSpec& p : params_)
    if (p.name == name) return p;
  fail("unknown parameter \"", name, "\"");
}

}  // namespace bertrain
