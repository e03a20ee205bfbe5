#include "scheduler/store/store.h"

#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "scheduler/store/code_store.h"
#include "scheduler/store/files.h"
#include "scheduler/store/sqlite.h"
#include "sdk/core/clock.h"
#include "sdk/core/text.h"

namespace flint::scheduler {
namespace {

using detail::Connection;
using detail::Statement;
using detail::Transaction;

constexpr const char* kDatabaseFile = "flint.db";

Status FunctionNotFound(std::string_view name) {
  return NotFound("function '" + detail::Printable(name) + "' does not exist");
}

bool IsValidTokenName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// env is stored as a JSON object in the caller's order, e.g. {"A":"1","B":"2"}, so SQL can read
// one variable with json_extract(env_json, '$.A').
std::string EncodeEnv(const std::vector<EnvVar>& env) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& [name, value] : env) json[name] = value;
  // Invariant: validated names and values are UTF-8, so dump cannot throw.
  return json.dump();
}

Result<std::vector<EnvVar>> DecodeEnv(const std::string& text, std::string_view name,
                                      int64_t version) {
  auto bad = [&] {
    return Internal("store: env_json of function '" + std::string(name) + "' version " +
                    std::to_string(version) + " is damaged");
  };
  nlohmann::ordered_json json = nlohmann::ordered_json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return bad();
  std::vector<EnvVar> env;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) return bad();
    env.emplace_back(key, value.get<std::string>());
  }
  return env;
}

// Columns selected for a FunctionVersion, in the order ReadVersion expects, from "versions v".
constexpr const char* kVersionColumns =
    "v.name, v.version, v.runtime, v.entry, v.code_digest, v.memory_mb, v.timeout_ms, "
    "v.keep_alive_ms, v.max_instances, v.concurrency, v.env_json, v.created_at_ms, "
    "v.min_instances, v.reserved_concurrency, v.keep_alive_policy, v.network, v.max_retries, "
    "v.max_event_age_ms, v.cpu_millis, v.private";

Result<FunctionVersion> ReadVersion(const Statement& row) {
  FunctionVersion v;
  v.name = row.Text(0);
  int64_t version = row.Int(1);
  // Values were validated before they were written; anything else means the file was damaged
  // or edited by hand, which is an environment failure, not a bug.
  auto fits_u32 = [](int64_t x) { return x >= 0 && x <= std::numeric_limits<uint32_t>::max(); };
  if (!fits_u32(version) || !fits_u32(row.Int(5)) || !fits_u32(row.Int(6)) || row.Int(7) < 0 ||
      !fits_u32(row.Int(8)) || !fits_u32(row.Int(9)) || !fits_u32(row.Int(12)) ||
      !fits_u32(row.Int(13)) || row.Int(16) < -1 || row.Int(16) > kMaxEventRetries ||
      row.Int(17) < 0 || !fits_u32(row.Int(18))) {
    return Internal("store: function '" + v.name + "' version " + std::to_string(version) +
                    " has out-of-range values");
  }
  v.version = static_cast<uint32_t>(version);
  std::optional<Runtime> runtime = ParseRuntime(row.Text(2));
  if (!runtime) {
    return Internal("store: function '" + v.name + "' version " + std::to_string(version) +
                    " has an unknown runtime");
  }
  v.runtime = *runtime;
  v.entry = row.Text(3);
  v.code_digest = row.Text(4);
  v.config.memory_mb = static_cast<uint32_t>(row.Int(5));
  v.config.timeout_ms = static_cast<uint32_t>(row.Int(6));
  v.config.keep_alive_ms = static_cast<uint64_t>(row.Int(7));
  v.config.max_instances = static_cast<uint32_t>(row.Int(8));
  v.config.concurrency = static_cast<uint32_t>(row.Int(9));
  FLINT_ASSIGN_OR_RETURN(v.config.env, DecodeEnv(row.Text(10), v.name, version));
  v.created_at_ms = row.Int(11);
  v.config.min_instances = static_cast<uint32_t>(row.Int(12));
  v.config.reserved_concurrency = static_cast<uint32_t>(row.Int(13));
  v.config.keep_alive_policy = row.Text(14);
  v.config.network = row.Text(15);
  v.config.max_retries = static_cast<int32_t>(row.Int(16));
  v.config.max_event_age_ms = static_cast<uint64_t>(row.Int(17));
  v.config.cpu_millis = static_cast<uint32_t>(row.Int(18));
  v.config.is_private = row.Int(19) != 0;
  return v;
}

