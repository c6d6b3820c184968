// Hugging Face model directories: config.json + model.safetensors with HF tensor names.
#pragma once

#include <cstdint>
#include <string>

#include "model/bert.h"

namespace bertrain {

// Reads every parameter by its HF name (F32/F16/BF16/F64 are converted; the legacy
// LayerNorm gamma/beta names and checkpoints without the "bert." prefix are accepted); a
// missing or mis-shaped tensor is an error naming it. Extra tensors (e.g. MLM heads) are
// ignored. A missing classifier (or pooler) is an error unless allow_new_head: then they keep
// their current values, as transformers does when it reports them "newly initialized".
template <typename T>
void load_weights(BertForSequenceClassification<T>& model, const std::string& safetensors_path,
                  bool allow_new_head = false);

// Writes DIR/config.json and DIR/model.safetensors (float32) atomically; creates DIR.
template <typename T>
void save_pretrained(const BertForSequenceClassification<T>& model, const std::string& dir);

// HF _init_weights: Linear/Embedding weights N(0, initializer_range), biases 0, LayerNorm
// weight 1 and bias 0, the padding row of the word embeddings 0.
template <typename T>
void init_weights(BertForSequenceClassification<T>& model, uint64_t seed);

// Finds the weights file of a model directory (model.safetensors).
std::string weights_path(const std::string& model_dir);

}  // namespace bertrain
