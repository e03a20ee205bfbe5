#include "scheduler/store/store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint;
using namespace flint::scheduler;
using flint::scheduler::testing::TempDir;

namespace {

const std::string kDigestA = Sha256Hex("code a");
const std::string kDigestB = Sha256Hex("code b");

std::unique_ptr<Store> OpenStore(const std::string& dir) {
  Result<std::unique_ptr<Store>> store = Store::Open(dir);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(*store);
}

FunctionVersion Create(Store& store, const std::string& name, const std::string& digest,
                       FunctionConfig config = {}) {
  Result<FunctionVersion> v = store.CreateVersion(name, "node", "index.js", digest, config);
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return *v;
}

std::vector<uint32_t> VersionNumbers(const std::vector<FunctionVersion>& versions) {
  std::vector<uint32_t> out;
  for (const auto& v : versions) out.push_back(v.version);
  return out;
}

}  // namespace

TEST_CASE("Sha256Hex matches the standard test vector", "[store]") {
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(IsSha256Hex(Sha256Hex("x")));
  CHECK_FALSE(IsSha256Hex("ABC"));
}

TEST_CASE("Store::Open creates the database and applies migrations once", "[store][migrations]") {
  TempDir tmp;
  std::string dir = tmp.Sub("data/nested");  // missing parents are created
  int64_t first_applied_at = 0;
  {
    auto store = OpenStore(dir);
    CHECK(store->schema_version() == static_cast<int>(StoreMigrations().size()));
    CHECK(store->path() == dir + "/flint.db");
    auto applied = store->AppliedMigrations();
    REQUIRE(applied.ok());
    REQUIRE(applied->size() == StoreMigrations().size());
    CHECK((*applied)[0].version == 1);
    CHECK((*applied)[0].name == StoreMigrations()[0].name);
    CHECK((*applied)[0].applied_at_ms > 0);
    first_applied_at = (*applied)[0].applied_at_ms;
  }
  // Reopening applies nothing again (migration 1's CREATE TABLE would fail if it ran twice).
  auto store = OpenStore(dir);
  CHECK(store->schema_version() == static_cast<int>(StoreMigrations().size()));
  auto applied = store->AppliedMigrations();
  REQUIRE(applied.ok());
  REQUIRE(applied->size() == StoreMigrations().size());
  CHECK((*applied)[0].applied_at_ms == first_applied_at);
}

TEST_CASE("Store applies later migrations in order on an existing database",
          "[store][migrations]") {
  TempDir tmp;
  // Flint's own migrations, then two more as a later release would add them.
  const std::vector<Migration> current(StoreMigrations().begin(), StoreMigrations().end());
  const int n = static_cast<int>(current.size());
  const Migration next = {n + 1, "extra table",
                          "CREATE TABLE extra (x INTEGER NOT NULL) STRICT;"
                          "INSERT INTO extra (x) VALUES (7);"};
  const Migration after = {n + 2, "more", "ALTER TABLE extra ADD COLUMN y TEXT;"};
  std::vector<Migration> upgraded = current;
  upgraded.push_back(next);
  upgraded.push_back(after);
  {
    auto store = Store::OpenWithMigrations(tmp.path(), current);
    REQUIRE(store.ok());
    CHECK((*store)->schema_version() == n);
    Create(**store, "keep", kDigestA);
  }
  {
    auto store = Store::OpenWithMigrations(tmp.path(), upgraded);
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    CHECK((*store)->schema_version() == n + 2);
    auto applied = (*store)->AppliedMigrations();
    REQUIRE(applied.ok());
    REQUIRE(applied->size() == upgraded.size());
    CHECK((*applied)[n].name == "extra table");
    CHECK((*applied)[n + 1].version == n + 2);
    // Data written before the upgrade is still there.
    CHECK((*store)->GetLive("keep").ok());
  }
  // Idempotent: a second open with the same list changes nothing.
  auto store = Store::OpenWithMigrations(tmp.path(), upgraded);
  REQUIRE(store.ok());
  CHECK((*store)->AppliedMigrations()->size() == upgraded.size());
}

