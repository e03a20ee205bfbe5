// CodeStore: function code, content-addressed and immutable, under <data_dir>/code/.
//
// Layout: code/<digest>/<relative paths...>, files mode 0444, directories 0555. A code directory
// appears only complete: Put writes into code/.tmp-<pid>-XXXXXX, fsyncs every file and directory,
// then renames it to code/<digest>, so a crash leaves at most a temp directory, which
// RemoveStaleTemp deletes at the next start. Nothing ever modifies a code directory afterwards.
//
// Digest (format version 1): lowercase hex SHA-256 of
//     "flint-code-v1\n"
//     then for each file, in ascending byte order of path:
//       u64 big-endian length of path, path bytes, u64 big-endian length of content, content
// The same set of files always gives the same digest, whatever order they are given in; the
// length prefixes make the encoding unambiguous.
//
// Thread-safe: a CodeStore is an immutable value (a root path and limits) and every method may
// run on any thread at once. Concurrent Puts of the same code both succeed: the rename is atomic
// and the loser removes its own temp directory. Methods do blocking disk I/O (not for an event
// loop thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler {

// A file of function code: (relative path, bytes).
using CodeFile = std::pair<std::string, std::string>;

// The defaults follow AWS Lambda's deployment package limit (250 MB unzipped, here 250 MiB)
// and leave room for a node_modules/ folder's many files and deep paths.
struct CodeStoreLimits {
  size_t max_files = 50'000;
  size_t max_total_bytes = 250u << 20;  // sum of file contents
  size_t max_path_length = 1024;        // bytes of one relative path
  size_t max_depth = 32;                // components of one path ("a/b/c" is 3)
};

class CodeStore {
 public:
  using Limits = CodeStoreLimits;

  // Creates <data_dir>/code if needed (and data_dir, mode 0700).
  static Result<CodeStore> Open(const std::string& data_dir, Limits limits = {});

  // Validates the files (see ValidatePath; no duplicates; at least one file; the limits, where
  // too many files or bytes is PayloadTooLarge), computes the digest and writes the code unless
  // already present. Returns the digest.
  Result<std::string> Put(std::vector<CodeFile> files) const;
  // True if code/<digest> exists (a well-formed digest whose code was Put).
  bool Has(const std::string& digest) const;
  // Absolute path of code/<digest>. `digest` must be a sha256 hex digest (IsSha256Hex in
  // store.h) — callers pass digests from Put or the Store; anything else is a bug.
  std::string DirOf(const std::string& digest) const;
  // Removes temp directories left by a crashed process (not this process's own, so it is safe
  // to call while Puts run). Call at startup.
  Status RemoveStaleTemp() const;

  // The digest Put would return for `files`, without writing anything. Same validation as Put.
  Result<std::string> Digest(std::vector<CodeFile> files) const;
  // A path is relative, at most limits.max_path_length bytes and limits.max_depth components,
  // made of printable ASCII but '\\' (so '@', '+', ' ' are fine), and no component is "", "."
  // or "..".
  static Status ValidatePath(std::string_view path, const Limits& limits);

  // Absolute path of <data_dir>/code.
  const std::string& root() const { return root_; }
  const Limits& limits() const { return limits_; }

 private:
  CodeStore(std::string root, Limits limits) : root_(std::move(root)), limits_(limits) {}

  // Sorts `files` by path and checks them; Ok means Put may write them.
  Status Validate(std::vector<CodeFile>& files) const;
  // Writes sorted, validated files to a temp directory and renames it to code/<digest>.
  Status Write(const std::vector<CodeFile>& files, const std::string& digest) const;

  std::string root_;
  Limits limits_;
};

}  // namespace flint::scheduler
