// SecretStore: secrets sealed with AES-256-GCM in the store's database, the key in a private file.
#include "scheduler/store/secret_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "scheduler/store/store.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using flint::Code;
using flint::scheduler::OpenSecret;
using flint::scheduler::SealSecret;
using flint::scheduler::SecretStore;
using flint::scheduler::Store;

namespace {

std::unique_ptr<SecretStore> OpenOrFail(const std::string& dir) {
  auto store = Store::Open(dir);
  REQUIRE(store.ok());
  auto secrets = SecretStore::Open(dir, (*store)->path());
  INFO(secrets.status().ToString());
  REQUIRE(secrets.ok());
  return std::move(secrets).value();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("A sealed secret opens only with its key and its names", "[store][secrets]") {
  std::string key(32, 'k');
  const std::string aad("fn\0A", 4);
  auto sealed = SealSecret(key, aad, "hunter2");
  REQUIRE(sealed.ok());
  CHECK(sealed->find("hunter2") == std::string::npos);
  CHECK(OpenSecret(key, aad, *sealed).value() == "hunter2");
  CHECK_FALSE(OpenSecret(std::string(32, 'x'), aad, *sealed).ok());  // another key
  CHECK_FALSE(OpenSecret(key, "other", *sealed).ok());               // moved elsewhere
  std::string tampered = *sealed;
  tampered[14] ^= 1;
  CHECK_FALSE(OpenSecret(key, aad, tampered).ok());
  CHECK(SealSecret(key, "a", "v").value() != SealSecret(key, "a", "v").value());  // fresh nonce
}

TEST_CASE("SecretStore keeps values encrypted, survives a reopen and lists names only",
          "[store][secrets]") {
  flint::scheduler::testing::TempDir dir;
  {
    auto secrets = OpenOrFail(dir.path());
    REQUIRE(secrets->Put("api", "TOKEN", "s3cr3t-value").ok());
    REQUIRE(secrets->Put("api", "B_KEY", "b").ok());
    REQUIRE(secrets->Put("api", "TOKEN", "s3cr3t-value-2").ok());  // replaces
    REQUIRE(secrets->Put("other", "TOKEN", "x").ok());
    CHECK(secrets->Names("api").value() == std::vector<std::string>{"B_KEY", "TOKEN"});
  }
  struct stat st;
  REQUIRE(::stat(dir.Sub("secrets.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  for (const char* file : {"flint.db", "flint.db-wal"}) {
    CHECK(ReadAll(dir.Sub(file)).find("s3cr3t-value") == std::string::npos);
  }
  auto secrets = OpenOrFail(dir.path());
  auto values = secrets->Values("api");
  REQUIRE(values.ok());
  CHECK(*values ==
        std::vector<flint::scheduler::EnvVar>{{"B_KEY", "b"}, {"TOKEN", "s3cr3t-value-2"}});
  CHECK(secrets->Delete("api", "B_KEY").value());
  CHECK_FALSE(secrets->Delete("api", "B_KEY").value());
  REQUIRE(secrets->DeleteAll("api").ok());
  CHECK(secrets->Values("api")->empty());
  CHECK(secrets->Values("other")->size() == 1);
}

TEST_CASE("SecretStore refuses bad names and values and a key file open to others",
          "[store][secrets]") {
  flint::scheduler::testing::TempDir dir;
  {
    auto secrets = OpenOrFail(dir.path());
    CHECK(secrets->Put("api", "bad-name", "v").code() == Code::kInvalidArgument);
    CHECK(secrets->Put("api", "K", "").code() == Code::kInvalidArgument);
    CHECK(secrets->Put("api", "K", std::string(5000, 'v')).code() == Code::kInvalidArgument);
  }
  REQUIRE(::chmod(dir.Sub("secrets.key").c_str(), 0644) == 0);
  auto store = Store::Open(dir.path());
  REQUIRE(store.ok());
  auto reopened = SecretStore::Open(dir.path(), (*store)->path());
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.status().message().find("chmod 600") != std::string::npos);
}
