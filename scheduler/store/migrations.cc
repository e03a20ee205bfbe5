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

constexpr Migration kMigrations[] = {
    {1, "functions, versions, tokens", kMigration1},
};

}  // namespace

std::span<const Migration> StoreMigrations() { return kMigrations; }

}  // namespace flint::scheduler