TEST_CASE("Versions stored for the runtime named js keep the lean runtime, now named v8",
          "[store][migrations]") {
  TempDir tmp;
  const std::vector<Migration> all(StoreMigrations().begin(), StoreMigrations().end());
  REQUIRE(all.size() >= 7);
  REQUIRE(all[6].version == 7);
  // Migrations 1-6, then a row as flintd stored it before migration 7 ("js", written as SQL:
  // CreateVersion writes the columns of later steps), then migration 7's statements and every
  // step after it, each one number later.
  std::vector<Migration> after(all.begin(), all.begin() + 6);
  const std::string insert_old =
      "INSERT INTO functions (name, live_version, next_version, created_at_ms, updated_at_ms) "
      "VALUES ('old', 1, 2, 0, 0); "
      "INSERT INTO versions (name, version, runtime, entry, code_digest, memory_mb, timeout_ms, "
      "  keep_alive_ms, max_instances, concurrency, created_at_ms) "
      "VALUES ('old', 1, 'js', 'index.mjs', '" +
      kDigestA + "', 128, 3000, 0, 10, 1, 0);";
  after.push_back({7, "a version of the lean runtime from before", insert_old.c_str()});
  for (size_t i = 6; i < all.size(); ++i) {
    after.push_back({static_cast<int>(i) + 2, all[i].name, all[i].sql});
  }
  auto store = Store::OpenWithMigrations(tmp.path(), after);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  auto live = (*store)->GetLive("old");
  REQUIRE(live.ok());
  CHECK(live->runtime == Runtime::kV8);
}

TEST_CASE("A failing migration is rolled back entirely and reported", "[store][migrations]") {
  TempDir tmp;
  const Migration one = StoreMigrations()[0];
  // The first statement succeeds, the second fails: neither may remain.
  const Migration broken = {2, "broken",
                            "CREATE TABLE half (x INTEGER) STRICT; SELECT nope FROM missing;"};
  const Migration fixed = {2, "fixed", "CREATE TABLE half (x INTEGER) STRICT;"};
  std::vector<Migration> bad = {one, broken};
  auto failed = Store::OpenWithMigrations(tmp.path(), bad);
  REQUIRE_FALSE(failed.ok());
  CHECK_THAT(failed.status().message(), Catch::Contains("migration 2 (broken)"));

  std::vector<Migration> good = {one, fixed};
  auto store = Store::OpenWithMigrations(tmp.path(), good);
  INFO(store.status().ToString());
  REQUIRE(store.ok());  // would fail with "table half already exists" if step 2 half-applied
  CHECK((*store)->schema_version() == 2);
  CHECK((*store)->AppliedMigrations()->back().name == "fixed");
}

TEST_CASE("Store refuses a database written by a newer Flint", "[store][migrations]") {
  TempDir tmp;
  std::vector<Migration> future(StoreMigrations().begin(), StoreMigrations().end());
  const int newer = static_cast<int>(future.size()) + 1;
  future.push_back({newer, "from the future", "CREATE TABLE later (x INTEGER);"});
  {
    auto store = Store::OpenWithMigrations(tmp.path(), future);
    REQUIRE(store.ok());
    CHECK((*store)->schema_version() == newer);
  }
  auto refused = Store::Open(tmp.path());
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(),
             Catch::Contains("schema version " + std::to_string(newer)));
  CHECK_THAT(refused.status().message(), Catch::Contains("newer Flint"));
  // Refusing changed nothing: the newer Flint can still open it.
  auto again = Store::OpenWithMigrations(tmp.path(), future);
  CHECK(again.ok());
}

TEST_CASE("CreateVersion numbers versions 1, 2, 3 and makes the newest live", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  FunctionConfig config;
  config.memory_mb = 256;
  config.timeout_ms = 5000;
  config.keep_alive_ms = 60000;
  config.max_instances = 3;
  config.concurrency = 8;
  config.network = "outbound";
  config.max_retries = 0;
  config.max_event_age_ms = 60000;
  config.cpu_millis = 1500;
  config.env = {{"ZED", "last"}, {"ALPHA", "first"}, {"EMPTY", ""}};

  FunctionVersion v1 = Create(*store, "hello", kDigestA);
  FunctionVersion v2 = Create(*store, "hello", kDigestB, config);
  CHECK(v1.version == 1);
  CHECK(v2.version == 2);
  CHECK(v2.name == "hello");
  CHECK(RuntimeName(v2.runtime) == "node");
  CHECK(v2.entry == "index.js");
  CHECK(v2.code_digest == kDigestB);
  CHECK(v2.config == config);
  CHECK(v2.created_at_ms > 0);

  auto live = store->GetLive("hello");
  REQUIRE(live.ok());
  CHECK(*live == v2);  // every field, env order included, reads back as written

  auto old = store->GetVersion("hello", 1);
  REQUIRE(old.ok());
  CHECK(*old == v1);

  CHECK(Create(*store, "hello", kDigestA).version == 3);
  auto versions = store->ListVersions("hello");
  REQUIRE(versions.ok());
  CHECK(VersionNumbers(*versions) == std::vector<uint32_t>{3, 2, 1});
}

