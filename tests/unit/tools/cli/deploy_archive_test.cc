#include "tools/cli/deploy_archive.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/cli/deploy_package.h"
#include "tools/cli/upload_progress.h"

namespace fs = std::filesystem;
using namespace flint::cli;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/flint-archive-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  void Write(const std::string& rel, const std::string& text) const {
    fs::path p = fs::path(path) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  std::string Read(const std::string& rel) const {
    std::ifstream in(fs::path(path) / rel, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

// Unpacks `archive` with the system's tar into `dir`; returns tar's exit status.
int Untar(const std::string& archive, const std::string& dir) {
  std::string file = dir + ".tgz";
  std::ofstream(file, std::ios::binary) << archive;
  fs::create_directories(dir);
  int rc = std::system(("tar -xzf '" + file + "' -C '" + dir + "' 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("The deploy archive is a tar.gz that tar unpacks to the same files", "[cli][archive]") {
  TempDir src;
  std::string deep = "node_modules/@scope/pkg/" + std::string(90, 'd') + "/" +
                     std::string(110, 'f') + ".js";  // needs a pax header
  std::string split = "node_modules/@scope/pkg/dist/" + std::string(80, 's') + ".js";  // prefix
  std::map<std::string, std::string> files = {{"index.js", "exports.handler = 1;"},
                                              {"empty", ""},
                                              {"node_modules/a b/c+d.js", std::string(3000, 'x')},
                                              {deep, "deep"},
                                              {split, "split"}};
  for (const auto& [path, text] : files) src.Write(path, text);
  auto package = BuildDeployPackage(src.path, "", "");
  REQUIRE(package.ok());
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  auto archive =
      PackDeployArchive(*package, [&](uint64_t d, uint64_t t) { seen.emplace_back(d, t); });
  REQUIRE(archive.ok());
  CHECK(static_cast<unsigned char>((*archive)[0]) == 0x1f);
  REQUIRE(seen.size() == files.size());
  CHECK(seen.back() == std::make_pair(package->total_bytes, package->total_bytes));

  TempDir out;
  REQUIRE(Untar(*archive, out.path + "/x") == 0);
  for (const auto& [path, text] : files) {
    INFO(path);
    CHECK(out.Read("x/" + path) == text);
  }
  // The same files give the same bytes.
  CHECK(PackDeployArchive(*package).value() == *archive);
}

TEST_CASE("TarOf writes the blocks a tar reader expects", "[cli][archive]") {
  std::string tar = TarOf({{"a.js", "hello"}});
  REQUIRE(tar.size() == 512 + 512 + 1024);
  CHECK(tar.substr(0, 4) == std::string("a.js"));
  CHECK(tar.substr(257, 6) == std::string("ustar\0", 6));
  CHECK(tar.substr(124, 12) == std::string("00000000005\0", 12));
  CHECK(tar.substr(512, 5) == "hello");
}

TEST_CASE("Upload progress is silent for small packages", "[cli][progress]") {
  std::ostringstream err;
  UploadProgress p(err, /*tty=*/true, 1000, 3);
  p.Packed(1000, 1000);
  p.PackingDone(400);
  p.Sent(400, 400);
  p.Finish();
  CHECK(err.str().empty());
}

TEST_CASE("Upload progress draws one line on a terminal", "[cli][progress]") {
  std::ostringstream err;
  uint64_t mb = 1u << 20;
  UploadProgress p(err, /*tty=*/true, 48 * mb, 2314);
  p.Packed(12 * mb, 48 * mb);
  p.Packed(12 * mb + 1, 48 * mb);  // same percentage: nothing new
  p.PackingDone(12 * mb);
  p.Sent(3 * mb, 12 * mb);
  p.Finish();
  CHECK(err.str() ==
        "\r\x1b[Kpacking 2,314 files: 12.0 MB of 48.0 MB (25%)"
        "\r\x1b[Kuploading: 3.0 MB of 12.0 MB (25%)"
        "\r\x1b[Kuploaded 2,314 files: 48.0 MB, 12.0 MB compressed\n");
}

TEST_CASE("Upload progress prints plain lines elsewhere", "[cli][progress]") {
  std::ostringstream err;
  uint64_t mb = 1u << 20;
  UploadProgress p(err, /*tty=*/false, 20 * mb, 1500);
  p.Packed(10 * mb, 20 * mb);
  p.PackingDone(5 * mb);
  p.Sent(1, 5 * mb);
  p.Sent(3 * mb, 5 * mb);
  p.Sent(5 * mb, 5 * mb);
  p.Finish();
  CHECK(err.str() ==
        "packed 1,500 files: 20.0 MB, 5.0 MB compressed\n"
        "uploading 5.0 MB: 25% 50% 75% 100%\n");
}
