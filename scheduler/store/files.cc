#include "scheduler/store/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
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

Result<std::string> ReadOwnerOnlyFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    if (errno == ELOOP) return Status(Code::kIo, path + " is a symbolic link; refusing to use it");
    return ErrnoStatus("open " + path, errno);
  }
  struct stat st;
  std::string text;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = ErrnoStatus("stat " + path, errno);
  } else if (!S_ISREG(st.st_mode)) {
    status = Status(Code::kIo, path + " is not a regular file");
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = Status(Code::kIo,
                    path + " has mode " + mode + ", open to other users; run: chmod 600 " + path);
  } else {
    status = ReadAll(fd, max_bytes, text, path);
  }
  ::close(fd);
  if (!status.ok()) return status;
  return text;
}

Status CreateOwnerOnlyFile(const std::string& dir, const std::string& path,
                           std::string_view contents) {
  std::string temp = path + ".tmp";
  // A temp file left by a crash holds contents never used; unlink removes a link itself, never
  // what a symlink points to.
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("remove " + temp, errno);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create " + temp, errno);
  // The umask can only remove bits from 0600; fchmod makes the mode exact regardless.
  Status status;
  if (::fchmod(fd, 0600) != 0) status = ErrnoStatus("chmod " + temp, errno);
  if (status.ok()) status = WriteAll(fd, contents, temp);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus("fsync " + temp, errno);
  ::close(fd);
  if (status.ok() && ::link(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("link " + temp + " to " + path, errno);
  }
  ::unlink(temp.c_str());
  if (!status.ok()) return status;
  return FsyncDir(dir);
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
