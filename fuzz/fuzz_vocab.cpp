// vocab.txt and tokenizer.json (the first byte picks which), then a tokenizer built from them
// encodes a fixed sentence.
#include "core/error.h"
#include "fuzz_common.h"
#include "tokenizer/bert_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool json = data[0] & 1;
  const std::string path =
      bertrain::fuzz::as_file(data + 1, size - 1, json ? "_tokenizer.json" : "_vocab.txt");
  try {
    bertrain::BertTokenizer tok = bertrain::load_tokenizer(path);
    tok.encode("Hello, world! Ünïcödé 汉字 text.", nullptr, 16, true, bertrain::Padding::MaxLength);
  } catch (const bertrain::Error&) {
  }
  return 0;
}
