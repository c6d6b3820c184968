// The tokenizer on arbitrary bytes (invalid UTF-8 included) with the shipped bert-base
// vocabulary: every id must be in the vocabulary and the length within max_length.
#include <cstdlib>

#include "core/error.h"
#include "tokenizer/bert_tokenizer.h"

static const bertrain::BertTokenizer& tokenizer() {
  static const bertrain::BertTokenizer tok = bertrain::load_tokenizer(BERTRAIN_FUZZ_VOCAB);
  return tok;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bertrain::BertTokenizer& tok = tokenizer();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string pair = text.substr(text.size() / 2);
  try {
    for (int max_length : {0, 8, 64}) {
      bertrain::Encoding e = tok.encode(text, max_length ? &pair : nullptr, max_length,
                                        max_length > 0, bertrain::Padding::MaxLength);
      if (max_length && e.input_ids.size() != static_cast<size_t>(max_length)) std::abort();
      const int32_t vocab = static_cast<int32_t>(tok.vocab().size());
      for (int32_t id : e.input_ids)
        if (id < 0 || id >= vocab) std::abort();
      if (e.attention_mask.size() != e.input_ids.size()) std::abort();
    }
  } catch (const bertrain::Error&) {
  }
  return 0;
}
