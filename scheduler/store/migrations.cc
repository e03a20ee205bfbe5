#include "scheduler/store/migrations.h"

namespace flint::scheduler {
namespace {

// Step 1: functions, their versions, and API tokens.
//
// A functions row is never deleted: DeleteFunction sets deleted_at_ms and live_version NULL and
// removes the function's versions, but keeps next_version so a re-created function continues
// numbering where the old one stopped (a version number always means one immutable deploy).
constexpr const char* kMigration1 = R"sql(
CREATE TABLE functions (
  name TEXT PRIMARY KEY NOT NULL,
  live_version INTEGER,
  next_version INTEGER NOT NULL CHECK (next_version >= 1),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  deleted_at_ms INTEGER,
  CHECK ((deleted_at_ms IS NULL) = (live_version IS NOT NULL))
) STRICT;

CREATE TABLE versions (
  name TEXT NOT NULL REFERENCES functions(name),
  version INTEGER NOT NULL CHECK (version >= 1),
  runtime TEXT NOT NULL,
  entry TEXT NOT NULL,
  code_digest TEXT NOT NULL,
  memory_mb INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  keep_alive_ms INTEGER NOT NULL,
  max_instances INTEGER NOT NULL,
  concurrency INTEGER NOT NULL,
  env_json TEXT NOT NULL DEFAULT '{}',
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) STRICT;

-- Finding which code directories are still referenced (code garbage collection).
CREATE INDEX versions_by_code_digest ON versions(code_digest);

CREATE TABLE tokens (
  name TEXT PRIMARY KEY NOT NULL,
  sha256 TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
) STRICT;
)sql";

// Step 2: the billing ledger (scheduler/store/ledger.h, docs/billing.md). One row per
// invocation keyed by its request id (a replayed record is ignored, never billed twice); hourly
// rollups of rows past the retention age; price sheets, each in force from effective_from_ms
// until the next one. Money is integer picodollars, memory x time integer MB-milliseconds.
// No foreign keys: the ledger outlives deleted functions and versions.
constexpr const char* kMigration2 = R"sql(
CREATE TABLE price_sheets (
  id INTEGER PRIMARY KEY NOT NULL,
  effective_from_ms INTEGER NOT NULL UNIQUE,
  per_million_requests_pico INTEGER NOT NULL CHECK (per_million_requests_pico >= 0),
  per_gb_second_pico INTEGER NOT NULL CHECK (per_gb_second_pico >= 0),
  bill_init INTEGER NOT NULL CHECK (bill_init IN (0, 1)),
  created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE invocations (
  id TEXT PRIMARY KEY NOT NULL,
  function TEXT NOT NULL,
  version INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  e2e_us INTEGER NOT NULL,
  billed_ms INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  mb_ms INTEGER NOT NULL,
  cpu_us INTEGER NOT NULL,
  peak_memory_bytes INTEGER,
  cold INTEGER NOT NULL,
  init_us INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  price_sheet_id INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX invocations_by_start ON invocations(start_ms);

CREATE TABLE invocation_hours (
  hour_ms INTEGER NOT NULL,
  function TEXT NOT NULL,
  version INTEGER NOT NULL,
  price_sheet_id INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  throttled INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  cold_starts INTEGER NOT NULL,
  billed_ms INTEGER NOT NULL,
  mb_ms INTEGER NOT NULL,
  cpu_us INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, function, version, price_sheet_id)
) STRICT;
)sql";

// Step 3: autoscaling settings per version (docs/autoscaling.md). Defaults keep old versions
// as they were: no minimum, no reservation, the node's keep-alive policy ('').
constexpr const char* kMigration3 = R"sql(
ALTER TABLE versions ADD COLUMN min_instances INTEGER NOT NULL DEFAULT 0;
ALTER TABLE versions ADD COLUMN reserved_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE versions ADD COLUMN keep_alive_policy TEXT NOT NULL DEFAULT '';
)sql";