// Runs a prepared query and reads every row as a FunctionVersion.
Result<std::vector<FunctionVersion>> ReadVersions(Statement& stmt) {
  std::vector<FunctionVersion> out;
  for (;;) {
    FLINT_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    FLINT_ASSIGN_OR_RETURN(FunctionVersion v, ReadVersion(stmt));
    out.push_back(std::move(v));
  }
}

Result<int64_t> QueryInt(Connection& db, const std::string& sql, std::string_view op) {
  FLINT_ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql, op));
  FLINT_ASSIGN_OR_RETURN(bool row, stmt.Step());
  FLINT_CHECK_MSG(row, "QueryInt on a query that returns no row");
  return stmt.Int(0);
}

Result<int> AppliedVersion(Connection& db) {
  FLINT_ASSIGN_OR_RETURN(int64_t v,
                         QueryInt(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                  "read schema version"));
  return static_cast<int>(v);
}

Status TooNew(const std::string& path, int found, size_t known) {
  return Internal("store: " + path + " has schema version " + std::to_string(found) +
                  ", but this Flint knows versions up to " + std::to_string(known) +
                  ": it was written by a newer Flint; upgrade Flint or use another data directory");
}

// Applies every step of `migrations` above the recorded version, each in its own transaction.
Result<int> Migrate(Connection& db, const std::string& path,
                    std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    FLINT_CHECK_MSG(migrations[i].version == static_cast<int>(i) + 1,
                    "migrations must be numbered 1..n in order");
  }
  FLINT_RETURN_IF_ERROR(db.Exec(kSchemaMigrationsTableSql, "create schema_migrations"));
  Result<int> current = AppliedVersion(db);
  if (!current.ok()) return current.status();
  if (*current > static_cast<int>(migrations.size()))
    return TooNew(path, *current, migrations.size());

  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    Transaction tx(db);
    FLINT_RETURN_IF_ERROR(tx.Begin("begin migration"));
    // Read again under the write lock: another process may have migrated meanwhile.
    current = AppliedVersion(db);
    if (!current.ok()) return current.status();
    if (*current > static_cast<int>(migrations.size())) {
      return TooNew(path, *current, migrations.size());
    }
    if (m.version <= *current) continue;
    Status applied = db.Exec(m.sql, "apply migration");
    if (!applied.ok()) {
      return Status(applied.code(), "store: migration " + std::to_string(m.version) + " (" +
                                        m.name + ") failed: " + applied.message());
    }
    FLINT_ASSIGN_OR_RETURN(
        Statement record,
        db.Prepare(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
            "record migration"));
    record.Bind(1, int64_t{m.version}).Bind(2, std::string_view(m.name)).Bind(3, WallClockMs());
    FLINT_RETURN_IF_ERROR(record.Run());
    // user_version mirrors the schema version for people inspecting the file with sqlite3.
    FLINT_RETURN_IF_ERROR(
        db.Exec("PRAGMA user_version=" + std::to_string(m.version), "record migration"));
    FLINT_RETURN_IF_ERROR(tx.Commit());
    *current = m.version;
  }
  return *current;
}

}  // namespace

struct Store::Impl {
  std::mutex mu;
  std::unique_ptr<Connection> db;  // guarded by mu
  std::string path;
  int schema_version = 0;
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& data_dir) {
  return OpenWithMigrations(data_dir, StoreMigrations());
}

Result<std::unique_ptr<Store>> Store::OpenWithMigrations(const std::string& data_dir,
                                                         std::span<const Migration> migrations) {
  // 0700: the directory holds the database and the admin token.
  FLINT_RETURN_IF_ERROR(detail::EnsureDir(data_dir, 0700));
  auto impl = std::make_unique<Impl>();
  impl->path = data_dir + "/" + kDatabaseFile;
  FLINT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, Connection::Open(impl->path));
  impl->db = std::move(db);
  FLINT_ASSIGN_OR_RETURN(impl->schema_version, Migrate(*impl->db, impl->path, migrations));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

int Store::schema_version() const { return impl_->schema_version; }

const std::string& Store::path() const { return impl_->path; }

Result<std::vector<AppliedMigration>> Store::AppliedMigrations() {
  std::lock_guard lock(impl_->mu);
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      impl_->db->Prepare(
          "SELECT version, name, applied_at_ms FROM schema_migrations ORDER BY version",
          "list migrations"));
  std::vector<AppliedMigration> out;
  for (;;) {
    FLINT_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back({static_cast<int>(stmt.Int(0)), stmt.Text(1), stmt.Int(2)});
  }
}

