// The pickle inside a pytorch_model.bin (torch.save's zip format, torch >= 1.6), read by a
// restricted unpickler that builds no Python objects and calls nothing. It accepts only what
// torch.save writes for a state dict: a dict or collections.OrderedDict of names to tensors
// made by torch._utils._rebuild_tensor_v2 over persistent-id storage records
// ('storage', torch.<Type>Storage, key, location, numel). Any other global, or REDUCE on
// anything but those two callables, is refused with an error naming it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace bertrain {

struct TorchTensorRecord {
  std::string name;
  DType dtype;              // from the storage type
  std::string storage_key;  // the storage's file is <archive>/data/<storage_key>
  int64_t storage_numel;    // elements of the storage, from its persistent id
  int64_t offset;           // first element of the tensor in its storage
  Shape shape;
  std::vector<int64_t> stride;
};

// Every tensor of the state dict, in the pickle's order. `source` names the file in errors.
std::vector<TorchTensorRecord> read_torch_state_dict(std::span<const unsigned char> pickle,
                                                     const std::string& source);

}  // namespace bertrain
