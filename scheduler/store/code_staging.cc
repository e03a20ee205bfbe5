#include "scheduler/store/code_staging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "scheduler/store/code_digest.h"
#include "scheduler/store/files.h"

namespace flint::scheduler {
namespace {

constexpr size_t kReadChunk = 1u << 20;

}  // namespace

Result<std::unique_ptr<CodeStaging>> CodeStaging::Begin(const CodeStore& store) {
  std::string temp = detail::TempDirTemplate(store.root());
  if (::mkdtemp(temp.data()) == nullptr) {
    return ErrnoStatus("create temp dir in " + store.root(), errno);
  }
  int fd = ::open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    Status status = ErrnoStatus("open " + temp, errno);
    (void)detail::RemoveTree(temp);
    return status;
  }
  return std::unique_ptr<CodeStaging>(new CodeStaging(store, std::move(temp), fd));
}

CodeStaging::CodeStaging(const CodeStore& store, std::string temp, int dir_fd)
    : store_(store),
      temp_(std::move(temp)),
      dir_fd_(dir_fd),
      running_(std::make_unique<detail::CodeDigest>()) {}

CodeStaging::~CodeStaging() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
  // A failure here is left to RemoveStaleTemp at the next start.
  if (!done_) (void)detail::RemoveTree(temp_);
}

Status CodeStaging::EnsureParents(const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (dirs_.count(dir) != 0) continue;
    if (files_.count(dir) != 0) {
      return InvalidArgument("path '" + detail::Printable(dir) +
                             "' is both a file and a directory");
    }
    if (::mkdirat(dir_fd_, dir.c_str(), 0700) != 0) {
      return ErrnoStatus("create code directory " + detail::Printable(dir), errno);
    }
    dirs_.insert(std::move(dir));
  }
  return Status::Ok();
}

Status CodeStaging::Add(const std::string& path, std::string_view bytes) {
  FLINT_CHECK_MSG(!done_, "CodeStaging::Add after Commit");
  const CodeStore::Limits& limits = store_.limits();
  FLINT_RETURN_IF_ERROR(CodeStore::ValidatePath(path, limits));
  if (files_.count(path) != 0) {
    return InvalidArgument("path '" + detail::Printable(path) + "' is given more than once");
  }
  if (dirs_.count(path) != 0) {
    return InvalidArgument("path '" + detail::Printable(path) + "' is both a file and a directory");
  }
  if (files_.size() + 1 > limits.max_files) {
    return Status(
        Code::kPayloadTooLarge,
        "function code has more than " + std::to_string(limits.max_files) + " files, the limit");
  }
  if (total_bytes_ + bytes.size() > limits.max_total_bytes) {
    return Status(Code::kPayloadTooLarge,
                  "function code is more than " + std::to_string(limits.max_total_bytes) +
                      " bytes unpacked, the limit (at '" + detail::Printable(path) + "')");
  }
  FLINT_RETURN_IF_ERROR(EnsureParents(path));
  int fd =
      ::openat(dir_fd_, path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create code file " + detail::Printable(path), errno);
  Status status = detail::WriteAll(fd, bytes, "code file " + detail::Printable(path));
  if (status.ok() && ::fchmod(fd, 0444) != 0) {
    status = ErrnoStatus("chmod " + detail::Printable(path), errno);
  }
  ::close(fd);
  FLINT_RETURN_IF_ERROR(status);
  if (running_ != nullptr) {
    if (files_.empty() || last_path_ < path) {
      running_->BeginFile(path, bytes.size());
      running_->AddContent(bytes);
      last_path_ = path;
    } else {
      running_.reset();  // out of order: Commit reads the files back
    }
  }
  files_.emplace(path, bytes.size());
  total_bytes_ += bytes.size();
  return Status::Ok();
}

std::vector<std::string> CodeStaging::paths() const {
  std::vector<std::string> out;
  out.reserve(files_.size());
  for (const auto& [path, size] : files_) out.push_back(path);
  return out;
}

Result<std::string> CodeStaging::Read(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return NotFound("no code file " + detail::Printable(path));
  int fd = ::openat(dir_fd_, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open code file " + detail::Printable(path), errno);
  std::string bytes;
  Status status = detail::ReadAll(fd, it->second, bytes, "code file " + detail::Printable(path));
  ::close(fd);
  FLINT_RETURN_IF_ERROR(status);
  return bytes;
}

Result<std::vector<CodeFile>> CodeStaging::ReadAll() const {
  std::vector<CodeFile> out;
  out.reserve(files_.size());
  for (const auto& entry : files_) {
    FLINT_ASSIGN_OR_RETURN(std::string bytes, Read(entry.first));
    out.emplace_back(entry.first, std::move(bytes));
  }
  return out;
}

Result<std::string> CodeStaging::DigestFromDisk() const {
  detail::CodeDigest digest;
  std::string chunk(kReadChunk, '\0');
  for (const auto& [path, size] : files_) {
    int fd = ::openat(dir_fd_, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open code file " + detail::Printable(path), errno);
    digest.BeginFile(path, size);
    uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd, chunk.data(), std::min<uint64_t>(left, chunk.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        ::close(fd);
        return ErrnoStatus("read code file " + detail::Printable(path), err);
      }
      digest.AddContent(std::string_view(chunk.data(), static_cast<size_t>(n)));
      left -= static_cast<uint64_t>(n);
    }
    ::close(fd);
  }
  return digest.FinishHex();
}

Result<std::string> CodeStaging::Commit() {
  FLINT_CHECK_MSG(!done_, "CodeStaging::Commit called twice");
  if (files_.empty()) return InvalidArgument("function code has no files");
  std::string hex;
  if (running_ != nullptr) {
    hex = running_->FinishHex();
    running_.reset();
  } else {
    Result<std::string> digest = DigestFromDisk();
    if (!digest.ok()) return digest.status();
    hex = *std::move(digest);
  }
  if (store_.Has(hex)) return hex;  // the destructor removes the staged copy

  // Deepest first (a parent sorts before its children), so each directory is complete when it
  // becomes read-only; then one flush of the file system for every file and directory.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    if (::fchmodat(dir_fd_, it->c_str(), 0555, 0) != 0) {
      return ErrnoStatus("chmod code directory " + detail::Printable(*it), errno);
    }
  }
  if (::fchmod(dir_fd_, 0555) != 0) return ErrnoStatus("chmod " + temp_, errno);
  if (::syncfs(dir_fd_) != 0) return ErrnoStatus("syncfs " + temp_, errno);
  std::string final_dir = store_.DirOf(hex);
  if (::rename(temp_.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    // Another upload of the same code won the race; its directory is complete, so ours goes.
    if ((err == EEXIST || err == ENOTEMPTY) && store_.Has(hex)) return hex;
    return ErrnoStatus("rename " + temp_ + " to " + final_dir, err);
  }
  done_ = true;
  FLINT_RETURN_IF_ERROR(detail::FsyncDir(store_.root()));
  return hex;
}

}  // namespace flint::scheduler
