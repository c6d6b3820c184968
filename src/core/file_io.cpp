#include "core/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace bertrain {

std::string read_text_file(const std::string& path, const char* what, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open ", what, " (", std::strerror(errno), ")");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, not a ", what);
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes)
    fail(path, ": ", what, " is ", size, " bytes, more than the ", max_bytes,
         " a file of this kind may have");
  std::string text;
  if (!ec) text.reserve(static_cast<size_t>(size));
  // A pipe or a file still growing has no fixed size: read in chunks, under the same cap.
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes)
      fail(path, ": ", what, " is more than the ", max_bytes,
           " bytes a file of this kind may have");
  }
  if (in.bad()) fail(path, ": read error (", std::strerror(errno), ")");
  return text;
}

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // durability is best effort here; the rename already happened
  ::fsync(fd);
  ::close(fd);
}

namespace {

// An output stream over a file descriptor, 64 KiB at a time: std::ofstream cannot open with
// O_EXCL | O_NOFOLLOW. Remembers the first write error.
class FdOutBuf : public std::streambuf {
 public:
  explicit FdOutBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }
  int error() const { return error_; }

 protected:
  int overflow(int c) override {
    if (sync() != 0) return traits_type::eof();
    if (c != traits_type::eof()) {
      *pptr() = static_cast<char>(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    for (const char* p = pbase(); p < pptr();) {
      const ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return -1;
      }
      p += n;
    }
    setp(buf_, buf_ + sizeof buf_);
    return 0;
  }

 private:
  int fd_;
  int error_ = 0;
  char buf_[1 << 16];
};

// Creates `path` as a new file for writing; returns the descriptor, or -1 with errno set. Any
// entry already under that name is removed first (remove() removes a link itself, not its
// target), and O_EXCL | O_NOFOLLOW make sure nothing is ever written through a link.
int create_new_file(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

}  // namespace

void require_writable_directory(const std::string& dir) {
  const std::string probe = dir + "/.bertrain-write-test." + std::to_string(::getpid());
  const int fd = create_new_file(probe, 0600);
  if (fd < 0) fail(dir, ": the directory is not writable (", std::strerror(errno), ")");
  ::close(fd);
  std::error_code ec;
  std::filesystem::remove(probe, ec);
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = create_new_file(tmp, 0666);
  if (fd < 0) fail(path, ": cannot write (", std::strerror(errno), ")");
  std::error_code ec;
  int error = 0;
  try {
    FdOutBuf buf(fd);
    std::ostream out(&buf);
    write(out);
    out.flush();
    error = buf.error() ? buf.error() : (out ? 0 : EIO);
    if (!error && ::fsync(fd) != 0) error = errno;
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(tmp, ec);
    throw;
  }
  if (::close(fd) != 0 && !error) error = errno;
  if (error) {
    std::filesystem::remove(tmp, ec);
    fail(path, ": write failed (", std::strerror(error), ")");
  }
  // rename() replaces `path` itself, so a link at the final name is replaced, not followed.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::filesystem::remove(tmp, ec);
    fail(path, ": cannot rename temp file into place (", std::strerror(err), ")");
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  fsync_directory(parent.empty() ? "." : parent.string());
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(text.data(), text.size()); });
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, ": cannot open (", std::strerror(errno), ")");
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail(path, ": cannot map file (", std::strerror(errno), ")");
    }
    data_ = static_cast<const unsigned char*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace bertrain
