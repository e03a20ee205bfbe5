#include "scheduler/store/code_archive.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scheduler/store/code_staging.h"
#include "scheduler/store/code_store.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint;
using namespace flint::scheduler;
using flint::scheduler::testing::TempDir;
namespace fs = std::filesystem;

namespace {

CodeStore OpenCode(const std::string& dir, CodeStore::Limits limits = {}) {
  auto code = CodeStore::Open(dir, limits);
  REQUIRE(code.ok());
  return *code;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Runs the system's tar in `dir` and returns the archive it wrote.
std::string RunTar(const std::string& dir, const std::string& flags, const std::string& out) {
  std::string command = "cd '" + dir + "' && tar " + flags + " -f '" + out + "' . 2>&1";
  int rc = std::system(command.c_str());
  REQUIRE(WIFEXITED(rc));
  REQUIRE(WEXITSTATUS(rc) == 0);
  return ReadFile(out);
}

Result<std::string> Extract(const CodeStore& code, std::string_view archive) {
  auto staging = CodeStaging::Begin(code);
  REQUIRE(staging.ok());
  Status status = ExtractArchive(archive, **staging);
  if (!status.ok()) return status;
  return (*staging)->Commit();
}

// The files of a small function with node_modules: a scoped package, a long path, a space.
std::map<std::string, std::string> SampleFiles() {
  std::string deep = "node_modules/@scope/a-package-with-a-long-name/dist/cjs/internal/helpers/" +
                     std::string(120, 'x') + "/file-with-a-name-longer-than-ustar-allows-" +
                     std::string(60, 'y') + ".js";
  return {{"index.js", "exports.handler = async () => 1;\n"},
          {"package.json", "{\"main\":\"index.js\"}"},
          {"node_modules/@scope/pkg/index.js", "module.exports = 42;\n"},
          {"node_modules/with space/a+b.js", "x"},
          {"empty.txt", ""},
          {deep, std::string(70000, 'z')}};
}

}  // namespace

TEST_CASE("Archives made by tar unpack to the code Put would store, same digest",
          "[code][archive]") {
  for (const char* flags : {"-cz", "-c --format=gnu", "-c --format=pax", "-cz --format=ustar"}) {
    INFO("tar " << flags);
    TempDir tmp;
    auto files = SampleFiles();
    if (std::string(flags).find("ustar") != std::string::npos) {  // names up to 255 bytes
      for (auto it = files.begin(); it != files.end();) {
        it = it->first.size() > 250 ? files.erase(it) : std::next(it);
      }
    }
    for (const auto& [path, text] : files) WriteFile(tmp.Sub("src/" + path), text);
    fs::create_directories(tmp.Sub("src/node_modules/empty-dir"));
    std::string archive = RunTar(tmp.Sub("src"), flags, tmp.Sub("code.tar"));
    CHECK(IsGzip(archive) == (std::string(flags).find('z') != std::string::npos));

    CodeStore code = OpenCode(tmp.Sub("data"));
    std::vector<CodeFile> in_memory(files.begin(), files.end());
    auto expected = code.Digest(in_memory);
    REQUIRE(expected.ok());
    auto digest = Extract(code, archive);
    INFO(digest.status().ToString());
    REQUIRE(digest.ok());
    CHECK(*digest == *expected);
    for (const auto& [path, text] : files) {
      CHECK(ReadFile(code.DirOf(*digest) + "/" + path) == text);
    }
    struct stat st;
    REQUIRE(::stat((code.DirOf(*digest) + "/index.js").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0444);
    REQUIRE(::stat((code.DirOf(*digest) + "/node_modules").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0555);
    // The same code again: found stored, no second copy, no temp directory left.
    CHECK(Extract(code, archive).value() == *digest);
    size_t entries = 0;
    for (const auto& e : fs::directory_iterator(code.root())) {
      (void)e;
      ++entries;
    }
    CHECK(entries == 1);
  }
}

TEST_CASE("Archives with links, bad checksums or cut short are refused", "[code][archive]") {
  TempDir tmp;
  WriteFile(tmp.Sub("src/index.js"), "x");
  fs::create_directories(tmp.Sub("src/node_modules/.bin"));
  fs::create_symlink("../../index.js", tmp.Sub("src/node_modules/.bin/tool"));  // skipped
  fs::create_symlink("index.js", tmp.Sub("src/link.js"));
  std::string with_link = RunTar(tmp.Sub("src"), "-c", tmp.Sub("a.tar"));
  CodeStore code = OpenCode(tmp.Sub("data"));
  auto linked = Extract(code, with_link);
  REQUIRE_FALSE(linked.ok());
  CHECK(linked.status().code() == Code::kInvalidArgument);
  CHECK_THAT(linked.status().message(), Catch::Contains("'link.js' is a symbolic link"));

  fs::remove(tmp.Sub("src/link.js"));
  std::string plain = RunTar(tmp.Sub("src"), "-c", tmp.Sub("b.tar"));
  std::string corrupt = plain;
  corrupt[0] ^= 1;
  CHECK_THAT(Extract(code, corrupt).status().message(), Catch::Contains("not a tar file"));
  std::string gz = RunTar(tmp.Sub("src"), "-cz", tmp.Sub("b.tgz"));
  CHECK_THAT(Extract(code, gz.substr(0, gz.size() / 2)).status().message(),
             Catch::Contains("ends early"));
  CHECK_THAT(
      Extract(code, "not an archive at all, but long enough for a block? no").status().message(),
      Catch::Contains("ends in the middle"));
  CHECK(Extract(code, "").status().code() == Code::kInvalidArgument);
  // Nothing but the store's own folder remains after the failures.
  CHECK(fs::is_empty(code.root()));
}

TEST_CASE("An archive beyond the store's limits fails before it is inflated", "[code][archive]") {
  TempDir tmp;
  WriteFile(tmp.Sub("src/big.bin"), std::string(4 << 20, '\0'));  // compresses to a few KB
  WriteFile(tmp.Sub("src/a.js"), "a");
  WriteFile(tmp.Sub("src/b.js"), "b");
  std::string archive = RunTar(tmp.Sub("src"), "-cz", tmp.Sub("c.tgz"));
  CHECK(archive.size() < 64 * 1024);
  CodeStore::Limits small;
  small.max_total_bytes = 1 << 20;
  CodeStore code = OpenCode(tmp.Sub("data"), small);
  auto too_big = Extract(code, archive);
  CHECK(too_big.status().code() == Code::kPayloadTooLarge);
  CHECK_THAT(too_big.status().message(), Catch::Contains("big.bin"));

  CodeStore::Limits few;
  few.max_files = 2;
  CodeStore code2 = OpenCode(tmp.Sub("data2"), few);
  CHECK(Extract(code2, archive).status().code() == Code::kPayloadTooLarge);
}

TEST_CASE("CodeStaging refuses duplicates and file/directory clashes", "[code][archive]") {
  TempDir tmp;
  CodeStore code = OpenCode(tmp.Sub("data"));
  auto staging = CodeStaging::Begin(code);
  REQUIRE(staging.ok());
  CodeStaging& s = **staging;
  REQUIRE(s.Add("a/b.js", "1").ok());
  CHECK_THAT(s.Add("a/b.js", "2").message(), Catch::Contains("more than once"));
  CHECK_THAT(s.Add("a", "3").message(), Catch::Contains("both a file and a directory"));
  CHECK_THAT(s.Add("a/b.js/c", "4").message(), Catch::Contains("both a file and a directory"));
  CHECK(s.Add("../x", "5").code() == Code::kInvalidArgument);
  CHECK(s.file_count() == 1);
  CHECK(s.Has("a/b.js"));
  auto all = s.ReadAll();
  REQUIRE(all.ok());
  CHECK(*all == std::vector<CodeFile>{{"a/b.js", "1"}});
  std::string temp_parent = code.root();
  staging->reset();  // never committed: its temp directory goes
  CHECK(fs::is_empty(temp_parent));
}

TEST_CASE("CodeStaging gives Put's digest whatever the order files come in", "[code][archive]") {
  TempDir tmp;
  std::vector<CodeFile> files = {{"a.js", "1"}, {"b/c.js", "22"}, {"b/d.js", ""}, {"e", "4444"}};
  CodeStore code = OpenCode(tmp.Sub("data"));
  std::string expected = code.Digest(files).value();
  for (bool sorted : {true, false}) {
    INFO((sorted ? "in path order (hashed as they come)" : "out of order (read back)"));
    TempDir other;
    CodeStore fresh = OpenCode(other.Sub("data"));
    auto staging = CodeStaging::Begin(fresh);
    REQUIRE(staging.ok());
    std::vector<CodeFile> order = files;
    if (!sorted) std::swap(order[0], order[3]);
    for (const auto& [path, bytes] : order) REQUIRE((*staging)->Add(path, bytes).ok());
    CHECK((*staging)->Commit().value() == expected);
    CHECK(ReadFile(fresh.DirOf(expected) + "/b/c.js") == "22");
  }
}

TEST_CASE("Corrupted archives fail cleanly, never crash", "[code][archive]") {
  TempDir tmp;
  WriteFile(tmp.Sub("src/index.js"), "exports.handler = 1;");
  WriteFile(tmp.Sub("src/node_modules/@s/p/" + std::string(120, 'l') + ".js"), "x");
  std::string plain = RunTar(tmp.Sub("src"), "-c --format=pax", tmp.Sub("a.tar"));
  std::string gz = RunTar(tmp.Sub("src"), "-cz", tmp.Sub("a.tgz"));
  CodeStore code = OpenCode(tmp.Sub("data"));
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  for (int i = 0; i < 300; ++i) {
    std::string bytes = (i % 2 == 0) ? plain : gz;
    for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips) {
      bytes[next() % bytes.size()] = static_cast<char>(next() >> 16);
    }
    if (i % 7 == 0) bytes.resize(next() % bytes.size());
    auto staging = CodeStaging::Begin(code);
    REQUIRE(staging.ok());
    Status status = ExtractArchive(bytes, **staging);
    if (status.ok() && (*staging)->file_count() > 0) {
      // Whatever survived the damage passed the store's checks and can be stored.
      CHECK((*staging)->Commit().ok());
    } else if (!status.ok()) {
      CHECK_FALSE(status.message().empty());
    }
  }
}
