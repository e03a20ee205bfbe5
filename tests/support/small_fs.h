// SmallFs: a tmpfs of a fixed size mounted on a directory a test owns, for faults of the file
// system (nearly full at start, full while running, read-only). Root only: construct it after
// FLINT_SKIP_UNLESS_ROOT. The mount is private to the test's directory and detached (MNT_DETACH)
// on destruction, so it goes even while a process still has files open on it; the directory
// itself is left for its owner to remove. Fill() takes the free space with one file so that the
// test can give it back (Unfill) to see the recovery. Not thread-safe; one per directory.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace flint::testing {

class SmallFs {
 public:
  // Creates `dir` if needed and mounts a tmpfs of `bytes` on it; error() says why not.
  SmallFs(std::string dir, uint64_t bytes) : dir_(std::move(dir)) {
    ::mkdir(dir_.c_str(), 0755);
    std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("flint-test", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      error_ = "mount tmpfs on " + dir_ + ": " + std::strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~SmallFs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;

  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }

  uint64_t FreeBytes() const {
    struct statvfs fs;
    if (::statvfs(dir_.c_str(), &fs) != 0) return 0;
    return uint64_t{fs.f_bavail} * fs.f_frsize;
  }

  // Writes one file (<dir>/.fill) until the file system is full; true when it is.
  bool Fill() {
    int fd = ::open(FillPath().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::vector<char> block(1 << 16, 'x');
    int err = 0;
    for (;;) {
      ssize_t n = ::write(fd, block.data(), block.size());
      if (n < 0) {
        err = errno;
        if (err == EINTR) continue;
        break;
      }
    }
    ::close(fd);
    return err == ENOSPC;
  }
  // Removes the file Fill() wrote.
  void Unfill() { ::unlink(FillPath().c_str()); }

  // Remounts read-only (true) or read-write (false).
  bool SetReadOnly(bool read_only) {
    unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0);
    return ::mount("flint-test", dir_.c_str(), "tmpfs", flags, nullptr) == 0;
  }

 private:
  std::string FillPath() const { return dir_ + "/.fill"; }

  std::string dir_;
  std::string error_;
  bool mounted_ = false;
};

}  // namespace flint::testing
