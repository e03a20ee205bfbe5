#include "scheduler/store/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace flint::scheduler::detail {

namespace fs = std::filesystem;

Status EnsureDir(const std::string& dir, mode_t mode) {
  if (dir.empty()) return InvalidArgument("directory path must not be empty");
  if (::mkdir(dir.c_str(), mode) == 0) return Status::Ok();
  if (errno == ENOENT) {
    std::error_code ec;
    fs::create_directories(fs::path(dir).parent_path(), ec);
    if (ec) return Status(Code::kIo, "create directory " + dir + ": " + ec.message());
    if (::mkdir(dir.c_str(), mode) == 0) return Status::Ok();
  }
  if (errno != EEXIST) return ErrnoStatus("create directory " + dir, errno);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status(Code::kIo, dir + " exists and is not a directory");
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + what, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status ReadAll(int fd, size_t max_bytes, std::string& out, const std::string& what) {
  out.clear();
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read " + what, errno);
    }
    if (n == 0) return Status::Ok();
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status(Code::kIo,
                    "read " + what + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync " + dir, err);
  return Status::Ok();
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::file_status top = fs::symlink_status(path, ec);
  if (ec || !fs::exists(top)) return Status::Ok();
  if (fs::is_directory(top)) {
    // Entries of a read-only directory cannot be unlinked (except by root), so every directory
    // is made writable first. 0555 directories are readable, so walking them works.
    ::chmod(path.c_str(), 0700);
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
  }
  fs::remove_all(path, ec);
  if (ec) return Status(Code::kIo, "remove " + path + ": " + ec.message());
  return Status::Ok();
}

std::string Printable(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string out(text.substr(0, kMax));
  for (char& c : out) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f || c == '\'' || c == '\\') c = '?';
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace flint::scheduler::detail