Result<FunctionVersion> Store::CreateVersion(const std::string& name, const std::string& runtime,
                                             const std::string& entry,
                                             const std::string& code_digest,
                                             const FunctionConfig& config) {
  FLINT_RETURN_IF_ERROR(ValidateFunctionName(name));
  std::optional<Runtime> parsed_runtime = ParseRuntime(runtime);
  if (!parsed_runtime) {
    return InvalidArgument("runtime '" + detail::Printable(runtime) + "' is not supported: use " +
                           RuntimeNames(" or "));
  }
  Status entry_ok = CodeStore::ValidatePath(entry, CodeStore::Limits{});
  if (!entry_ok.ok()) return InvalidArgument("entry: " + entry_ok.message());
  if (!IsSha256Hex(code_digest)) {
    return InvalidArgument("code digest '" + detail::Printable(code_digest) +
                           "' is not a sha256 hex digest (64 lowercase hex characters)");
  }
  FLINT_RETURN_IF_ERROR(ValidateFunctionConfig(config));

  FunctionVersion v;
  v.name = name;
  v.runtime = *parsed_runtime;
  v.entry = entry;
  v.code_digest = code_digest;
  v.config = config;
  v.created_at_ms = WallClockMs();

  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  Transaction tx(db);
  FLINT_RETURN_IF_ERROR(tx.Begin("create version"));

  int64_t version = 1;
  {
    // Scoped so the statement is reset (its read finished) before the writes below.
    FLINT_ASSIGN_OR_RETURN(
        Statement find,
        db.Prepare("SELECT next_version FROM functions WHERE name = ?1", "create version"));
    find.Bind(1, name);
    FLINT_ASSIGN_OR_RETURN(bool found, find.Step());
    if (found) version = find.Int(0);
  }
  if (version < 1 || version >= std::numeric_limits<uint32_t>::max()) {
    return Internal("store: function '" + name + "' has run out of version numbers");
  }
  v.version = static_cast<uint32_t>(version);

  // The functions row is written first because versions references it. A deleted function
  // (deleted_at_ms set) is re-created: it counts as new from now on, but keeps its counter.
  FLINT_ASSIGN_OR_RETURN(
      Statement upsert,
      db.Prepare(
          "INSERT INTO functions (name, live_version, next_version, created_at_ms, updated_at_ms) "
          "VALUES (?1, ?2, ?2 + 1, ?3, ?3) "
          "ON CONFLICT (name) DO UPDATE SET live_version = ?2, next_version = ?2 + 1, "
          "  created_at_ms = CASE WHEN deleted_at_ms IS NULL THEN created_at_ms ELSE ?3 END, "
          "  updated_at_ms = ?3, deleted_at_ms = NULL",
          "create version"));
  upsert.Bind(1, name).Bind(2, version).Bind(3, v.created_at_ms);
  FLINT_RETURN_IF_ERROR(upsert.Run());

  FLINT_ASSIGN_OR_RETURN(
      Statement insert,
      db.Prepare(
          "INSERT INTO versions (name, version, runtime, entry, code_digest, memory_mb, "
          "timeout_ms, "
          "  keep_alive_ms, max_instances, concurrency, env_json, created_at_ms, min_instances, "
          "  reserved_concurrency, keep_alive_policy, network, max_retries, max_event_age_ms, "
          "  cpu_millis, private) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
          "?18, ?19, ?20)",
          "create version"));
  insert.Bind(1, name)
      .Bind(2, version)
      .Bind(3, runtime)
      .Bind(4, entry)
      .Bind(5, code_digest)
      .Bind(6, int64_t{config.memory_mb})
      .Bind(7, int64_t{config.timeout_ms})
      .Bind(8, static_cast<int64_t>(config.keep_alive_ms))
      .Bind(9, int64_t{config.max_instances})
      .Bind(10, int64_t{config.concurrency})
      .Bind(11, EncodeEnv(config.env))
      .Bind(12, v.created_at_ms)
      .Bind(13, int64_t{config.min_instances})
      .Bind(14, int64_t{config.reserved_concurrency})
      .Bind(15, std::string_view(config.keep_alive_policy))
      .Bind(16, std::string_view(config.network))
      .Bind(17, int64_t{config.max_retries})
      .Bind(18, static_cast<int64_t>(config.max_event_age_ms))
      .Bind(19, int64_t{config.cpu_millis})
      .Bind(20, int64_t{config.is_private ? 1 : 0});
  FLINT_RETURN_IF_ERROR(insert.Run());
  FLINT_RETURN_IF_ERROR(tx.Commit());
  return v;
}

