// One file of a checkpoint's named tensors, whatever its format (safetensors, torch.save's
// zip), and the check-and-widen step every format shares.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace bertrain {

class TensorFile {
 public:
  virtual ~TensorFile() = default;
  virtual const std::string& path() const = 0;
  virtual std::vector<std::string> names() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  // The stored element type and shape; an error names the tensor when it is absent.
  virtual DType stored_dtype(const std::string& name) const = 0;
  virtual Shape stored_shape(const std::string& name) const = 0;
  // Converts the tensor into dst (dst_type) after checking its shape; errors name the file and
  // the tensor.
  virtual void read_into(const std::string& name, const Shape& expected, void* dst,
                         DType dst_type) const = 0;
};

// The shared step of read_into: `src` holds numel(stored) elements of `stored`, possibly
// unaligned. Checks the shape and that floats go to floats and integers to integers, then
// converts (F16/BF16/F64 are widened or narrowed to dst_type with round-to-nearest-even).
void convert_checked(const std::string& path, const std::string& name, DType stored,
                     const Shape& stored_shape, const unsigned char* src, const Shape& expected,
                     void* dst, DType dst_type);

}  // namespace bertrain
