// A model's weights as the Hub serves them, opened by name whatever the layout: the files
// transformers' from_pretrained looks for, in its order of preference.
//   model.safetensors
//   model.safetensors.index.json   + the safetensors shards its weight_map names
//   pytorch_model.bin              (torch.save zip; restricted unpickler)
//   pytorch_model.bin.index.json   + the pytorch_model-*.bin shards
// A path to one .safetensors or .bin file is read as that file alone.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/tensor_file.h"

namespace bertrain {

class CheckpointFiles {
 public:
  explicit CheckpointFiles(const std::string& model_dir_or_file);

  // What was opened, for messages: "DIR/model.safetensors", "DIR/model.safetensors.index.json
  // (2 shards)".
  const std::string& description() const { return description_; }
  // Every tensor name, in file order (shards in index order).
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // The file holding a tensor; an error names the checkpoint when it is absent.
  const TensorFile& file_of(const std::string& name) const;

 private:
  void open_path(const std::filesystem::path& p);  // a weights file or an index
  void add(std::unique_ptr<TensorFile> file);
  void open_index(const std::string& index_path);

  std::string description_;
  std::vector<std::unique_ptr<TensorFile>> files_;
  std::vector<std::string> names_;
  std::map<std::string, size_t> where_;  // name -> files_ index
};

}  // namespace bertrain
