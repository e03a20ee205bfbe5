#include "scheduler/store/code_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "scheduler/store/store.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint;
using namespace flint::scheduler;
using flint::scheduler::testing::TempDir;
namespace fs = std::filesystem;

namespace {

CodeStore OpenCode(const std::string& dir, CodeStore::Limits limits = {}) {
  auto code = CodeStore::Open(dir, limits);
  INFO(code.status().ToString());
  REQUIRE(code.ok());
  return *code;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string BigEndian64(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
  return out;
}

std::vector<std::string> TempEntries(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(root)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".tmp-")) out.push_back(name);
  }
  return out;
}

const std::vector<CodeFile> kFiles = {
    {"index.js", "export default () => 42;\n"},
    {"lib/util.js", "export const x = 1;\n"},
    {"lib/deep/data.bin", std::string("\0\x01\xff binary", 10)},
    {"empty.txt", ""},
};

}  // namespace

TEST_CASE("CodeStore digest follows the documented encoding", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  std::vector<CodeFile> files = {{"b.js", "bbb"}, {"a.js", "a"}};
  // Sorted by path: a.js then b.js.
  std::string encoding = "flint-code-v1\n";
  encoding += BigEndian64(4) + "a.js" + BigEndian64(1) + "a";
  encoding += BigEndian64(4) + "b.js" + BigEndian64(3) + "bbb";
  auto digest = code.Digest(files);
  REQUIRE(digest.ok());
  CHECK(*digest == Sha256Hex(encoding));
}

TEST_CASE("CodeStore digest does not depend on file order but on every byte", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  std::vector<CodeFile> reversed(kFiles.rbegin(), kFiles.rend());
  auto a = code.Digest(kFiles);
  auto b = code.Digest(reversed);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);

  std::vector<CodeFile> changed = kFiles;
  changed[1].second += " ";
  CHECK(*code.Digest(changed) != *a);
  std::vector<CodeFile> renamed = kFiles;
  renamed[0].first = "main.js";
  CHECK(*code.Digest(renamed) != *a);
  // Moving a byte from a path into the content must change the digest too.
  CHECK(*code.Digest({{"ab", "c"}}) != *code.Digest({{"a", "bc"}}));
}

TEST_CASE("CodeStore::Put writes files that read back identical and read-only", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  auto digest = code.Put(kFiles);
  INFO(digest.status().ToString());
  REQUIRE(digest.ok());
  CHECK(IsSha256Hex(*digest));
  CHECK(code.Has(*digest));
  std::string dir = code.DirOf(*digest);
  CHECK(dir == fs::absolute(tmp.path()).string() + "/code/" + *digest);
  for (const auto& [path, bytes] : kFiles) {
    CHECK(ReadFile(dir + "/" + path) == bytes);
    CHECK(ModeOf(dir + "/" + path) == 0444);
  }
  CHECK(ModeOf(dir) == 0555);
  CHECK(ModeOf(dir + "/lib") == 0555);
  CHECK(ModeOf(dir + "/lib/deep") == 0555);
  // Exactly the given files, nothing else.
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) count += entry.is_regular_file();
  CHECK(count == kFiles.size());
  CHECK(TempEntries(code.root()).empty());
}

TEST_CASE("CodeStore::Put is idempotent and survives reopening", "[code]") {
  TempDir tmp;
  std::string first;
  {
    CodeStore code = OpenCode(tmp.path());
    auto digest = code.Put(kFiles);
    REQUIRE(digest.ok());
    first = *digest;
    auto again = code.Put(std::vector<CodeFile>(kFiles.rbegin(), kFiles.rend()));
    REQUIRE(again.ok());
    CHECK(*again == first);
  }
  CodeStore code = OpenCode(tmp.path());
  CHECK(code.Has(first));
  auto again = code.Put(kFiles);
  REQUIRE(again.ok());
  CHECK(*again == first);
  CHECK_FALSE(code.Has(Sha256Hex("never stored")));
  CHECK_FALSE(code.Has("../etc"));
  CHECK_FALSE(code.Has(""));
}

