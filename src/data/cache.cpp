#include "data/cache.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace bertrain {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'B', 'T', 'R', 'N', 'D', 'S', '0', '1'};

struct Header {
  char magic[8];
  uint64_t key, n, total_tokens, num_labels, label_bytes, skipped, checksum;
};
static_assert(sizeof(Header) == 64);

size_t align8(size_t n) {
  return (n + 7) / 8 * 8;
}

size_t payload_size(const Header& h) {
  return (h.n + 1) * 8 + h.n * 8 + h.total_tokens * 4 + h.n * 4 + align8(h.total_tokens) +
         h.label_bytes;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 31);
}

uint64_t hash_string(uint64_t h, const std::string& s) {
  return hash_bytes(s.data(), s.size(), mix(h, s.size()));
}

uint64_t tokenizer_key(const BertTokenizer& tok) {
  uint64_t h = 0x746f6b656e697a65ull;
  for (size_t i = 0; i < tok.vocab().size(); ++i)
    h = hash_string(h, tok.vocab().token(static_cast<int>(i)));
  const TokenizerOptions& o = tok.options();
  h = mix(h, o.lowercase);
  h = mix(h, o.strip_accents.has_value() ? 1 + *o.strip_accents : 0);
  h = mix(h, o.tokenize_chinese_chars);
  h = mix(h, static_cast<uint64_t>(o.max_input_chars_per_word));
  for (const std::string* s : {&o.unk, &o.cls, &o.sep, &o.pad, &o.mask, &o.continuing_prefix})
    h = hash_string(h, *s);
  return h;
}

uint64_t cache_key(std::string_view file_bytes, const ReaderOptions& r, const BertTokenizer& tok,
                   int max_length) {
  uint64_t h = hash_bytes(file_bytes.data(), file_bytes.size(), 1);
  h = mix(h, tokenizer_key(tok));
  h = mix(h, static_cast<uint64_t>(max_length));
  for (const std::string* s : {&r.format, &r.text_column, &r.text_pair_column, &r.label_column})
    h = hash_string(h, *s);
  h = mix(h, r.has_header.has_value() ? 1 + *r.has_header : 0);
  h = mix(h, static_cast<uint64_t>(r.bad_rows));
  h = mix(h, r.max_row_bytes);
  return h;
}

void write_cache(const std::string& path, uint64_t key, const TokenizedDataset& d, size_t skipped) {
  std::string labels;
  for (const std::string& l : d.label_strings) labels += l + '\0';
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.key = key;
  h.n = d.size();
  h.total_tokens = d.total_tokens();
  h.num_labels = d.label_strings.size();
  h.label_bytes = labels.size();
  h.skipped = skipped;
  std::string payload;
  payload.reserve(payload_size(h));
  auto put = [&](const void* p, size_t n) { payload.append(static_cast<const char*>(p), n); };
  put(d.offsets.data(), d.offsets.size_bytes());
  put(d.lines.data(), d.lines.size_bytes());
  put(d.ids.data(), d.ids.size_bytes());
  put(d.label_index.data(), d.label_index.size_bytes());
  put(d.types.data(), d.types.size_bytes());
  payload.append(align8(h.total_tokens) - h.total_tokens, '\0');
  payload += labels;
  h.checksum = hash_bytes(payload.data(), payload.size(), key);
  fs::create_directories(fs::path(path).parent_path());
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  });
}

// Returns an empty reason and fills `d` when the file is usable; otherwise why not.
std::string read_cache(const std::string& path, uint64_t key, TokenizedDataset& d,
                       size_t* skipped) {
  auto file = std::make_shared<MappedFile>(path);
  if (file->size() < sizeof(Header)) return "file too short";
  Header h;
  std::memcpy(&h, file->data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0)
    return "not a bertrain cache file (or an older version)";
  if (h.key != key) return "made from another file, tokenizer or setting";
  if (h.n > (1ull << 40) || h.total_tokens > (1ull << 40) || h.label_bytes > (1ull << 30) ||
      file->size() != sizeof(Header) + payload_size(h))
    return "size does not match its header (truncated?)";
  const unsigned char* p = file->data() + sizeof(Header);
  if (hash_bytes(p, payload_size(h), key) != h.checksum) return "checksum mismatch (corrupt)";
  auto take = [&](size_t bytes) {
    const unsigned char* q = p;
    p += bytes;
    return q;
  };
  d.offsets = {reinterpret_cast<const int64_t*>(take((h.n + 1) * 8)), h.n + 1};
  d.lines = {reinterpret_cast<const int64_t*>(take(h.n * 8)), h.n};
  d.ids = {reinterpret_cast<const int32_t*>(take(h.total_tokens * 4)), h.total_tokens};
  d.label_index = {reinterpret_cast<const int32_t*>(take(h.n * 4)), h.n};
  d.types = {reinterpret_cast<const uint8_t*>(take(align8(h.total_tokens))), h.total_tokens};
  const char* labels = reinterpret_cast<const char*>(take(h.label_bytes));
  d.label_strings.clear();
  for (size_t pos = 0; pos < h.label_bytes;) {
    size_t len = strnlen(labels + pos, h.label_bytes - pos);
    d.label_strings.emplace_back(labels + pos, len);
    pos += len + 1;
  }
  if (d.label_strings.size() != h.num_labels) return "label table is inconsistent";
  if (d.offsets[0] != 0 || d.offsets[h.n] != static_cast<int64_t>(h.total_tokens))
    return "offsets are inconsistent";
  for (size_t i = 0; i < h.n; ++i) {
    if (d.offsets[i + 1] < d.offsets[i]) return "offsets are inconsistent";
    if (d.label_index[i] < -1 || d.label_index[i] >= static_cast<int32_t>(h.num_labels))
      return "a label index is out of range";
  }
  d.mapping = std::move(file);
  *skipped = h.skipped;
  return "";
}

}  // namespace

uint64_t hash_bytes(const void* data, size_t n, uint64_t seed) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = mix(seed, n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    h = mix(h, v);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, n - i);
  return mix(h, tail);
}

std::string default_cache_dir() {
  if (const char* d = std::getenv("BERTRAIN_CACHE")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return std::string(x) + "/bertrain";
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.cache/bertrain";
  return ".bertrain-cache";
}

std::string resolve_cache_dir(const std::string& spec) {
  if (spec == "none") return "";
  return spec.empty() ? default_cache_dir() : spec;
}

TokenizedDataset load_dataset(const std::string& path, const ReaderOptions& reader,
                              const BertTokenizer& tok, int max_length,
                              const std::string& cache_dir, CacheInfo* info) {
  CacheInfo local;
  CacheInfo& ci = info ? *info : local;
  MappedFile file(path);
  const std::string_view bytes = file.text();
  std::string cache_path;
  uint64_t key = 0;
  if (!cache_dir.empty()) {
    key = cache_key(bytes, reader, tok, max_length);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
    cache_path =
        (fs::path(cache_dir) / (fs::path(path).filename().string() + "." + hex + ".btds")).string();
    ci.path = cache_path;
    if (fs::exists(cache_path)) {
      TokenizedDataset d;
      d.source = path;
      std::string why = read_cache(cache_path, key, d, &ci.skipped_rows);
      if (why.empty()) {
        ci.hit = true;
        return d;
      }
      ci.rebuilt_because = why;
    }
  }
  ReadResult rows = parse_examples(path, bytes, reader);
  ci.skipped_rows = rows.skipped;
  TokenizedDataset d = tokenize_examples(rows.examples, tok, max_length, path);
  if (!cache_path.empty()) write_cache(cache_path, key, d, rows.skipped);
  return d;
}

}  // namespace bertrain
