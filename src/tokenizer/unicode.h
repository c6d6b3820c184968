// The Unicode facts BERT's BasicTokenizer needs, from utf8proc (Unicode 15.0), and UTF-8
// decoding that never fails: invalid bytes become U+FFFD, which the tokenizer then drops,
// as Python would after decoding with errors="replace".
#pragma once

#include <string>
#include <string_view>

namespace bertrain::unicode {

std::u32string decode_utf8(std::string_view bytes);
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t c);

// Python str.lower() of one character (full mapping: U+0130 becomes "i" + U+0307).
void append_lower(std::u32string& out, char32_t c);
std::u32string nfc(const std::u32string& text);
std::u32string nfd(const std::u32string& text);

// Category starts with "C" (Cc, Cf, Co, Cs, Cn).
bool is_control_category(char32_t c);
// BERT's whitespace: space, \t, \n, \r, or category Zs.
bool is_bert_whitespace(char32_t c);
// Python str.split() separators that survive BERT's cleaning step.
bool is_python_whitespace(char32_t c);
// ASCII 33-47, 58-64, 91-96, 123-126, or any P* category.
bool is_punctuation(char32_t c);
// The CJK Unified Ideograph blocks BERT puts spaces around.
bool is_cjk(char32_t c);
// Python's str.isalnum() (letters L* and numbers N*): what \w matches, with '_'.
bool is_alnum(char32_t c);
// Python's str.split() separators: ASCII whitespace, \x1c-\x1f, \x85, Zs, U+2028, U+2029.
bool is_python_space(char32_t c);
// Canonical combining class 0: NFC composes nothing across the start of such a character
// (but for Hangul jamo, which nfc() of the longer text handles).
bool is_starter(char32_t c);
// Category Mn (nonspacing mark): what strip_accents removes after NFD.
bool is_nonspacing_mark(char32_t c);

}  // namespace bertrain::unicode
