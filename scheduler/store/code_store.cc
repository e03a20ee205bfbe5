#include "scheduler/store/code_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "scheduler/store/code_digest.h"
#include "scheduler/store/files.h"
#include "scheduler/store/store.h"

namespace flint::scheduler {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempPrefix = ".tmp-";
constexpr std::string_view kDigestHeader = "flint-code-v1\n";

}  // namespace

namespace detail {

CodeDigest::CodeDigest() { hasher_.Update(kDigestHeader); }

namespace {
std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}
}  // namespace

void CodeDigest::BeginFile(std::string_view path, uint64_t size) {
  hasher_.Update(BigEndian64(path.size()));
  hasher_.Update(path);
  hasher_.Update(BigEndian64(size));
}

std::string TempDirTemplate(const std::string& root) {
  return root + "/" + std::string(kTempPrefix) + std::to_string(::getpid()) + "-XXXXXX";
}

}  // namespace detail

namespace {

// Printable ASCII but the backslash: npm packages use '@' (scopes), '+', '~', '$', '[', ' '...
bool IsPathChar(char c) { return c >= 0x20 && c <= 0x7e && c != '\\'; }

// Invariant: `files` are sorted by path and validated.
std::string ComputeDigest(const std::vector<CodeFile>& files) {
  detail::CodeDigest digest;
  for (const auto& [path, bytes] : files) {
    digest.BeginFile(path, bytes.size());
    digest.AddContent(bytes);
  }
  return digest.FinishHex();
}

// The directories that must exist for `files`, parents before children ("a", "a/b").
std::vector<std::string> DirectoriesOf(const std::vector<CodeFile>& files) {
  std::set<std::string> dirs;
  for (const auto& file : files) {
    for (size_t slash = file.first.find('/'); slash != std::string::npos;
         slash = file.first.find('/', slash + 1)) {
      dirs.insert(file.first.substr(0, slash));
    }
  }
  // A parent is a prefix of its children, so byte order already puts it first.
  return std::vector<std::string>(dirs.begin(), dirs.end());
}

Status WriteFileAt(int dir_fd, const std::string& path, const std::string& bytes) {
  int fd =
      ::openat(dir_fd, path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create code file " + path, errno);
  Status status = detail::WriteAll(fd, bytes, "code file " + path);
  if (status.ok() && ::fchmod(fd, 0444) != 0) status = ErrnoStatus("chmod " + path, errno);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus("fsync " + path, errno);
  ::close(fd);
  return status;
}

// fsyncs a directory below `dir_fd` (or `dir_fd` itself for "") and makes it read-only.
Status SealDirAt(int dir_fd, const std::string& path) {
  int fd = path.empty()
               ? ::dup(dir_fd)
               : ::openat(dir_fd, path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open code directory " + path, errno);
  Status status;
  if (::fsync(fd) != 0) status = ErrnoStatus("fsync code directory " + path, errno);
  if (status.ok() && ::fchmod(fd, 0555) != 0) status = ErrnoStatus("chmod " + path, errno);
  ::close(fd);
  return status;
}

}  // namespace

Result<CodeStore> CodeStore::Open(const std::string& data_dir, Limits limits) {
  if (data_dir.empty()) return InvalidArgument("data directory must not be empty");
  FLINT_RETURN_IF_ERROR(detail::EnsureDir(data_dir, 0700));
  std::error_code ec;
  fs::path root = fs::absolute(fs::path(data_dir) / "code", ec).lexically_normal();
  if (ec) return Status(Code::kIo, "resolve " + data_dir + ": " + ec.message());
  std::string root_string = root.string();
  // lexically_normal keeps a trailing separator from a data_dir that had one.
  while (root_string.size() > 1 && root_string.back() == '/') root_string.pop_back();
  FLINT_RETURN_IF_ERROR(detail::EnsureDir(root_string, 0755));
  return CodeStore(std::move(root_string), limits);
}

Status CodeStore::ValidatePath(std::string_view path, const Limits& limits) {
  if (path.empty()) return InvalidArgument("empty path");
  if (path.size() > limits.max_path_length) {
    return InvalidArgument("path '" + detail::Printable(path) + "' is longer than " +
                           std::to_string(limits.max_path_length) + " bytes");
  }
  if (path.front() == '/') {
    return InvalidArgument("path '" + detail::Printable(path) +
                           "' must be relative, not start with '/'");
  }
  for (char c : path) {
    if (!IsPathChar(c)) {
      return InvalidArgument("path '" + detail::Printable(path) +
                             "' has a control character, a byte outside ASCII or a backslash");
    }
  }
  size_t depth = 0;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view component = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (component.empty() || component == "." || component == "..") {
      return InvalidArgument("path '" + detail::Printable(path) +
                             "' has an empty, '.' or '..' component (use plain relative paths)");
    }
    ++depth;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (depth > limits.max_depth) {
    return InvalidArgument("path '" + detail::Printable(path) + "' is deeper than " +
                           std::to_string(limits.max_depth) + " directories");
  }
  return Status::Ok();
}

Status CodeStore::Validate(std::vector<CodeFile>& files) const {
  if (files.empty()) return InvalidArgument("function code has no files");
  if (files.size() > limits_.max_files) {
    return Status(Code::kPayloadTooLarge, "function code has " + std::to_string(files.size()) +
                                              " files; the limit is " +
                                              std::to_string(limits_.max_files));
  }
  size_t total = 0;
  for (const auto& [path, bytes] : files) {
    FLINT_RETURN_IF_ERROR(ValidatePath(path, limits_));
    total += bytes.size();
  }
  if (total > limits_.max_total_bytes) {
    return Status(Code::kPayloadTooLarge, "function code is " + std::to_string(total) +
                                              " bytes; the limit is " +
                                              std::to_string(limits_.max_total_bytes));
  }
  std::sort(files.begin(), files.end(),
            [](const CodeFile& a, const CodeFile& b) { return a.first < b.first; });
  std::set<std::string_view> paths;
  for (size_t i = 0; i < files.size(); ++i) {
    if (i > 0 && files[i].first == files[i - 1].first) {
      return InvalidArgument("path '" + files[i].first + "' is given more than once");
    }
    paths.insert(files[i].first);
  }
  // A path cannot be both a file and a directory ("a" and "a/b").
  for (const std::string& dir : DirectoriesOf(files)) {
    if (paths.count(dir) != 0) {
      return InvalidArgument("path '" + dir + "' is both a file and a directory");
    }
  }
  return Status::Ok();
}

Result<std::string> CodeStore::Digest(std::vector<CodeFile> files) const {
  FLINT_RETURN_IF_ERROR(Validate(files));
  return ComputeDigest(files);
}

Result<std::string> CodeStore::Put(std::vector<CodeFile> files) const {
  FLINT_RETURN_IF_ERROR(Validate(files));
  std::string digest = ComputeDigest(files);
  // Invariant: code/<digest> only ever appears complete (by rename), so its existence suffices.
  if (Has(digest)) return digest;
  FLINT_RETURN_IF_ERROR(Write(files, digest));
  return digest;
}

Status CodeStore::Write(const std::vector<CodeFile>& files, const std::string& digest) const {
  std::string temp = detail::TempDirTemplate(root_);
  if (::mkdtemp(temp.data()) == nullptr) return ErrnoStatus("create temp dir in " + root_, errno);

  auto fail = [&](Status status) {
    // The temp directory is ours alone; if removing it fails too, RemoveStaleTemp will at the
    // next start, so the first error is the one worth reporting.
    (void)detail::RemoveTree(temp);
    return status;
  };
  int dir_fd = ::open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return fail(ErrnoStatus("open " + temp, errno));
  std::vector<std::string> dirs = DirectoriesOf(files);
  Status status;
  for (const std::string& dir : dirs) {
    if (::mkdirat(dir_fd, dir.c_str(), 0700) != 0) {
      status = ErrnoStatus("create code directory " + dir, errno);
      break;
    }
  }
  for (size_t i = 0; status.ok() && i < files.size(); ++i) {
    status = WriteFileAt(dir_fd, files[i].first, files[i].second);
  }
  // Deepest first: a directory becomes read-only only once everything inside it is complete.
  for (auto it = dirs.rbegin(); status.ok() && it != dirs.rend(); ++it) {
    status = SealDirAt(dir_fd, *it);
  }
  if (status.ok()) status = SealDirAt(dir_fd, "");
  ::close(dir_fd);
  if (!status.ok()) return fail(status);

  std::string final_dir = DirOf(digest);
  if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    // Another Put of the same code won the race; its directory is complete, so ours goes.
    if ((err == EEXIST || err == ENOTEMPTY) && Has(digest)) return fail(Status::Ok());
    return fail(ErrnoStatus("rename " + temp + " to " + final_dir, err));
  }
  return detail::FsyncDir(root_);
}

bool CodeStore::Has(const std::string& digest) const {
  if (!IsSha256Hex(digest)) return false;
  struct stat st;
  return ::lstat(DirOf(digest).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string CodeStore::DirOf(const std::string& digest) const {
  // A malformed digest could name a path outside code/ ("../x"); callers only hold digests
  // that Put or the Store produced, so this is a bug, not input.
  FLINT_CHECK_MSG(IsSha256Hex(digest), "CodeStore::DirOf needs a sha256 hex digest");
  return root_ + "/" + digest;
}

Status CodeStore::RemoveStaleTemp() const {
  std::string own_prefix = std::string(kTempPrefix) + std::to_string(::getpid()) + "-";
  std::error_code ec;
  Status first_error;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0 || name.rfind(own_prefix, 0) == 0) continue;
    Status removed = detail::RemoveTree(it->path().string());
    if (!removed.ok() && first_error.ok()) first_error = removed;
  }
  if (ec) return Status(Code::kIo, "list " + root_ + ": " + ec.message());
  return first_error;
}

}  // namespace flint::scheduler
