// config.json: types, ranges, label maps, absurd sizes.
#include "core/error.h"
#include "model/bert_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    bertrain::BertConfig c =
        bertrain::parse_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    bertrain::parse_config(bertrain::config_to_json(c), "round trip");  // what we write reads back
  } catch (const bertrain::Error&) {
  }
  return 0;
}
