// StrictConfigFile: flintd's config file, parsed by a CLI11 app as flintd's main does.
#include "scheduler/config/config_file.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using flint::scheduler::StrictConfigFile;

namespace {

struct Options {
  std::string data_dir = "default";
  std::string listen = "127.0.0.1:8080";
  bool no_isolation = false;
};

// Parses `args` (argv[0] included) with a config file holding `text`; "" on success, else the
// error's text.
std::string Parse(const std::string& text, std::vector<std::string> args, Options& o) {
  char path[] = "/tmp/flint-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  CLI::App app{"test"};
  app.set_config("--config", "");
  app.add_option("--data-dir", o.data_dir);
  app.add_option("--listen", o.listen);
  app.add_flag("--no-isolation", o.no_isolation);
  app.config_formatter(std::make_shared<StrictConfigFile>(StrictConfigFile::KnownKeys(app)));
  args.push_back("--config");
  args.push_back(path);
  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);
  std::string error;
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    error = e.what();
  }
  std::remove(path);
  return error;
}

}  // namespace

TEST_CASE("A config file's keys may use underscores or dashes", "[config]") {
  Options o;
  CHECK(Parse("data_dir = \"/srv/flint\"\nno-isolation = true\n# a comment\n\n", {"flintd"}, o) ==
        "");
  CHECK(o.data_dir == "/srv/flint");
  CHECK(o.no_isolation);
}

TEST_CASE("A config file's unknown key is refused with its line number", "[config]") {
  Options o;
  std::string error = Parse("listen = \"127.0.0.1:9\"\n\ndata_directory = \"/x\"\n", {"flintd"}, o);
  CHECK(error.find("line 3") != std::string::npos);
  CHECK(error.find("unknown key 'data_directory'") != std::string::npos);
  CHECK(Parse("[server]\nlisten = \"x:1\"\n", {"flintd"}, o).find("line 1") != std::string::npos);
}

TEST_CASE("The command line wins over the config file", "[config]") {
  Options o;
  CHECK(Parse("listen = \"127.0.0.1:1\"\n", {"flintd", "--listen", "127.0.0.1:2"}, o) == "");
  CHECK(o.listen == "127.0.0.1:2");
}