Result<FunctionVersion> Store::GetLive(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      impl_->db->Prepare(
          std::string("SELECT ") + kVersionColumns +
              " FROM functions f JOIN versions v ON v.name = f.name AND v.version = f.live_version "
              "WHERE f.name = ?1",
          "get live version"));
  stmt.Bind(1, name);
  FLINT_ASSIGN_OR_RETURN(std::vector<FunctionVersion> rows, ReadVersions(stmt));
  if (rows.empty()) return FunctionNotFound(name);
  return std::move(rows.front());
}

Result<FunctionVersion> Store::GetVersion(const std::string& name, uint32_t version) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  FLINT_ASSIGN_OR_RETURN(Statement stmt,
                         db.Prepare(std::string("SELECT ") + kVersionColumns +
                                        " FROM versions v WHERE v.name = ?1 AND v.version = ?2",
                                    "get version"));
  stmt.Bind(1, name).Bind(2, int64_t{version});
  FLINT_ASSIGN_OR_RETURN(std::vector<FunctionVersion> rows, ReadVersions(stmt));
  if (!rows.empty()) return std::move(rows.front());
  // Only a function that exists has versions; say which of the two is missing.
  FLINT_ASSIGN_OR_RETURN(
      Statement live,
      db.Prepare("SELECT live_version FROM functions WHERE name = ?1", "get version"));
  live.Bind(1, name);
  FLINT_ASSIGN_OR_RETURN(bool row, live.Step());
  if (!row || live.IsNull(0)) return FunctionNotFound(name);
  return NotFound("function '" + detail::Printable(name) + "' has no version " +
                  std::to_string(version));
}

Result<std::vector<FunctionVersion>> Store::ListLive() {
  std::lock_guard lock(impl_->mu);
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      impl_->db->Prepare(
          std::string("SELECT ") + kVersionColumns +
              " FROM functions f JOIN versions v ON v.name = f.name AND v.version = f.live_version "
              "ORDER BY f.name",
          "list functions"));
  return ReadVersions(stmt);
}

Result<std::vector<FunctionVersion>> Store::ListVersions(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      impl_->db->Prepare(std::string("SELECT ") + kVersionColumns +
                             " FROM versions v WHERE v.name = ?1 ORDER BY v.version DESC",
                         "list versions"));
  stmt.Bind(1, name);
  FLINT_ASSIGN_OR_RETURN(std::vector<FunctionVersion> rows, ReadVersions(stmt));
  // Invariant: a function that exists has at least its live version, so none means absent.
  if (rows.empty()) return FunctionNotFound(name);
  return rows;
}

Status Store::CheckWritable() {
  // A connection of its own: waiting here for a lock held by another process (up to the busy
  // timeout) must not hold the store's mutex, which the loop thread's reads take.
  FLINT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, Connection::Open(impl_->path));
  FLINT_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE", "take the write lock"));
  return db->Exec("ROLLBACK", "give the write lock back");
}

Status Store::SetLive(const std::string& name, uint32_t version) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  // Versions of a deleted function are deleted with it, so the EXISTS also rules that out.
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      db.Prepare(
          "UPDATE functions SET live_version = ?2, updated_at_ms = ?3 "
          "WHERE name = ?1 AND EXISTS (SELECT 1 FROM versions WHERE name = ?1 AND version = ?2)",
          "set live version"));
  stmt.Bind(1, name).Bind(2, int64_t{version}).Bind(3, WallClockMs());
  FLINT_RETURN_IF_ERROR(stmt.Run());
  if (db.changes() == 0) {
    return NotFound("function '" + detail::Printable(name) + "' has no version " +
                    std::to_string(version));
  }
  return Status::Ok();
}

Status Store::DeleteFunction(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  Transaction tx(db);
  FLINT_RETURN_IF_ERROR(tx.Begin("delete function"));
  FLINT_ASSIGN_OR_RETURN(
      Statement mark,
      db.Prepare("UPDATE functions SET live_version = NULL, deleted_at_ms = ?2, updated_at_ms = ?2 "
                 "WHERE name = ?1 AND deleted_at_ms IS NULL",
                 "delete function"));
  mark.Bind(1, name).Bind(2, WallClockMs());
  FLINT_RETURN_IF_ERROR(mark.Run());
  if (db.changes() == 0) return FunctionNotFound(name);
  FLINT_ASSIGN_OR_RETURN(Statement drop,
                         db.Prepare("DELETE FROM versions WHERE name = ?1", "delete function"));
  drop.Bind(1, name);
  FLINT_RETURN_IF_ERROR(drop.Run());
  return tx.Commit();
}

