// DeployPackage: the files `flint deploy NAME PATH` uploads, and how they were chosen.
//
// PATH is a file (uploaded alone; it is the entry) or a folder: every regular file under it,
// except dot-files, dot-folders and node_modules/. A symlink inside the folder is uploaded as
// the file it points to when that file is inside the folder too; a symlink that leads outside
// the folder fails the deploy (it could leak files the user did not mean to publish); symlinks
// to folders are not followed. The total is capped at kMaxUploadBytes.
//
// The entry is --entry, else the first of kEntryCandidates present at the top of the folder.
// The runtime is --runtime, else inferred from the entry's extension. Plain functions of the
// file system; no network. Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::cli {

inline constexpr uint64_t kMaxUploadBytes = 50ull << 20;
inline constexpr std::array<const char*, 8> kEntryCandidates = {
    "index.mjs", "index.js", "handler.mjs", "handler.js",
    "main.mjs",  "main.js",  "index.cc",    "index.cpp"};

struct DeployPackage {
  std::string entry;                         // relative path inside the package, '/'-separated
  std::string runtime;                       // "node", "v8" or "cpp"
  std::map<std::string, std::string> files;  // relative path -> contents
  uint64_t total_bytes = 0;
};

// "node" for .js/.mjs/.cjs and TypeScript's .ts/.mts/.cts, "cpp" for .cc/.cpp/.so;
// InvalidArgument otherwise.
Result<std::string> InferRuntime(std::string_view entry);

// Collects PATH as described above. `entry` and `runtime` are the flags' values ("" when not
// given). All failures are InvalidArgument with a message fit for the user.
Result<DeployPackage> BuildDeployPackage(const std::string& path, const std::string& entry,
                                         const std::string& runtime,
                                         uint64_t max_bytes = kMaxUploadBytes);

}  // namespace flint::cli