TEST_CASE("Concurrent Puts of the same code all succeed", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  constexpr int kThreads = 4;
  std::vector<std::string> digests(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto digest = code.Put(kFiles);
      if (digest.ok()) {
        digests[t] = *digest;
      } else {
        errors[t] = digest.status().ToString();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(errors[t] == "");
    CHECK(digests[t] == digests[0]);
  }
  CHECK(code.Has(digests[0]));
  CHECK(TempEntries(code.root()).empty());
}

TEST_CASE("CodeStore rejects unsafe and malformed paths", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  for (const char* bad : {"../x", "/abs", "a//b", "a/./b", "a/../b", ".", "..", "a/", "", "a\tb",
                          "a\nb", "a\\b", "a\x7f", "x/..", "./a", "caf\xc3\xa9"}) {
    INFO("path: " << bad);
    auto result = code.Put({{bad, "x"}});
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == Code::kInvalidArgument);
  }
  // Dots inside names are fine, and so is what npm packages use: scopes, '+', spaces, brackets.
  CHECK(code.Put({{"a.b/.hidden/...", "x"}}).ok());
  CHECK(code.Put({{"node_modules/@scope/pkg/a b+c~[id]$.js", "x"}, {"a:b", "y"}}).ok());
  CHECK(fs::is_empty(tmp.path() + "/code") == false);
}

TEST_CASE("CodeStore rejects duplicates, file/dir clashes and empty code", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  auto dup = code.Put({{"a.js", "1"}, {"b.js", "2"}, {"a.js", "1"}});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().code() == Code::kInvalidArgument);
  CHECK_THAT(dup.status().message(), Catch::Contains("more than once"));

  auto clash = code.Put({{"a", "1"}, {"a.js", "2"}, {"a/b.js", "3"}});
  REQUIRE_FALSE(clash.ok());
  CHECK_THAT(clash.status().message(), Catch::Contains("both a file and a directory"));

  CHECK(code.Put({}).status().code() == Code::kInvalidArgument);
  // Nothing was written by the failed Puts.
  CHECK(fs::is_empty(code.root()));
}

TEST_CASE("CodeStore enforces its limits", "[code]") {
  TempDir tmp;
  CodeStore::Limits limits;
  limits.max_files = 3;
  limits.max_total_bytes = 10;
  limits.max_path_length = 12;
  limits.max_depth = 3;
  CodeStore code = OpenCode(tmp.path(), limits);

  CHECK(code.Put({{"a", "12345"}, {"b", "12345"}, {"c", ""}}).ok());  // exactly at the limits
  auto too_many = code.Put({{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}});
  CHECK(too_many.status().code() == Code::kPayloadTooLarge);
  CHECK_THAT(too_many.status().message(), Catch::Contains("4 files"));
  auto too_big = code.Put({{"a", "123456"}, {"b", "12345"}});
  CHECK(too_big.status().code() == Code::kPayloadTooLarge);
  CHECK_THAT(too_big.status().message(), Catch::Contains("11 bytes"));
  CHECK(code.Put({{"abcdefghijkl", ""}}).ok());
  CHECK(code.Put({{"abcdefghijklm", ""}}).status().code() == Code::kInvalidArgument);
  CHECK(code.Put({{"a/b/c", ""}}).ok());
  CHECK(code.Put({{"a/b/c/d", ""}}).status().code() == Code::kInvalidArgument);
}

TEST_CASE("RemoveStaleTemp removes a crashed Put's temp dirs and nothing else", "[code]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.path());
  auto digest = code.Put(kFiles);
  REQUIRE(digest.ok());

  // What a crash mid-Put leaves: a temp dir from another (dead) process, partly read-only.
  std::string stale = code.root() + "/.tmp-999999999-abcdef";
  fs::create_directories(stale + "/lib/deep");
  std::ofstream(stale + "/lib/deep/x.js") << "half";
  ::chmod((stale + "/lib/deep/x.js").c_str(), 0444);
  ::chmod((stale + "/lib/deep").c_str(), 0555);
  ::chmod((stale + "/lib").c_str(), 0555);
  // A temp dir of this very process belongs to a Put that may be running now.
  std::string own = code.root() + "/.tmp-" + std::to_string(::getpid()) + "-running";
  fs::create_directories(own);

  REQUIRE(code.RemoveStaleTemp().ok());
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(own));
  CHECK(code.Has(*digest));
  CHECK(ReadFile(code.DirOf(*digest) + "/index.js") == kFiles[0].second);
  CHECK(code.RemoveStaleTemp().ok());  // nothing left to do is fine
}
