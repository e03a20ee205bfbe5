// CodeDigest: the code digest of code_store.h (format version 1) computed incrementally, so
// that CodeStore::Put (files in memory) and CodeStaging (files on disk) give the same digest
// for the same files. Private to scheduler/store. Not thread-safe: one per computation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scheduler/store/sha256.h"

namespace flint::scheduler::detail {

class CodeDigest {
 public:
  CodeDigest();
  // Starts the next file. Files must come in ascending byte order of path, each followed by
  // exactly `size` bytes of AddContent.
  void BeginFile(std::string_view path, uint64_t size);
  void AddContent(std::string_view bytes) { hasher_.Update(bytes); }
  // The lowercase hex digest. Call once.
  std::string FinishHex() { return hasher_.FinishHex(); }

 private:
  Sha256 hasher_;
};

// "<root>/.tmp-<pid>-XXXXXX": the mkdtemp template of a code directory being written, which
// CodeStore::RemoveStaleTemp removes after a crash.
std::string TempDirTemplate(const std::string& root);

}  // namespace flint::scheduler::detail
