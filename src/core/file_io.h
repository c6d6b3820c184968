// Whole-file reads and crash-safe writes (temp file, fsync, rename, fsync directory), so a
// kill at any moment leaves either the old file or the new one, never half of one.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace bertrain {

std::string read_text_file(const std::string& path, const char* what = "file");
// Calls write(out) on a temp file next to `path`, then atomically replaces `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_text_file_atomic(const std::string& path, const std::string& text);

// A read-only memory map of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace bertrain
