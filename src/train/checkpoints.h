// Training checkpoints: DIR/checkpoint-<step>/ holding the model in Hugging Face format,
// the tokenizer files, the optimizer state and trainer_state.json. A checkpoint is written
// into a temporary directory, fsynced, then renamed into place, so a kill at any moment
// leaves the previous checkpoint intact and never a half-written one under the final name.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/bert.h"
#include "train/optimizer.h"

namespace bertrain {

// Files of a tokenizer that travel with a model (vocab.txt, tokenizer.json, ...).
std::vector<std::string> tokenizer_files(const std::string& tokenizer_path);

// The final model (Trainer.save_model): config.json, model.safetensors and tokenizer files
// in `dir`; each file atomically.
void save_model_dir(const Bert<float>& model, const std::string& dir,
                    const std::vector<std::string>& tokenizer_files, bool lowercase);

// AdamW's state over all the parameters, as a checkpoint holds it (gathered from the ranks'
// shards under ZeRO-1), on `device`.
struct OptimizerState {
  const float* exp_avg;
  const float* exp_avg_sq;
  size_t n;
  int64_t steps;
  const Device* device;
  static OptimizerState of(const AdamW<float>& opt) {
    return {opt.exp_avg(), opt.exp_avg_sq(), opt.state_size(), opt.steps(), &opt.device()};
  }
};

void save_checkpoint(const std::string& output_dir, int64_t step, const Bert<float>& model,
                     const OptimizerState& opt, const nlohmann::json& trainer_state,
                     const nlohmann::json& training_args,
                     const std::vector<std::string>& tokenizer_files, bool lowercase,
                     int save_total_limit, const std::string& keep = "");
// Which of the checkpoints (oldest first) a save_total_limit rotation deletes: all but the
// newest `limit`, except that `keep` (the best checkpoint) stays, taking the place of the
// oldest of them (HF's _sorted_checkpoints; a limit of 1 keeps the best and the newest).
std::vector<std::string> checkpoints_to_delete(const std::vector<std::string>& all, int limit,
                                               const std::string& keep);

// checkpoint-<N> directories of output_dir, oldest first. Symbolic links are not checkpoints:
// they are never resumed from, rotated or counted.
std::vector<std::string> list_checkpoints(const std::string& output_dir);
// Whether output_dir/checkpoint-<step> is a real directory (not a link).
bool has_checkpoint(const std::string& output_dir, int64_t step);
// "latest" or a path -> the checkpoint directory; errors say what was looked for.
std::string resolve_checkpoint(const std::string& spec, const std::string& output_dir);

// The state of opt's shard (all of it without ZeRO-1) from a checkpoint of the whole state.
void load_optimizer(const std::string& checkpoint_dir, AdamW<float>& opt);
nlohmann::json load_trainer_state(const std::string& checkpoint_dir);

}  // namespace bertrain
