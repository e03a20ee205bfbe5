// DeployPackage: the files `flint deploy NAME PATH` uploads, and how they were chosen.
//
// PATH is a file (uploaded alone; it is the entry) or a folder: every regular file under it,
// node_modules/ included, except dot-files and dot-folders (.git, .env...) outside
// node_modules/, and inside it only npm's own .bin/, .cache/ and .package-lock.json (so
// packages that keep code in dot-folders, such as Prisma's .prisma/, still work). A symlink
// inside the folder is uploaded as the file it points to when that file is inside the folder
// too; a symlink that leads outside the folder fails the deploy (it could leak files the user
// did not mean to publish); symlinks to folders are not followed. The total is capped at
// kMaxUploadBytes, the size of the code unpacked (flintd's limit too).
//
// The entry is --entry, else the folder's package.json "main" when it names a JavaScript file
// of the upload (as Node.js resolves it: the path itself, or with .js, .mjs, .cjs or
// /index.js added), else the first of kEntryCandidates present at the top of the folder.
// The runtime is --runtime, else inferred from the entry's extension. Files are listed here
// and read only when packed (deploy_archive.h). Plain functions of the file system; no
// network. Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::cli {

// 250 MiB, AWS Lambda's limit for a deployment package unzipped.
inline constexpr uint64_t kMaxUploadBytes = 250ull << 20;
inline constexpr std::array<const char*, 9> kEntryCandidates = {
    "index.mjs", "index.js", "index.cjs", "handler.mjs", "handler.js",
    "main.mjs",  "main.js",  "index.cc",  "index.cpp"};

// One file of a package: where it is read from when packed, and its size when listed.
struct DeployFile {
  std::string source;  // a path on this machine
  uint64_t size = 0;
};

struct DeployPackage {
  std::string entry;                        // relative path inside the package, '/'-separated
  std::string runtime;                      // "node", "v8" or "cpp"
  std::map<std::string, DeployFile> files;  // relative path -> where to read it
  uint64_t total_bytes = 0;                 // sum of the sizes when listed
};

// The bytes of `file` (InvalidArgument naming it when it cannot be read).
Result<std::string> ReadDeployFile(const DeployFile& file);

// "node" for .js/.mjs/.cjs and TypeScript's .ts/.mts/.cts, "cpp" for .cc/.cpp/.so;
// InvalidArgument otherwise.
Result<std::string> InferRuntime(std::string_view entry);

// Collects PATH as described above. `entry` and `runtime` are the flags' values ("" when not
// given). All failures are InvalidArgument with a message fit for the user.
Result<DeployPackage> BuildDeployPackage(const std::string& path, const std::string& entry,
                                         const std::string& runtime,
                                         uint64_t max_bytes = kMaxUploadBytes);

}  // namespace flint::cli