TEST_CASE("Store reports missing functions and versions as NotFound", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  auto live = store->GetLive("nope");
  REQUIRE_FALSE(live.ok());
  CHECK(live.status().code() == Code::kNotFound);
  CHECK(live.status().message() == "function 'nope' does not exist");
  CHECK(store->GetVersion("nope", 1).status().code() == Code::kNotFound);
  CHECK(store->ListVersions("nope").status().code() == Code::kNotFound);
  CHECK(store->DeleteFunction("nope").code() == Code::kNotFound);

  Create(*store, "fn", kDigestA);
  auto missing = store->GetVersion("fn", 2);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message() == "function 'fn' has no version 2");
}

TEST_CASE("CreateVersion rejects bad input before writing anything", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  FunctionConfig bad_config;
  bad_config.memory_mb = 1;
  auto code = [&](const std::string& name, const std::string& runtime, const std::string& entry,
                  const std::string& digest, const FunctionConfig& config) {
    return store->CreateVersion(name, runtime, entry, digest, config).status().code();
  };
  CHECK(code("Bad_Name", "node", "index.js", kDigestA, {}) == Code::kInvalidArgument);
  CHECK(code("fn", "python", "index.js", kDigestA, {}) == Code::kInvalidArgument);
  CHECK(code("fn", "node", "../index.js", kDigestA, {}) == Code::kInvalidArgument);
  CHECK(code("fn", "node", "/index.js", kDigestA, {}) == Code::kInvalidArgument);
  CHECK(code("fn", "node", "", kDigestA, {}) == Code::kInvalidArgument);
  CHECK(code("fn", "node", "index.js", "abc", {}) == Code::kInvalidArgument);
  CHECK(code("fn", "node", "index.js", kDigestA, bad_config) == Code::kInvalidArgument);
  auto all = store->ListLive();
  REQUIRE(all.ok());
  CHECK(all->empty());
  // Nothing was half-created: the first real version is still 1.
  CHECK(Create(*store, "fn", kDigestA).version == 1);
}

TEST_CASE("ListLive returns each function's live version ordered by name", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  auto empty = store->ListLive();
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  Create(*store, "charlie", kDigestA);
  Create(*store, "alpha", kDigestA);
  Create(*store, "bravo", kDigestA);
  Create(*store, "alpha", kDigestB);

  auto live = store->ListLive();
  REQUIRE(live.ok());
  REQUIRE(live->size() == 3);
  CHECK((*live)[0].name == "alpha");
  CHECK((*live)[0].version == 2);
  CHECK((*live)[0].code_digest == kDigestB);
  CHECK((*live)[1].name == "bravo");
  CHECK((*live)[2].name == "charlie");
}

TEST_CASE("SetLive rolls back to an older version", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  Create(*store, "fn", kDigestA);
  Create(*store, "fn", kDigestB);
  REQUIRE(store->SetLive("fn", 1).ok());
  CHECK(store->GetLive("fn")->code_digest == kDigestA);
  CHECK(store->SetLive("fn", 9).code() == Code::kNotFound);
  CHECK(store->SetLive("other", 1).code() == Code::kNotFound);
  // The next deploy still gets a new number.
  CHECK(Create(*store, "fn", kDigestA).version == 3);
}

TEST_CASE("A deleted function's version numbers are never reused", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  Create(*store, "fn", kDigestA);
  Create(*store, "fn", kDigestA);
  Create(*store, "other", kDigestA);
  REQUIRE(store->DeleteFunction("fn").ok());

  CHECK(store->GetLive("fn").status().code() == Code::kNotFound);
  CHECK(store->GetVersion("fn", 1).status().code() == Code::kNotFound);
  CHECK(store->ListVersions("fn").status().code() == Code::kNotFound);
  CHECK(store->DeleteFunction("fn").code() == Code::kNotFound);
  auto live = store->ListLive();
  REQUIRE(live.ok());
  REQUIRE(live->size() == 1);
  CHECK((*live)[0].name == "other");

  FunctionVersion again = Create(*store, "fn", kDigestB);
  CHECK(again.version == 3);
  auto versions = store->ListVersions("fn");
  REQUIRE(versions.ok());
  CHECK(VersionNumbers(*versions) == std::vector<uint32_t>{3});
  CHECK(store->GetLive("fn")->version == 3);
}

