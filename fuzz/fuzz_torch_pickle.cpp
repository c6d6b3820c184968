// The restricted unpickler of pytorch_model.bin (data.pkl): every opcode sequence must end in
// a state dict or a bertrain::Error, never a crash, a hang, a leak or a call.
#include "core/error.h"
#include "fuzz_common.h"
#include "model/torch_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    bertrain::read_torch_state_dict({data, size}, "fuzz.bin");
  } catch (const bertrain::Error&) {
  }
  return 0;
}
