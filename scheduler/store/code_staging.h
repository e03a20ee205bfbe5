// CodeStaging: function code written into the CodeStore file by file, for uploads too large to
// hold unpacked in memory (an archive with node_modules/), then committed under its digest.
//
// Begin() makes code/.tmp-<pid>-XXXXXX (the same temp names as CodeStore::Put, so a crash
// leaves nothing RemoveStaleTemp does not remove). Add() checks each path and the store's
// limits as Put does (CodeStore::ValidatePath, no path twice, no path both a file and a
// directory, at most limits.max_files files and limits.max_total_bytes bytes, the last two
// PayloadTooLarge) and writes the file at once (mode 0444). Commit() gives the digest that
// CodeStore::Put would give the same files (code_store.h, format version 1): computed as the
// files are added when they come in path order (as `flint deploy` packs them), else by reading
// them back in path order. It then seals the directories (0555), flushes the file system once
// (syncfs: one flush for thousands of files instead of an fsync each), and renames the
// directory to code/<digest>; when that code is already stored, the staged copy is removed
// instead.
// Destroyed without a successful Commit, the temp directory is removed.
//
// Not thread-safe (one thread fills one staging area); blocking disk I/O (not for an event loop
// thread). The CodeStore must outlive its CodeStaging.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/store/code_store.h"
#include "sdk/core/status.h"

namespace flint::scheduler::detail {
class CodeDigest;
}

namespace flint::scheduler {

class CodeStaging {
 public:
  static Result<std::unique_ptr<CodeStaging>> Begin(const CodeStore& store);
  ~CodeStaging();
  CodeStaging(const CodeStaging&) = delete;
  CodeStaging& operator=(const CodeStaging&) = delete;

  // Writes one file (see above). A failure leaves the staging area usable for nothing but
  // destruction.
  Status Add(const std::string& path, std::string_view bytes);
  // True if a file named `path` was added.
  bool Has(const std::string& path) const { return files_.count(path) != 0; }
  // The bytes of the file added as `path`.
  Result<std::string> Read(const std::string& path) const;
  // The bytes of every file added, in path order (for a C++ build, whose sources are small).
  Result<std::vector<CodeFile>> ReadAll() const;
  // See above. Returns the digest; call once, after the last Add.
  Result<std::string> Commit();

  size_t file_count() const { return files_.size(); }
  const CodeStore::Limits& store_limits() const { return store_.limits(); }
  uint64_t total_bytes() const { return total_bytes_; }
  // The paths added, in path order.
  std::vector<std::string> paths() const;

 private:
  CodeStaging(const CodeStore& store, std::string temp, int dir_fd);
  Status EnsureParents(const std::string& path);
  // The digest by reading every file back in path order.
  Result<std::string> DigestFromDisk() const;

  const CodeStore& store_;
  std::string temp_;                       // absolute path of the temp directory
  int dir_fd_ = -1;                        // open on temp_
  std::map<std::string, uint64_t> files_;  // path -> size; std::map keeps Put's byte order
  std::set<std::string> dirs_;             // directories created, "a" and "a/b"
  uint64_t total_bytes_ = 0;
  bool done_ = false;  // committed (or found stored): nothing to remove
  // The digest of the files so far while they come in path order; null once one does not.
  std::unique_ptr<detail::CodeDigest> running_;
  std::string last_path_;
};

}  // namespace flint::scheduler
