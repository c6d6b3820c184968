// pytorch_model.bin as torch.save writes it since torch 1.6: a zip archive holding
// <archive>/data.pkl (the state dict's pickle, read by the restricted unpickler of
// torch_pickle.h) and one <archive>/data/<key> entry of raw little-endian bytes per storage.
// The legacy pre-1.6 format (a bare pickle stream) is refused with an error saying how to
// convert it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/tensor_file.h"
#include "model/torch_pickle.h"

struct zip;  // libzip's archive handle

namespace bertrain {

class TorchCheckpoint : public TensorFile {
 public:
  explicit TorchCheckpoint(const std::string& path);

  const std::string& path() const override { return path_; }
  std::vector<std::string> names() const override;
  bool contains(const std::string& name) const override { return tensors_.count(name) != 0; }
  DType stored_dtype(const std::string& name) const override { return record(name).dtype; }
  Shape stored_shape(const std::string& name) const override { return record(name).shape; }
  void read_into(const std::string& name, const Shape& expected, void* dst,
                 DType dst_type) const override;

 private:
  const TorchTensorRecord& record(const std::string& name) const;
  std::vector<unsigned char> read_entry(int64_t index, const std::string& what) const;

  std::string path_;
  // Closed however the constructor ends: an archive refused halfway must not leak.
  struct Discard {
    void operator()(::zip* z) const;
  };
  std::unique_ptr<::zip, Discard> zip_;
  std::map<std::string, TorchTensorRecord> tensors_;
  std::vector<std::string> order_;                // the pickle's order
  std::map<std::string, int64_t> storage_entry_;  // storage key -> zip entry index
};

}  // namespace bertrain