// Step 4: event triggers (scheduler/store/event_queue.h, docs/triggers.md). `events` is the
// durable async queue and its history: state 'queued' (waiting or running: a running attempt is
// not recorded, so a crash re-runs it — at-least-once), 'succeeded' or 'dead' (the dead-letter
// list). An idempotency key is unique per function. Schedules keep their next due time so a run
// missed during downtime fires once at start; subscriptions map topics to functions.
constexpr const char* kMigration4 = R"sql(
CREATE TABLE events (
  id TEXT PRIMARY KEY NOT NULL,
  function TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('async', 'cron', 'topic')),
  source TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  idempotency_key TEXT,
  state TEXT NOT NULL CHECK (state IN ('queued', 'succeeded', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  last_error TEXT,
  result TEXT
) STRICT;

CREATE UNIQUE INDEX events_by_idempotency_key ON events(function, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_by_state ON events(state, function);

CREATE TABLE schedules (
  id TEXT PRIMARY KEY NOT NULL,
  function TEXT NOT NULL,
  cron TEXT NOT NULL,
  payload TEXT NOT NULL,
  next_due_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE subscriptions (
  topic TEXT NOT NULL,
  function TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (topic, function)
) STRICT;
)sql";

// Step 5: per-function network access and event retry settings (FunctionConfig). -1 and 0
// mean the node's defaults.
constexpr const char* kMigration5 = R"sql(
ALTER TABLE versions ADD COLUMN network TEXT NOT NULL DEFAULT 'none';
ALTER TABLE versions ADD COLUMN max_retries INTEGER NOT NULL DEFAULT -1;
ALTER TABLE versions ADD COLUMN max_event_age_ms INTEGER NOT NULL DEFAULT 0;
)sql";

// Step 6: a hard CPU quota per function, in thousandths of a CPU (0: none; docs/security.md).
constexpr const char* kMigration6 = R"sql(
ALTER TABLE versions ADD COLUMN cpu_millis INTEGER NOT NULL DEFAULT 0;
)sql";

// Step 7: JavaScript functions run on Node.js by default (runtime "node"); the lean V8 runtime
// is now named "v8". Versions stored as "js" ran on the lean runtime and keep it.
constexpr const char* kMigration7 = R"sql(
UPDATE versions SET runtime = 'v8' WHERE runtime = 'js';
)sql";

// Step 8: functions' secrets, sealed with AES-256-GCM (secret_store.h); hex text of nonce,
// ciphertext and tag. Per function, not per version.
constexpr const char* kMigration8 = R"sql(
CREATE TABLE secrets (
  function TEXT NOT NULL,
  name TEXT NOT NULL,
  sealed TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (function, name)
) STRICT;
)sql";

// Step 9: scoped API tokens and private functions (docs/security.md). A token row gets its
// scopes (comma-separated names, scheduler/auth/scopes.h), an optional expiry and, once revoked,
// the time it was revoked (the row stays, so a revoked token is refused with a clear message and
// its name is listed). Tokens stored before this step are admin tokens. A version is public
// (anyone may invoke it) unless deployed private.
constexpr const char* kMigration9 = R"sql(
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE tokens ADD COLUMN expires_at_ms INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at_ms INTEGER;
ALTER TABLE versions ADD COLUMN private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1));
)sql";

constexpr Migration kMigrations[] = {
    {1, "functions, versions, tokens", kMigration1},
    {2, "invocation ledger, hourly rollups, price sheets", kMigration2},
    {3, "min_instances, reserved_concurrency, keep_alive_policy", kMigration3},
    {4, "event queue, schedules, subscriptions", kMigration4},
    {5, "network, max_retries, max_event_age_ms", kMigration5},
    {6, "cpu_millis", kMigration6},
    {7, "the lean JavaScript runtime is named v8", kMigration7},
    {8, "secrets", kMigration8},
    {9, "token scopes, expiry and revocation; private functions", kMigration9},
};

}  // namespace

std::span<const Migration> StoreMigrations() { return kMigrations; }

}  // namespace flint::scheduler
