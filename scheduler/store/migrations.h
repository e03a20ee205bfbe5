// The store's schema history: a numbered list of SQL steps, applied in order, each exactly once.
//
// Store::Open applies every step whose number is above the highest one recorded in the
// schema_migrations table, each inside its own transaction together with its schema_migrations
// row, so a crash leaves either the whole step or none of it. A database whose recorded version
// is above the last step here came from a newer Flint and is refused.
//
// Rules for adding a step (they keep old data directories upgradable):
//  - append only: never edit, renumber or remove a step once released; number = previous + 1;
//  - a step is plain SQL (several statements allowed) and must not BEGIN/COMMIT itself;
//  - foreign_keys is ON while steps run, so a step that rebuilds a table must follow SQLite's
//    "12-step" procedure (create new, copy, drop old, rename) in an order the keys allow;
//  - tables are STRICT so a wrong type is an error rather than silently stored.
// Planned next steps: invocations (the ledger), async_queue, schedules; each references a
// function by name (and version), like versions does, so deleting a function is one place.
#pragma once

#include <span>

namespace flint::scheduler {

struct Migration {
  int version;       // 1, 2, 3...
  const char* name;  // short description recorded in schema_migrations
  const char* sql;
};

// Every step Flint knows, in order. Invariant: versions are 1..size().
std::span<const Migration> StoreMigrations();

// SQL that creates the schema_migrations table itself; run before any step (idempotent).
inline constexpr const char* kSchemaMigrationsTableSql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version INTEGER PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL,"
    "  applied_at_ms INTEGER NOT NULL"
    ") STRICT";

}  // namespace flint::scheduler
