// Store: Flint's durable state — functions, their versions and API token hashes — in one SQLite
// database, <data_dir>/flint.db (WAL mode; see migrations.h for the schema and its history).
//
// Thread-safe: every method may be called from any thread; one connection is guarded by a
// mutex, so calls run one at a time. Calls do disk I/O and may wait up to a few seconds for a
// lock held by another process, so flintd calls them from a worker thread (uv_queue_work), never
// on its event loop. Every multi-statement write is one transaction: it happens entirely or not
// at all, also across a crash.
//
// Invariants kept by the store:
//  - a function's versions are numbered 1, 2, 3... and a number is never reused for that name,
//    even after the function is deleted and created again;
//  - a function that exists has exactly one live version, which is one of its versions;
//  - only SHA-256 hashes of tokens are stored, never tokens.
//
// Errors: NotFound for a missing function or version, InvalidArgument for bad input (checked
// before anything is written), Unavailable when the database stays locked, IoError/Internal for
// disk trouble or a damaged database; every message names the operation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/store/function_version.h"
#include "scheduler/store/migrations.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// One API token as stored: never the token itself, only its SHA-256.
struct TokenRecord {
  std::string name;           // 1-64 characters of [a-z0-9_-]
  std::string sha256;         // 64 lowercase hex
  std::string scopes;         // comma-separated scope names (scheduler/auth/scopes.h checks them)
  int64_t created_at_ms = 0;  // Unix time in milliseconds
  int64_t expires_at_ms = 0;  // 0: never expires
  int64_t revoked_at_ms = 0;  // 0: not revoked

  bool operator==(const TokenRecord&) const = default;
};

// One row of schema_migrations.
struct AppliedMigration {
  int version = 0;
  std::string name;
  int64_t applied_at_ms = 0;
};

class Store {
 public:
  // Opens (creating if needed, directory included, mode 0700) <data_dir>/flint.db in WAL mode
  // with synchronous=NORMAL, a busy timeout and foreign keys on, then applies pending schema
  // migrations in order, each in its own transaction. Refuses a database whose schema version is
  // above what this Flint knows (it was written by a newer Flint).
  static Result<std::unique_ptr<Store>> Open(const std::string& data_dir);
  // As Open, with an explicit migration list (for tests of the migration mechanism).
  // Invariant: `migrations` are numbered 1..size() in order and outlive the call.
  static Result<std::unique_ptr<Store>> OpenWithMigrations(const std::string& data_dir,
                                                           std::span<const Migration> migrations);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // The highest applied migration after Open.
  int schema_version() const;
  // Path of the database file.
  const std::string& path() const;
  // schema_migrations, oldest first.
  Result<std::vector<AppliedMigration>> AppliedMigrations();
  // Whether a write could start now: takes the database's write lock and gives it back, writing
  // nothing, on a connection of its own (callers of other methods never wait behind it).
  // Unavailable while another process holds the lock past the busy timeout, or while the database
  // cannot be written (read-only).
  Status CheckWritable();

  // Creates the function if new (or re-creates it after a delete), appends version last+1 and
  // makes it the live version. Atomic. Validates the name (sdk/core/text.h), runtime ("node", "v8"
  // or "cpp"), entry (a non-empty relative path), code_digest (64 lowercase hex) and config.
  Result<FunctionVersion> CreateVersion(const std::string& name, const std::string& runtime,
                                        const std::string& entry, const std::string& code_digest,
                                        const FunctionConfig& config);
  // NotFound("function 'x' does not exist") for a function that is absent or deleted.
  Result<FunctionVersion> GetLive(const std::string& name);
  // NotFound for an absent function or version.
  Result<FunctionVersion> GetVersion(const std::string& name, uint32_t version);
  // Every existing function's live version, ordered by name.
  Result<std::vector<FunctionVersion>> ListLive();
  // Every version of an existing function, newest first. NotFound if the function is absent.
  Result<std::vector<FunctionVersion>> ListVersions(const std::string& name);
  // Makes an existing version live again (rollback). NotFound if either is absent.
  Status SetLive(const std::string& name, uint32_t version);
  // Deletes the function and all its versions. NotFound if absent. The function's version
  // counter is kept, so a later CreateVersion of the same name continues numbering.
  Status DeleteFunction(const std::string& name);

  // Records (or replaces) the SHA-256 hex of the token called `token_name` (1-64 characters of
  // [a-z0-9_-]). `sha256_hex` must be 64 lowercase hex characters.
  Status PutTokenHash(const std::string& token_name, const std::string& sha256_hex);
  // Every stored token hash, ordered by token name.
  Result<std::vector<std::string>> TokenHashes();
  // Records a new token (its created_at_ms is the caller's). AlreadyExists when a token of that
  // name exists and is not revoked; a revoked token's name may be taken again (the old row is
  // replaced). InvalidArgument for a bad name, hash or empty scopes.
  Status CreateToken(const TokenRecord& token);
  // Every token, revoked ones included, ordered by name.
  Result<std::vector<TokenRecord>> ListTokens();
  // Marks the token revoked at `now_ms`. NotFound when there is none of that name or it is
  // already revoked.
  Status RevokeToken(const std::string& name, int64_t now_ms);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lowercase hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);
// True for 64 lowercase hex characters (a Sha256Hex result).
bool IsSha256Hex(std::string_view text);

}  // namespace flint::scheduler
