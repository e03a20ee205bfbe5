// Small helpers shared inside scheduler/store: POSIX file operations for CodeStore, the data
// directory, the admin token and the secret key, and safe quoting of untrusted text in error
// messages. Private to scheduler/store. Stateless; safe from any thread. Errors are IoError
// Statuses that name the operation and the path.
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

// Reads a file only its owner may read (the admin token, the secret key), at most `max_bytes`:
// NotFound when absent; an error for a symbolic link, a non-file, or a mode open to group or
// others (naming the chmod that fixes it).
Result<std::string> ReadOwnerOnlyFile(const std::string& path, size_t max_bytes);

// Creates `path`, an entry of `dir`, holding `contents` with mode 0600, atomically: a temp file
// (O_EXCL, O_NOFOLLOW), fsync, link, fsync of `dir`. The link fails (EEXIST) rather than
// replace a file another process made meanwhile.
Status CreateOwnerOnlyFile(const std::string& dir, const std::string& path,
                           std::string_view contents);

// fsyncs a directory so that entries created or renamed in it survive a crash.
Status FsyncDir(const std::string& dir);

// Removes a tree this process (or a crashed predecessor) wrote, including read-only
// directories (0555), which are first made writable. Does not follow symlinks. Absent is ok.
Status RemoveTree(const std::string& path);

// `text` cut to 80 bytes ("..." appended if longer) with control characters, non-ASCII bytes,
// quotes and backslashes replaced by '?', for quoting caller-supplied names in messages.
std::string Printable(std::string_view text);

}  // namespace flint::scheduler::detail
