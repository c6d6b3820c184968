#include "core/tensor.h"

#include <sstream>

namespace bertrain {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

Tensor::Tensor(DType dtype, Shape shape, MemCategory category, std::string_view what,
               Allocator& allocator)
    : dtype_(dtype),
      shape_(std::move(shape)),
      storage_(static_cast<size_t>(shape_numel(shape_)) * dtype_size(dtype), category, what,
               allocator) {}

Tensor Tensor::to(DType dtype, MemCategory category) const {
  Tensor out(dtype, shape_, category, "dtype conversion");
  convert(raw(), dtype_, out.raw(), dtype, static_cast<size_t>(numel()));
  return out;
}

}  // namespace bertrain
