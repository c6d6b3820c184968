#include "model/checkpoint.h"

#include <filesystem>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "model/safetensors.h"

namespace bertrain {

namespace fs = std::filesystem;

template <typename T>
constexpr DType dtype_of() {
  return std::is_same_v<T, double> ? DType::F64 : DType::F32;
}

std::string weights_path(const std::string& model_dir) {
  fs::path p = fs::path(model_dir) / "model.safetensors";
  if (fs::exists(p)) return p.string();
  if (fs::exists(fs::path(model_dir) / "pytorch_model.bin"))
    fail(model_dir, ": has pytorch_model.bin only; bertrain reads model.safetensors");
  fail(model_dir, ": no model.safetensors found");
}

static bool is_head(const std::string& name) {
  return name.rfind("classifier.", 0) == 0;
}

template <typename T>
void load_weights(BertForSequenceClassification<T>& model, const std::string& path,
                  bool allow_new_head) {
  SafetensorsReader file(path);
  for (const ParamSpec& p : model.layout().params()) {
    if (!file.contains(p.name) && allow_new_head && is_head(p.name)) continue;
    file.read_into(p.name, p.shape, model.params() + p.offset, dtype_of<T>());
  }
}

template <typename T>
void save_pretrained(const BertForSequenceClassification<T>& model, const std::string& dir) {
  fs::create_directories(dir);
  // Checkpoints are float32 whatever T is; a float model is written without a copy.
  std::vector<float> converted;
  const float* values;
  if constexpr (std::is_same_v<T, float>) {
    values = model.params();
  } else {
    converted.assign(model.params(), model.params() + model.num_params());
    values = converted.data();
  }
  std::vector<TensorView> views;
  for (const ParamSpec& p : model.layout().params())
    views.push_back({p.name, DType::F32, p.shape, values + p.offset});
  save_safetensors((fs::path(dir) / "model.safetensors").string(), views);
  write_text_file_atomic((fs::path(dir) / "config.json").string(), config_to_json(model.config()));
}

template <typename T>
void init_weights(BertForSequenceClassification<T>& model, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, model.config().initializer_range);
  T* P = model.params();
  for (const ParamSpec& p : model.layout().params()) {
    T* w = P + p.offset;
    bool layernorm = p.name.find("LayerNorm") != std::string::npos;
    bool bias = p.name.size() >= 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
    if (layernorm && !bias)
      std::fill_n(w, p.numel, T(1));
    else if (bias)
      std::fill_n(w, p.numel, T(0));
    else
      for (size_t i = 0; i < p.numel; ++i) w[i] = static_cast<T>(normal(rng));
  }
  const BertConfig& c = model.config();
  std::fill_n(P + model.layout().word_emb + static_cast<size_t>(c.pad_token_id) * c.hidden_size,
              c.hidden_size, T(0));
}

template void load_weights<float>(BertForSequenceClassification<float>&, const std::string&, bool);
template void load_weights<double>(BertForSequenceClassification<double>&, const std::string&,
                                   bool);
template void save_pretrained<float>(const BertForSequenceClassification<float>&,
                                     const std::string&);
template void save_pretrained<double>(const BertForSequenceClassification<double>&,
                                      const std::string&);
template void init_weights<float>(BertForSequenceClassification<float>&, uint64_t);
template void init_weights<double>(BertForSequenceClassification<double>&, uint64_t);

}  // namespace bertrain
