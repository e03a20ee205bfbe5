// The admin token: the secret the CLI presents to flintd, kept in <data_dir>/admin.token.
//
// Format: "flint_" followed by 64 lowercase hex characters (32 random bytes from getrandom),
// optionally followed by a newline in the file. The file is mode 0600 from the moment it exists:
// it is written to admin.token.tmp (created O_EXCL|O_NOFOLLOW, mode 0600), fsynced, then linked
// to admin.token, so it is never world-readable and never seen half-written. Only its SHA-256
// hash goes into the Store, under the token name "admin".
//
// Call at startup, from one thread (two concurrent first calls may race on the temp file; one
// of them then fails cleanly). Blocking disk I/O.
#pragma once

#include <string>

#include "scheduler/store/store.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

inline constexpr const char* kAdminTokenName = "admin";
inline constexpr const char* kAdminTokenFile = "admin.token";
inline constexpr const char* kTokenPrefix = "flint_";

// Reads <data_dir>/admin.token, or creates it on first start, and records its hash in `store`
// as "admin" (every call, so the store always matches the file). Returns the token. Refuses a
// token file that is not a regular file, is readable or writable by group or others, or does not
// hold a well-formed token.
Result<std::string> EnsureAdminToken(const std::string& data_dir, Store& store);

// A new random token "flint_<64 hex>" (32 bytes from getrandom).
Result<std::string> NewToken();

// True for "flint_" followed by 64 lowercase hex characters.
bool IsWellFormedToken(std::string_view token);

}  // namespace flint::scheduler
