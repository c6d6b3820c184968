// Hugging Face model directories: config.json + weights with HF tensor names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/bert.h"

namespace bertrain {

// What loading did, in transformers' terms, so the caller can print it.
struct LoadReport {
  std::string source;                          // the checkpoint opened (CheckpointFiles)
  std::vector<std::string> stored_dtypes;      // e.g. {"BF16"}: widened to the model's type
  std::vector<std::string> renamed;            // "file name -> model name"
  std::vector<std::string> unused;             // tensors of other heads, ignored
  std::vector<std::string> newly_initialized;  // head tensors absent from the file
  // Head tensors whose stored shape differs (another head, or another label count), newly
  // initialized under ignore_mismatched_sizes: "name: found shape [..] ... and [..] ...".
  std::vector<std::string> mismatched;
  std::string architecture = "BertForSequenceClassification";  // the model loaded into
};

// Reads every parameter from a model directory (or one weights file) in any shape
// CheckpointFiles opens, as transformers' from_pretrained maps names:
//  - legacy LayerNorm names ("gamma" -> "weight", "beta" -> "bias");
//  - a checkpoint without the "bert." prefix (saved from BertModel) loads into the encoder;
//  - the position_ids / token_type_ids buffers are ignored, other tensors (MLM, NSP or other
//    heads) are reported as unused;
//  - stored F16/BF16/F64 are converted to T.
// A missing or mis-shaped encoder tensor is an error naming it. A missing pooler or classifier
// is an error unless allow_new_head: then they keep their current values (the caller's
// init_weights, as transformers "newly initializes" them) and are reported.
template <typename T>
// With ignore_mismatched_sizes (from_pretrained's flag) a head tensor stored with another shape
// (another label count, another head) is newly initialized too instead of an error.
LoadReport load_weights(Bert<T>& model, const std::string& model_dir, bool allow_new_head = false,
                        bool ignore_mismatched_sizes = false);

// transformers' warning block for a report, or "" when everything was a plain match.
std::string describe(const LoadReport& report);

// Writes DIR/config.json and DIR/model.safetensors (float32) atomically; creates DIR.
template <typename T>
void save_pretrained(const Bert<T>& model, const std::string& dir);

// HF _init_weights: Linear/Embedding weights N(0, initializer_range), biases 0, LayerNorm
// weight 1 and bias 0, the padding row of the word embeddings 0.
template <typename T>
void init_weights(Bert<T>& model, uint64_t seed);

}  // namespace bertrain
