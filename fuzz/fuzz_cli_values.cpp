// The values people type: sizes (--memory_limit), sweep grids, padding names.
#include "core/error.h"
#include "sweep/grid.h"
#include "tokenizer/bert_tokenizer.h"
#include "train/training_args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    bertrain::parse_size(text);
  } catch (const bertrain::Error&) {
  }
  try {
    for (const bertrain::GridPoint& p : bertrain::expand_grid(bertrain::parse_grid(text)))
      bertrain::train_flags(p);
  } catch (const bertrain::Error&) {
  }
  try {
    bertrain::parse_padding(text);
  } catch (const bertrain::Error&) {
  }
  return 0;
}
