#include "scheduler/store/admin_token.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint;
using namespace flint::scheduler;
using flint::scheduler::testing::TempDir;

namespace {
std::unique_ptr<Store> OpenStore(const std::string& dir) {
  auto store = Store::Open(dir);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(*store);
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("EnsureAdminToken creates a 0600 token file and records only its hash", "[token]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  // Even a permissive umask must not make the file readable by others.
  mode_t old_umask = ::umask(0);
  auto token = EnsureAdminToken(tmp.path(), *store);
  ::umask(old_umask);
  INFO(token.status().ToString());
  REQUIRE(token.ok());
  CHECK(token->starts_with("flint_"));
  CHECK(token->size() == 6 + 64);
  CHECK(IsWellFormedToken(*token));

  std::string path = tmp.Sub("admin.token");
  CHECK(ModeOf(path) == 0600);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  CHECK(line == *token);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  auto hashes = store->TokenHashes();
  REQUIRE(hashes.ok());
  CHECK(*hashes == std::vector<std::string>{Sha256Hex(*token)});
}

TEST_CASE("EnsureAdminToken returns the same token on every start", "[token]") {
  TempDir tmp;
  std::string first;
  {
    auto store = OpenStore(tmp.path());
    auto token = EnsureAdminToken(tmp.path(), *store);
    REQUIRE(token.ok());
    first = *token;
    auto again = EnsureAdminToken(tmp.path(), *store);
    REQUIRE(again.ok());
    CHECK(*again == first);
  }
  auto store = OpenStore(tmp.path());
  auto token = EnsureAdminToken(tmp.path(), *store);
  REQUIRE(token.ok());
  CHECK(*token == first);
  CHECK(store->TokenHashes()->size() == 1);
}

TEST_CASE("EnsureAdminToken records the hash of a file from a run that crashed", "[token]") {
  TempDir tmp;
  std::string token;
  {
    auto store = OpenStore(tmp.path());
    token = *EnsureAdminToken(tmp.path(), *store);
  }
  // A fresh database (e.g. deleted by hand) beside the existing token file.
  std::filesystem::remove(tmp.Sub("flint.db"));
  std::filesystem::remove(tmp.Sub("flint.db-wal"));
  std::filesystem::remove(tmp.Sub("flint.db-shm"));
  auto store = OpenStore(tmp.path());
  CHECK(store->TokenHashes()->empty());
  auto again = EnsureAdminToken(tmp.path(), *store);
  REQUIRE(again.ok());
  CHECK(*again == token);
  CHECK(*store->TokenHashes() == std::vector<std::string>{Sha256Hex(token)});
}

TEST_CASE("EnsureAdminToken refuses a token file others can read or a damaged one", "[token]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  auto token = EnsureAdminToken(tmp.path(), *store);
  REQUIRE(token.ok());
  std::string path = tmp.Sub("admin.token");

  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto open = EnsureAdminToken(tmp.path(), *store);
  REQUIRE_FALSE(open.ok());
  CHECK_THAT(open.status().message(), Catch::Contains("0644"));

  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  std::ofstream(path, std::ios::trunc) << "not a token\n";
  auto damaged = EnsureAdminToken(tmp.path(), *store);
  REQUIRE_FALSE(damaged.ok());
  CHECK_THAT(damaged.status().message(), Catch::Contains("does not hold a Flint token"));

  // A symlink in place of the file is not followed.
  std::filesystem::remove(path);
  std::filesystem::create_symlink("/etc/hostname", path);
  CHECK_FALSE(EnsureAdminToken(tmp.path(), *store).ok());
}

TEST_CASE("NewToken gives different well-formed tokens", "[token]") {
  auto a = NewToken();
  auto b = NewToken();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a != *b);
  CHECK(IsWellFormedToken(*a));
  CHECK_FALSE(IsWellFormedToken("flint_" + std::string(63, 'a')));
  CHECK_FALSE(IsWellFormedToken("flint_" + std::string(64, 'A')));
  CHECK_FALSE(IsWellFormedToken("token_" + std::string(64, 'a')));
}
