// Where every parameter lives in the one flat parameter buffer, under its Hugging Face name.
// Each layer's query/key/value weights are adjacent (and so are their biases), so Q, K and V
// are one [3H, H] GEMM.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/bert_config.h"

namespace bertrain {

struct ParamSpec {
  std::string name;  // HF name, e.g. bert.encoder.layer.0.attention.self.query.weight
  Shape shape;
  size_t offset;  // in elements
  size_t numel;
  bool decay;  // HF Trainer: no weight decay for biases and LayerNorm parameters
};

struct LayerOffsets {
  size_t qkv_w, qkv_b, attn_out_w, attn_out_b, ln1_g, ln1_b;
  size_t inter_w, inter_b, out_w, out_b, ln2_g, ln2_b;
};

class ParamLayout {
 public:
  explicit ParamLayout(const BertConfig& c);

  const std::vector<ParamSpec>& params() const { return params_; }
  size_t total() const { return total_; }
  // Throws Error when the name is unknown.
  const ParamSpec& find(const std::string& name) const;

  size_t word_emb, pos_emb, type_emb, emb_ln_g, emb_ln_b;
  std::vector<LayerOffsets> layers;
  // The head's parameters, after the encoder's, by config.task. Sequence classification: the
  // pooler and classifier; token classification: classifier; question answering: qa_outputs
  // (out_w/out_b, [2, H]); masked LM: cls.predictions' transform (dense, LayerNorm) and the
  // decoder bias, the decoder weight being word_emb (tied: one tensor, two uses).
  size_t head_begin;
  size_t pooler_w = 0, pooler_b = 0;  // sequence classification
  size_t out_w = 0, out_b = 0;        // the final linear: classifier or qa_outputs
  size_t transform_w = 0, transform_b = 0, transform_ln_g = 0, transform_ln_b = 0,
         decoder_b = 0;  // masked LM

 private:
  size_t add(const std::string& name, Shape shape, bool decay);
  std::vector<ParamSpec> params_;
  size_t total_ = 0;
};

}  // namespace bertrain
