// The tokenizer on arbitrary bytes (invalid UTF-8 included) with the shipped bert-base
// vocabulary: every id must be in the vocabulary and the length within max_length; every
// offset a span of the text's characters with word ids that never go back; windows of the text
// (stride 4) at most max_length long, starting where the stride says, the last reaching the end.
#include <cstdlib>

#include "core/error.h"
#include "tokenizer/bert_tokenizer.h"
#include "tokenizer/unicode.h"

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
    const auto chars = static_cast<int32_t>(bertrain::unicode::decode_utf8(text).size());
    const bertrain::Encoding e = tok.encode(text, nullptr, 0, false, bertrain::Padding::None);
    int32_t last_word = -1;
    for (size_t k = 0; k < e.input_ids.size(); ++k) {
      const auto [b, end] = e.offsets[k];
      if (b < 0 || b > end || end > chars) std::abort();
      if (e.word_ids[k] >= 0) {
        if (e.word_ids[k] < last_word || e.sequence_ids[k] != 0) std::abort();
        last_word = e.word_ids[k];
      }
    }
    const std::vector<bertrain::Piece> q = tok.pieces("why?"), c = tok.pieces(text);
    const std::vector<bertrain::Encoding> windows =
        tok.windows(q, &c, 16, 4, bertrain::Padding::None);
    const size_t room = 16 - q.size() - 3;
    for (size_t w = 0; w < windows.size(); ++w) {
      const size_t n = windows[w].input_ids.size(), context = n - q.size() - 3;
      if (n > 16 || (w + 1 < windows.size() && context != room)) std::abort();
      const size_t first = w * (room - 4);  // the window's first context piece
      if (context && windows[w].offsets[q.size() + 2].first != c[first].begin) std::abort();
      if (w + 1 == windows.size() && first + context != c.size()) std::abort();
    }
  } catch (const bertrain::Error&) {
  }
  return 0;
}
