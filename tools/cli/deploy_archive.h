// The code archive `flint deploy` uploads: the package's files as one gzip-compressed tar
// (POSIX ustar), which flintd extracts file by file into its code store
// (scheduler/store/code_archive.h; docs/http-api.md, "Deploy").
//
// Entries are regular files only, in path order, with mode 0644, owner 0 and time 0, so the
// same files always give the same bytes. A path longer than the ustar name field is split into
// prefix and name at a '/', or, when it cannot be, carried by a pax extended header ('x',
// "path"). Each file is read when its turn comes (only the compressed archive and one file are
// in memory). Plain functions; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "sdk/core/status.h"
#include "tools/cli/deploy_package.h"

namespace flint::cli {

// Called after each file with the bytes packed so far and the package's total.
using PackProgress = std::function<void(uint64_t packed, uint64_t total)>;

// The tar.gz bytes of `package`. Fails (InvalidArgument naming the file) when a file cannot be
// read.
Result<std::string> PackDeployArchive(const DeployPackage& package,
                                      const PackProgress& progress = nullptr);

// The uncompressed tar of `files` (path -> bytes), for tests and small callers.
std::string TarOf(const std::map<std::string, std::string>& files);

}  // namespace flint::cli
