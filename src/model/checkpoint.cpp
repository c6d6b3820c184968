#include "model/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "model/checkpoint_files.h"
#include "model/safetensors.h"

namespace bertrain {

namespace fs = std::filesystem;

template <typename T>
constexpr DType dtype_of() {
  return std::is_same_v<T, double> ? DType::F64 : DType::F32;
}

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// A head's tensors (and the pooler, which only sequence classification has): initialised
// anew when a checkpoint of another head is loaded.
bool is_head(const std::string& name) {
  for (const char* p : {"classifier.", "bert.pooler.", "cls.predictions.", "qa_outputs."})
    if (starts_with(name, p)) return true;
  return false;
}

// BertForMaskedLM's tied names (the decoder's weight is the word embeddings, its bias
// cls.predictions.bias): a file that stores them anyway (torch.save of the state_dict) holds
// copies, which loading skips as transformers' tie_weights does.
bool is_tied_alias(const std::string& name) {
  return name == "cls.predictions.decoder.weight" || name == "cls.predictions.decoder.bias";
}

// Buffers transformers ignores without a word (non-persistent in current versions).
bool is_ignored_buffer(const std::string& name) {
  for (const char* b : {"embeddings.position_ids", "embeddings.token_type_ids"})
    if (name.size() >= std::strlen(b) &&
        name.compare(name.size() - std::strlen(b), std::string::npos, b) == 0)
      return true;
  return false;
}

// transformers' _fix_key: legacy TF-converted names say gamma/beta for LayerNorm weight/bias.
std::string fix_legacy_name(std::string name) {
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"gamma", "weight"}, {"beta", "bias"}})
    for (size_t at; (at = name.find(from)) != std::string::npos;) name.replace(at, from.size(), to);
  return name;
}

}  // namespace

template <typename T>
LoadReport load_weights(Bert<T>& model, const std::string& model_dir, bool allow_new_head,
                        bool ignore_mismatched_sizes) {
  CheckpointFiles files(model_dir);
  LoadReport report;
  report.source = files.description();
  // A checkpoint of BertModel has no "bert." prefix: its tensors load into the encoder.
  const bool prefixed = std::any_of(files.names().begin(), files.names().end(),
                                    [](const std::string& n) { return starts_with(n, "bert."); });
  std::map<std::string, std::string> by_model_name;  // model name -> file name
  const bool tied = model.config().task == Task::MaskedLM;
  report.architecture = task_architecture(model.config().task);
  for (const std::string& stored : files.names()) {
    if (is_ignored_buffer(stored) || (tied && is_tied_alias(stored))) continue;
    std::string name = fix_legacy_name(stored);
    if (!prefixed) name = "bert." + name;
    auto [it, fresh] = by_model_name.emplace(name, stored);
    if (!fresh)
      fail(report.source, ": tensors \"", it->second, "\" and \"", stored, "\" both load as \"",
           name, "\"");
  }
  std::set<std::string> dtypes;
  for (const ParamSpec& p : model.layout().params()) {
    auto it = by_model_name.find(p.name);
    if (it == by_model_name.end()) {
      if (allow_new_head && is_head(p.name)) {
        report.newly_initialized.push_back(p.name);
        continue;
      }
      fail(report.source, ": tensor \"", p.name, "\" is missing",
           prefixed ? "" : " (the checkpoint has no \"bert.\" prefix; looked for it without)");
    }
    const TensorFile& file = files.file_of(it->second);
    if (ignore_mismatched_sizes && is_head(p.name) && file.stored_shape(it->second) != p.shape) {
      report.mismatched.push_back(
          p.name + ": found shape " + shape_str(file.stored_shape(it->second)) +
          " in the checkpoint and " + shape_str(p.shape) + " in the model instantiated");
      by_model_name.erase(it);
      continue;
    }
    write_from_host(model.device(), model.params() + p.offset, p.numel,
                    [&](T* host) { file.read_into(it->second, p.shape, host, dtype_of<T>()); });
    dtypes.insert(std::string(dtype_name(file.stored_dtype(it->second))));
    if (it->second != p.name) report.renamed.push_back(it->second + " -> " + p.name);
    by_model_name.erase(it);
  }
  for (const auto& [name, stored] : by_model_name) report.unused.push_back(stored);
  report.stored_dtypes.assign(dtypes.begin(), dtypes.end());
  return report;
}

