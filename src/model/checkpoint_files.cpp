#include "model/checkpoint_files.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "model/safetensors.h"
#include "model/torch_checkpoint.h"

namespace bertrain {

namespace fs = std::filesystem;

namespace {

bool is_bin(const fs::path& p) {
  return p.extension() == ".bin";
}

std::unique_ptr<TensorFile> open_file(const fs::path& p) {
  if (is_bin(p)) return std::make_unique<TorchCheckpoint>(p.string());
  return std::make_unique<SafetensorsReader>(p.string());
}

// A shard named by an index must be a plain file name beside it: "../x" or "/etc/x" could
// make an index read anything.
bool plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

}  // namespace

CheckpointFiles::CheckpointFiles(const std::string& model_dir_or_file) {
  const fs::path p(model_dir_or_file);
  if (!fs::is_directory(p)) {
    if (!fs::exists(p)) fail(model_dir_or_file, ": no such model directory or weights file");
    open_path(p);
    return;
  }
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"}) {
    if (fs::exists(p / name)) {
      open_path(p / name);
      return;
    }
  }
  fail(model_dir_or_file,
       ": no weights found (looked for model.safetensors, model.safetensors.index.json, "
       "pytorch_model.bin, pytorch_model.bin.index.json)");
}

void CheckpointFiles::open_path(const std::filesystem::path& p) {
  if (p.extension() == ".json") {
    open_index(p.string());
  } else {
    add(open_file(p));
    description_ = p.string();
  }
}

void CheckpointFiles::add(std::unique_ptr<TensorFile> file) {
  for (const std::string& name : file->names()) {
    if (where_.count(name))
      fail(file->path(), ": tensor \"", name, "\" is also in ", files_[where_[name]]->path());
    where_[name] = files_.size();
    names_.push_back(name);
  }
  files_.push_back(std::move(file));
}

// {"metadata": {...}, "weight_map": {"tensor name": "shard file name", ...}}: every shard is
// opened once, and each tensor must be in the shard the map names.
void CheckpointFiles::open_index(const std::string& index_path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(index_path, "checkpoint index"));
  } catch (const nlohmann::json::exception& e) {
    fail(index_path, ": not valid JSON (", e.what(), ")");
  }
  auto map = j.is_object() ? j.find("weight_map") : j.end();
  if (map == j.end() || !map->is_object() || map->empty())
    fail(index_path, ": field \"weight_map\" must map tensor names to shard files");
  std::vector<std::string> shards;
  for (auto& [name, shard] : map->items()) {
    if (!shard.is_string() || !plain_file_name(shard.get<std::string>()))
      fail(index_path, ": weight_map entry \"", name,
           "\" must name a shard file in the same directory, got ", shard.dump());
    if (std::find(shards.begin(), shards.end(), shard.get<std::string>()) == shards.end())
      shards.push_back(shard.get<std::string>());
  }
  std::sort(shards.begin(), shards.end());  // model-00001-of-00002 before model-00002-of-00002
  const fs::path dir = fs::path(index_path).parent_path();
  for (const std::string& shard : shards) {
    if (!fs::exists(dir / shard)) fail(index_path, ": shard ", shard, " is missing");
    add(open_file(dir / shard));
  }
  for (auto& [name, shard] : map->items()) {
    auto it = where_.find(name);
    if (it == where_.end() ||
        fs::path(files_[it->second]->path()).filename() != shard.get<std::string>())
      fail(index_path, ": weight_map puts tensor \"", name, "\" in ", shard.get<std::string>(),
           ", which does not hold it");
  }
  description_ = index_path + " (" + std::to_string(shards.size()) + " shards)";
}

const TensorFile& CheckpointFiles::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail(description_, ": tensor \"", name, "\" is missing");
  return *files_[it->second];
}

}  // namespace bertrain
