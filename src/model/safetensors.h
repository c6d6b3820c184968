// The safetensors format: 8-byte little-endian header size, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, then the raw little-endian data. Every field of a
// file read here is bounds-checked; errors name the file and the tensor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/file_io.h"
#include "core/tensor.h"
#include "model/tensor_file.h"

namespace bertrain {

struct Device;

struct TensorInfo {
  DType dtype;
  Shape shape;
  size_t offset;  // from the start of the data section
  size_t nbytes;
};

class SafetensorsReader : public TensorFile {
 public:
  explicit SafetensorsReader(const std::string& path);

  const std::string& path() const override { return file_->path(); }
  bool contains(const std::string& name) const override { return tensors_.count(name) != 0; }
  std::vector<std::string> names() const override;
  DType stored_dtype(const std::string& name) const override { return info(name).dtype; }
  Shape stored_shape(const std::string& name) const override { return info(name).shape; }
  const TensorInfo& info(const std::string& name) const;
  const unsigned char* bytes(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Copies the tensor into a new Tensor of its own dtype.
  Tensor load(const std::string& name, MemCategory category = MemCategory::Data) const;
  // Converts into dst (dst_type) after checking the shape; names the tensor when it is
  // missing or mis-shaped.
  void read_into(const std::string& name, const Shape& expected, void* dst,
                 DType dst_type) const override;

 private:
  std::unique_ptr<MappedFile> file_;
  size_t data_start_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorView {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;
  // Where data lives: null for host memory, else a device (downloaded as the tensor is
  // written, one tensor at a time, where the host cannot read it).
  const Device* device = nullptr;
};

// Writes atomically. Tensors are stored in the given order.
void save_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace bertrain
