#include "scheduler/store/admin_token.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "scheduler/store/files.h"
#include "scheduler/store/sha256.h"

namespace flint::scheduler {
namespace {

constexpr size_t kTokenRandomBytes = 32;
constexpr size_t kMaxTokenFileBytes = 4096;

// Reads an existing token file. NotFound if it does not exist.
Result<std::string> ReadTokenFile(const std::string& path) {
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
    status = detail::ReadAll(fd, kMaxTokenFileBytes, text, path);
  }
  ::close(fd);
  if (!status.ok()) return status;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!IsWellFormedToken(text)) {
    return Status(Code::kIo, path +
                                 " does not hold a Flint token (flint_ and 64 hex characters); "
                                 "remove it to have a new one made");
  }
  return text;
}

// Creates the token file atomically: temp file (0600, O_EXCL|O_NOFOLLOW), fsync, link. link
// fails with EEXIST instead of replacing a file another process made meanwhile.
Result<std::string> CreateTokenFile(const std::string& data_dir, const std::string& path) {
  FLINT_ASSIGN_OR_RETURN(std::string token, NewToken());
  std::string temp = path + ".tmp";
  // A temp file left by a crash holds a token never recorded anywhere; unlink removes a link
  // itself, never what a symlink points to.
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("remove " + temp, errno);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create " + temp, errno);
  // The umask can only remove bits from 0600; fchmod makes the mode exact regardless.
  Status status;
  if (::fchmod(fd, 0600) != 0) status = ErrnoStatus("chmod " + temp, errno);
  if (status.ok()) status = detail::WriteAll(fd, token + "\n", temp);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus("fsync " + temp, errno);
  ::close(fd);
  if (status.ok() && ::link(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("link " + temp + " to " + path, errno);
  }
  ::unlink(temp.c_str());
  if (!status.ok()) return status;
  FLINT_RETURN_IF_ERROR(detail::FsyncDir(data_dir));
  return token;
}

}  // namespace

bool IsWellFormedToken(std::string_view token) {
  std::string_view prefix = kTokenPrefix;
  return token.size() == prefix.size() + 2 * kTokenRandomBytes && token.starts_with(prefix) &&
         IsSha256Hex(token.substr(prefix.size()));
}

Result<std::string> NewToken() {
  unsigned char random[kTokenRandomBytes];
  size_t filled = 0;
  while (filled < sizeof random) {
    ssize_t n = ::getrandom(random + filled, sizeof random - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("getrandom", errno);
    }
    filled += static_cast<size_t>(n);
  }
  return std::string(kTokenPrefix) +
         detail::HexEncode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

Result<std::string> EnsureAdminToken(const std::string& data_dir, Store& store) {
  FLINT_RETURN_IF_ERROR(detail::EnsureDir(data_dir, 0700));
  std::string path = data_dir + "/" + kAdminTokenFile;
  Result<std::string> token = ReadTokenFile(path);
  if (!token.ok() && token.status().code() == Code::kNotFound) {
    token = CreateTokenFile(data_dir, path);
  }
  if (!token.ok()) return token.status();
  // Recorded on every start: the file may exist from a run that crashed before recording it.
  FLINT_RETURN_IF_ERROR(store.PutTokenHash(kAdminTokenName, Sha256Hex(*token)));
  return token;
}

}  // namespace flint::scheduler
