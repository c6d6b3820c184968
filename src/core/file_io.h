// Whole-file reads and crash-safe writes (temp file, fsync, rename, fsync directory), so a
// kill at any moment leaves either the old file or the new one, never half of one.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace bertrain {

// Files read whole (configs, vocabularies, JSON state) are small; a larger one is refused
// before anything is allocated for it. Datasets are mapped instead (MappedFile).
constexpr size_t kMaxTextFileBytes = size_t{1} << 30;

std::string read_text_file(const std::string& path, const char* what = "file",
                           size_t max_bytes = kMaxTextFileBytes);
// Calls write(out) on a temp file next to `path`, then atomically replaces `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_text_file_atomic(const std::string& path, const std::string& text);
// Makes a rename or a new entry in `dir` durable.
void fsync_directory(const std::string& dir);
// Fails, naming `dir`, unless a new file can be created in it.
void require_writable_directory(const std::string& dir);

// A read-only memory map of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const unsigned char* data() const { return data_; }
  std::string_view text() const { return {reinterpret_cast<const char*>(data_), size_}; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace bertrain
