// LedgerIds: the request ids in a flintd data directory's ledger table, read straight from
// SQLite (read-only, beside a running flintd: WAL lets a reader in), for tests that check every
// answered call left exactly one record.
#pragma once

#include <set>
#include <string>

namespace flint::testing {

// Every id in `db_path`'s `invocations` table; fails the test case if it cannot be read.
std::set<std::string> LedgerIds(const std::string& db_path);

}  // namespace flint::testing