TEST_CASE("Functions, versions and numbering survive closing and reopening", "[store]") {
  TempDir tmp;
  FunctionConfig config;
  config.env = {{"KEY", "value with \"quotes\" and \\ and \n newline"}};
  FunctionVersion hello;
  {
    auto store = OpenStore(tmp.path());
    Create(*store, "hello", kDigestA);
    hello = Create(*store, "hello", kDigestB, config);
    Create(*store, "gone", kDigestA);
    REQUIRE(store->DeleteFunction("gone").ok());
    REQUIRE(store->PutTokenHash("ci", Sha256Hex("secret")).ok());
  }
  auto store = OpenStore(tmp.path());
  auto live = store->GetLive("hello");
  REQUIRE(live.ok());
  CHECK(*live == hello);
  CHECK(store->ListVersions("hello")->size() == 2);
  CHECK(store->ListLive()->size() == 1);
  CHECK(Create(*store, "gone", kDigestA).version == 2);
  CHECK(*store->TokenHashes() == std::vector<std::string>{Sha256Hex("secret")});
}

TEST_CASE("Concurrent CreateVersion calls get distinct consecutive versions", "[store]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::vector<uint32_t>> got(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto v = store->CreateVersion("shared", "node", "index.js", kDigestA, {});
        if (v.ok()) {
          got[t].push_back(v->version);
        } else {
          ++failures[t];
        }
        // Other functions and reads interleave with the writes.
        (void)store->CreateVersion("own-" + std::to_string(t), "cpp", "main", kDigestB, {});
        (void)store->ListLive();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<uint32_t> all;
  for (int t = 0; t < kThreads; ++t) {
    CHECK(failures[t] == 0);
    all.insert(got[t].begin(), got[t].end());
  }
  CHECK(all.size() == kThreads * kPerThread);
  CHECK(*all.begin() == 1);
  CHECK(*all.rbegin() == kThreads * kPerThread);
  CHECK(store->GetLive("shared")->version == kThreads * kPerThread);
  CHECK(store->ListLive()->size() == 1 + kThreads);
}

TEST_CASE("PutTokenHash stores only hashes and replaces by name", "[store][tokens]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  REQUIRE(store->PutTokenHash("b-token", Sha256Hex("two")).ok());
  REQUIRE(store->PutTokenHash("a-token", Sha256Hex("one")).ok());
  CHECK(*store->TokenHashes() == std::vector<std::string>{Sha256Hex("one"), Sha256Hex("two")});
  REQUIRE(store->PutTokenHash("a-token", Sha256Hex("three")).ok());
  CHECK(*store->TokenHashes() == std::vector<std::string>{Sha256Hex("three"), Sha256Hex("two")});

  CHECK(store->PutTokenHash("a-token", "not-a-hash").code() == Code::kInvalidArgument);
  CHECK(store->PutTokenHash("a-token", "flint_plaintext").code() == Code::kInvalidArgument);
  CHECK(store->PutTokenHash("", Sha256Hex("x")).code() == Code::kInvalidArgument);
  CHECK(store->PutTokenHash("Bad Name", Sha256Hex("x")).code() == Code::kInvalidArgument);
}

TEST_CASE("Store::Open reports a damaged database file or a bad data directory", "[store]") {
  TempDir tmp;
  { std::ofstream(tmp.Sub("flint.db")) << std::string(4096, 'x'); }
  auto damaged = Store::Open(tmp.path());
  REQUIRE_FALSE(damaged.ok());
  CHECK_THAT(damaged.status().message(), Catch::Contains("not a database"));
  CHECK_THAT(damaged.status().message(), Catch::Contains(tmp.Sub("flint.db")));

  std::ofstream(tmp.Sub("plain-file")) << "x";
  auto not_dir = Store::Open(tmp.Sub("plain-file"));
  REQUIRE_FALSE(not_dir.ok());
  CHECK(not_dir.status().code() == Code::kIo);
}

TEST_CASE("A committed version survives the process dying without closing the store", "[store]") {
  TempDir tmp;
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child commits and dies at once: no destructor, no checkpoint, the WAL left behind.
    auto store = Store::Open(tmp.path());
    bool ok = store.ok() &&
              (*store)->CreateVersion("crashy", "node", "index.js", kDigestA, {}).ok() &&
              (*store)->CreateVersion("crashy", "node", "index.js", kDigestB, {}).ok();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(std::filesystem::exists(tmp.Sub("flint.db-wal")));

  auto store = OpenStore(tmp.path());
  auto live = store->GetLive("crashy");
  REQUIRE(live.ok());
  CHECK(live->version == 2);
  CHECK(live->code_digest == kDigestB);
}
