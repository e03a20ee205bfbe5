#include "scheduler/store/sqlite.h"

#include <cerrno>
#include <utility>

namespace flint::scheduler::detail {
namespace {
constexpr int kBusyTimeoutMs = 5000;
}  // namespace

Status SqliteStatus(sqlite3* db, int rc, std::string_view op) {
  std::string message = "store: ";
  message += op;
  message += ": ";
  // sqlite3_errmsg describes the most recent failure on the connection, which is `rc` unless the
  // caller did something else in between; fall back to the generic text for `rc` otherwise.
  const char* detail =
      db != nullptr && sqlite3_extended_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += detail;
  // A duplicate key is its own error: an insert never replaces a row silently, and its caller
  // can tell the user what already exists.
  int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  if ((rc & 0xff) == SQLITE_CONSTRAINT &&
      (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE)) {
    return Status(Code::kAlreadyExists, std::move(message));
  }
  switch (rc & 0xff) {
    // Conditions of the machine that clear by themselves or by an operator's hand (a lock held
    // by another process, a full or read-only file system): the caller may retry (503).
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return Status(Code::kUnavailable, std::move(message));
    case SQLITE_IOERR: {
      if (rc == SQLITE_IOERR_NOMEM) return Status(Code::kInternal, std::move(message));
      // A write refused by a file system that turned read-only or ran out of quota.
      int err = db != nullptr ? sqlite3_system_errno(db) : 0;
      if (err == EROFS || err == ENOSPC || err == EDQUOT) {
        return Status(Code::kUnavailable, std::move(message));
      }
      return Status(Code::kIo, std::move(message));
    }
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return Status(Code::kIo, std::move(message));
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
      return Status(Code::kInvalidArgument, std::move(message));
    default:
      return Status(Code::kInternal, std::move(message));
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      op_(other.op_),
      bind_error_(other.bind_error_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  // SQLITE_TRANSIENT: SQLite copies the bytes, so `value` need not outlive the statement.
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return SqliteStatus(nullptr, bind_error_, op_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, op_);
}

Status Statement::Run() {
  FLINT_ASSIGN_OR_RETURN(bool row, Step());
  // A statement that returns rows is a programming error here, not a runtime condition.
  FLINT_CHECK_MSG(!row, "Statement::Run on a statement that returns rows");
  return Status::Ok();
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // The handle is allocated even when opening fails and must be closed either way.
  std::unique_ptr<Connection> db(new Connection(raw));
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "open " + path);
  Status configured = db->Configure();
  if (!configured.ok()) {
    // Name the file: "file is not a database" alone does not say which one.
    return Status(configured.code(), configured.message() + " (" + path + ")");
  }
  return db;
}

Status Connection::Configure() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // journal_mode answers with the mode in effect, which is not WAL when the file system cannot
  // do it (e.g. no shared memory); refuse rather than run without the crash safety promised.
  char* mode = nullptr;
  auto copy_mode = [](void* out, int columns, char** values, char**) {
    if (columns == 1 && values[0] != nullptr)
      *static_cast<char**>(out) = sqlite3_mprintf("%s", values[0]);
    return 0;
  };
  int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", copy_mode, &mode, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "set WAL mode");
  std::string mode_text = mode != nullptr ? mode : "";
  sqlite3_free(mode);
  if (mode_text != "wal") {
    return Status(Code::kIo, "store: set WAL mode: journal mode is '" + mode_text + "', not 'wal'");
  }
  // NORMAL is safe in WAL mode: a crash of the process loses nothing committed, and a power
  // loss can lose only the most recent transactions, never corrupt the database.
  FLINT_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL", "set synchronous"));
  return Exec("PRAGMA foreign_keys=ON", "enable foreign keys");
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  // close_v2 never fails on a busy handle; every statement is finalized above anyway.
  sqlite3_close_v2(db_);
}

Status Connection::Exec(const std::string& sql, std::string_view op) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  Status status = SqliteStatus(db_, rc, op);
  if (error != nullptr) {
    status = Status(status.code(), "store: " + std::string(op) + ": " + error);
    sqlite3_free(error);
  }
  return status;
}

Result<Statement> Connection::Prepare(const std::string& sql, std::string_view op) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, op);
    // Invariant: cached statements are single statements (no trailing SQL was ignored).
    FLINT_CHECK(stmt != nullptr);
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(db_, it->second, op);
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

Transaction::~Transaction() {
  if (!active_) return;
  // A failed rollback leaves nothing to do: SQLite rolls back itself when the connection closes,
  // and the next BEGIN would fail loudly if a transaction were somehow still open.
  (void)db_.Exec("ROLLBACK", "rollback");
}

Status Transaction::Begin(std::string_view op) {
  FLINT_CHECK(!active_);
  op_ = op;
  FLINT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE", op));
  active_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  FLINT_CHECK(active_);
  Status status = db_.Exec("COMMIT", op_);
  // On failure (e.g. SQLITE_BUSY on COMMIT) the transaction may still be open; the destructor
  // rolls it back.
  if (status.ok()) active_ = false;
  return status;
}

}  // namespace flint::scheduler::detail
