// A thin wrapper over one SQLite connection, private to scheduler/store (the only code in Flint
// that includes <sqlite3.h>; nothing outside this folder may include this header).
//
// Connection owns the sqlite3 handle and a cache of prepared statements keyed by their SQL text.
// Statement is a borrowed, cached statement: its destructor resets it and clears its bindings so
// the next user starts clean. Transaction rolls back in its destructor unless committed.
//
// Not thread-safe: Store serializes every use of a Connection with its mutex. Every error is
// returned as a Status naming the operation, e.g. "store: create version: database is locked".
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sdk/core/status.h"

namespace flint::scheduler::detail {

// Maps an SQLite result code to a Status: busy/locked, disk full and read-only -> Unavailable
// (retrying later helps), other I/O errors -> IoError, constraint violations -> InvalidArgument,
// anything else (corruption, misuse) -> Internal. The message is "store: <op>: <sqlite message>".
Status SqliteStatus(sqlite3* db, int rc, std::string_view op);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string_view op) : db_(db), stmt_(stmt), op_(op) {}
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based, as in "?1"). A failed bind is reported by the next Step.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& BindNull(int index);

  // Runs one step: true when a row is available, false when the statement is done.
  Result<bool> Step();
  // Runs a statement that returns no rows to completion.
  Status Run();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string_view op_;  // Invariant: a string literal or otherwise outlives the statement.
  int bind_error_ = SQLITE_OK;
};

class Connection {
 public:
  // Opens (creating if needed) the database file and applies the connection settings: WAL,
  // synchronous=NORMAL, foreign_keys=ON, a busy timeout, extended result codes.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs SQL that may hold several statements and returns no rows (migrations, BEGIN/COMMIT).
  Status Exec(const std::string& sql, std::string_view op);
  // A cached prepared statement for `sql`; prepared on first use.
  Result<Statement> Prepare(const std::string& sql, std::string_view op);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  // Applies the settings Open promises.
  Status Configure();

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front so that a read followed by
// a write inside the transaction never fails half way with SQLITE_BUSY (another process holding
// the lock is waited for up to the busy timeout instead).
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Begin(std::string_view op);
  Status Commit();

 private:
  Connection& db_;
  std::string_view op_;
  bool active_ = false;
};

}  // namespace flint::scheduler::detail
