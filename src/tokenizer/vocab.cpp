#include "tokenizer/vocab.h"

#include "core/error.h"
#include "core/file_io.h"

namespace bertrain {

void Vocab::add(std::string token, const std::string& source, size_t line) {
  if (tokens_.size() >= static_cast<size_t>(kMaxSize))
    fail(source, ":", line, ": more than ", kMaxSize, " tokens; not a vocabulary");
  int id = static_cast<int>(tokens_.size());
  auto [it, inserted] = ids_.emplace(token, id);
  if (!inserted) {
    fail(source, ":", line, ": token \"", token, "\" repeats line ", it->second + 1);
  }
  tokens_.push_back(std::move(token));
}

void Vocab::set(std::string token, int id, const std::string& source) {
  if (id < 0 || id >= kMaxSize)
    fail(source, ": token \"", token, "\" has id ", id, " out of range");
  if (static_cast<size_t>(id) >= tokens_.size()) tokens_.resize(id + 1);
  if (!tokens_[id].empty() && tokens_[id] != token)
    fail(source, ": id ", id, " is given to both \"", tokens_[id], "\" and \"", token, "\"");
  auto [it, inserted] = ids_.emplace(token, id);
  if (!inserted && it->second != id)
    fail(source, ": token \"", token, "\" has two ids (", it->second, " and ", id, ")");
  tokens_[id] = std::move(token);
}

void Vocab::finish(const std::string& source) {
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (tokens_[i].empty()) fail(source, ": the vocabulary has no token with id ", i);
  if (tokens_.empty()) fail(source, ": the vocabulary is empty");
}

int Vocab::require(std::string_view token, const std::string& source) const {
  int id = find(token);
  if (id < 0) fail(source, ": the vocabulary has no \"", token, "\" token");
  return id;
}

Vocab load_vocab_txt(const std::string& path) {
  std::string text = read_text_file(path, "vocabulary");
  Vocab v;
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string token = text.substr(pos, end - pos);
    if (!token.empty() && token.back() == '\r') token.pop_back();
    ++line;
    // HF's load_vocab strips only the trailing newline; an empty line is still a token
    // (its id is kept) but can never match a word.
    if (token.empty()) token = "\x01<empty line " + std::to_string(line) + ">";
    v.add(std::move(token), path, line);
    pos = end + 1;
  }
  v.finish(path);
  return v;
}

}  // namespace bertrain