Status Store::PutTokenHash(const std::string& token_name, const std::string& sha256_hex) {
  if (!IsValidTokenName(token_name)) {
    return InvalidArgument("token name '" + detail::Printable(token_name) +
                           "' is invalid: use 1-64 characters of a-z, 0-9, '_' and '-'");
  }
  if (!IsSha256Hex(sha256_hex)) {
    return InvalidArgument("token hash must be 64 lowercase hex characters (a sha256 digest)");
  }
  std::lock_guard lock(impl_->mu);
  // Re-recording the same hash keeps its creation time (EnsureAdminToken does it every start).
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      impl_->db->Prepare("INSERT INTO tokens (name, sha256, created_at_ms) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, "
                         "  created_at_ms = CASE WHEN sha256 = excluded.sha256 THEN created_at_ms "
                         "                  ELSE excluded.created_at_ms END",
                         "put token hash"));
  stmt.Bind(1, token_name).Bind(2, sha256_hex).Bind(3, WallClockMs());
  return stmt.Run();
}

Result<std::vector<std::string>> Store::TokenHashes() {
  std::lock_guard lock(impl_->mu);
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt,
      impl_->db->Prepare("SELECT sha256 FROM tokens ORDER BY name", "list token hashes"));
  std::vector<std::string> out;
  for (;;) {
    FLINT_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(stmt.Text(0));
  }
}

Status Store::CreateToken(const TokenRecord& token) {
  if (!IsValidTokenName(token.name)) {
    return InvalidArgument("token name '" + detail::Printable(token.name) +
                           "' is invalid: use 1-64 characters of a-z, 0-9, '_' and '-'");
  }
  if (!IsSha256Hex(token.sha256)) {
    return InvalidArgument("token hash must be 64 lowercase hex characters (a sha256 digest)");
  }
  if (token.scopes.empty()) return InvalidArgument("a token needs at least one scope");
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  Transaction tx(db);
  FLINT_RETURN_IF_ERROR(tx.Begin("create token"));
  {
    FLINT_ASSIGN_OR_RETURN(
        Statement find,
        db.Prepare("SELECT revoked_at_ms IS NULL FROM tokens WHERE name = ?1", "create token"));
    find.Bind(1, token.name);
    FLINT_ASSIGN_OR_RETURN(bool found, find.Step());
    if (found && find.Int(0) != 0) {
      return Status(Code::kAlreadyExists, "a token named '" + token.name + "' already exists");
    }
  }
  FLINT_ASSIGN_OR_RETURN(
      Statement put,
      db.Prepare("INSERT OR REPLACE INTO tokens (name, sha256, created_at_ms, scopes, "
                 "expires_at_ms, revoked_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                 "create token"));
  put.Bind(1, token.name).Bind(2, token.sha256).Bind(3, token.created_at_ms).Bind(4, token.scopes);
  if (token.expires_at_ms > 0) put.Bind(5, token.expires_at_ms);
  FLINT_RETURN_IF_ERROR(put.Run());
  return tx.Commit();
}

Result<std::vector<TokenRecord>> Store::ListTokens() {
  std::lock_guard lock(impl_->mu);
  FLINT_ASSIGN_OR_RETURN(
      Statement stmt, impl_->db->Prepare("SELECT name, sha256, scopes, created_at_ms, "
                                         "  COALESCE(expires_at_ms, 0), COALESCE(revoked_at_ms, 0) "
                                         "FROM tokens ORDER BY name",
                                         "list tokens"));
  std::vector<TokenRecord> out;
  for (;;) {
    FLINT_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    TokenRecord t;
    t.name = stmt.Text(0);
    t.sha256 = stmt.Text(1);
    t.scopes = stmt.Text(2);
    t.created_at_ms = stmt.Int(3);
    t.expires_at_ms = stmt.Int(4);
    t.revoked_at_ms = stmt.Int(5);
    out.push_back(std::move(t));
  }
}

Status Store::RevokeToken(const std::string& name, int64_t now_ms) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  Transaction tx(db);
  FLINT_RETURN_IF_ERROR(tx.Begin("revoke token"));
  {
    FLINT_ASSIGN_OR_RETURN(
        Statement find, db.Prepare("SELECT 1 FROM tokens WHERE name = ?1 AND revoked_at_ms IS NULL",
                                   "revoke token"));
    find.Bind(1, name);
    FLINT_ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) {
      return NotFound("token '" + detail::Printable(name) + "' does not exist or is revoked");
    }
  }
  FLINT_ASSIGN_OR_RETURN(
      Statement revoke,
      db.Prepare("UPDATE tokens SET revoked_at_ms = ?2 WHERE name = ?1", "revoke token"));
  revoke.Bind(1, name).Bind(2, now_ms);
  FLINT_RETURN_IF_ERROR(revoke.Run());
  return tx.Commit();
}

}  // namespace flint::scheduler