static std::string join(const std::vector<std::string>& names, size_t max_shown) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max_shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > max_shown) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

std::string describe(const LoadReport& r) {
  std::string s;
  const std::string own = dtype_name(DType::F32).data();
  if (r.stored_dtypes != std::vector<std::string>{own})
    s += "weights stored as " + join(r.stored_dtypes, 8) + ", converted to F32\n";
  if (!r.renamed.empty()) s += "legacy or prefix-less names mapped: " + join(r.renamed, 3) + "\n";
  if (!r.unused.empty())
    s += "Some weights of the model checkpoint at " + r.source +
         " were not used when initializing " + r.architecture + ": [" + join(r.unused, 8) +
         "]\n- This IS expected if you are initializing " + r.architecture +
         " from the "
         "checkpoint of a model trained on another task or with another architecture.\n";
  if (!r.newly_initialized.empty())
    s += "Some weights of " + r.architecture +
         " were not initialized from the model "
         "checkpoint at " +
         r.source + " and are newly initialized: [" + join(r.newly_initialized, 8) +
         "]\nYou should probably TRAIN this model on a down-stream task to be able to use it "
         "for predictions and inference.\n";
  if (!r.mismatched.empty()) {
    s += "Some weights of " + r.architecture +
         " were not initialized from the model checkpoint at " + r.source +
         " and are newly initialized because the shapes did not match:\n";
    for (const std::string& m : r.mismatched) s += "- " + m + "\n";
  }
  return s;
}

template <typename T>
void save_pretrained(const Bert<T>& model, const std::string& dir) {
  fs::create_directories(dir);
  // Checkpoints are float32 whatever T is; a float model is written without a copy (from a
  // device, a tensor at a time).
  std::vector<float> converted;
  const float* values;
  const Device* device = &model.device();
  if constexpr (std::is_same_v<T, float>) {
    values = model.params();
  } else {
    read_on_host(model.device(), model.params(), model.num_params(),
                 [&](const T* p) { converted.assign(p, p + model.num_params()); });
    values = converted.data();
    device = nullptr;
  }
  std::vector<TensorView> views;
  for (const ParamSpec& p : model.layout().params())
    views.push_back({p.name, DType::F32, p.shape, values + p.offset, device});
  save_safetensors((fs::path(dir) / "model.safetensors").string(), views);
  write_text_file_atomic((fs::path(dir) / "config.json").string(), config_to_json(model.config()));
}

template <typename T>
void init_weights(Bert<T>& model, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, model.config().initializer_range);
  const BertConfig& c = model.config();
  T* P = model.params();
  for (const ParamSpec& p : model.layout().params()) {
    write_from_host(model.device(), P + p.offset, p.numel, [&](T* w) {
      bool layernorm = p.name.find("LayerNorm") != std::string::npos;
      bool bias = p.name.size() >= 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
      if (layernorm && !bias)
        std::fill_n(w, p.numel, T(1));
      else if (bias)
        std::fill_n(w, p.numel, T(0));
      else
        for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<T>(normal(rng));
      if (p.offset == model.layout().word_emb)  // nn.Embedding's padding_idx row
        std::fill_n(w + static_cast<size_t>(c.pad_token_id) * c.hidden_size, c.hidden_size, T(0));
    });
  }
}

template LoadReport load_weights<float>(Bert<float>&, const std::string&, bool, bool);
template LoadReport load_weights<double>(Bert<double>&, const std::string&, bool, bool);
template void save_pretrained<float>(const Bert<float>&, const std::string&);
template void save_pretrained<double>(const Bert<double>&, const std::string&);
template void init_weights<float>(Bert<float>&, uint64_t);
template void init_weights<double>(Bert<double>&, uint64_t);

}  // namespace bertrain
