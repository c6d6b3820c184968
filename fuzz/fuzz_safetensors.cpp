// safetensors: header length, JSON header, dtypes, shapes, offsets, truncated data.
#include <cstdlib>

#include "core/error.h"
#include "fuzz_common.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bertrain::fuzz::as_file(data, size, ".safetensors");
  try {
    bertrain::SafetensorsReader reader(path);
    for (const std::string& name : reader.names()) {
      const bertrain::TensorInfo& info = reader.info(name);
      bertrain::Tensor t = reader.load(name);  // every byte of every tensor is read
      if (t.nbytes() != info.nbytes) std::abort();
    }
  } catch (const bertrain::Error&) {
  }
  return 0;
}
