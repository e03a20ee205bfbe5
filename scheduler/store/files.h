// Small helpers shared inside scheduler/store: POSIX file operations for CodeStore, the data
// directory and the admin token, and safe quoting of untrusted text in error messages.
// Private to scheduler/store. Stateless; safe from any thread. Errors are IoError Statuses that
// name the operation and the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::scheduler::detail {

// Creates `dir` with `mode` if absent (missing parents are created with default modes). An
// existing directory is left as it is; an existing non-directory is an error.
Status EnsureDir(const std::string& dir, mode_t mode);

// Writes all of `bytes` to `fd`, retrying short writes and EINTR. `what` names the file.
Status WriteAll(int fd, std::string_view bytes, const std::string& what);

// Reads all of `fd` into `out`, at most `max_bytes` (more is an error).
Status ReadAll(int fd, size_t max_bytes, std::string& out, const std::string& what);

// fsyncs a directory so that entries created or renamed in it survive a crash.
Status FsyncDir(const std::string& dir);

// Removes a tree this process (or a crashed predecessor) wrote, including read-only
// directories (0555), which are first made writable. Does not follow symlinks. Absent is ok.
Status RemoveTree(const std::string& path);

// `text` cut to 80 bytes ("..." appended if longer) with control characters, non-ASCII bytes,
// quotes and backslashes replaced by '?', for quoting caller-supplied names in messages.
std::string Printable(std::string_view text);

}  // namespace flint::scheduler::detail
