// Keeps the module rules of docs/architecture.md: which folder may include which, and which one
// module may include each third-party library.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Include {
  std::string file;  // relative to the source root
  std::string target;
};

std::vector<Include> AllIncludes() {
  std::vector<Include> out;
  const fs::path root = FLINT_SOURCE_DIR;
  const std::regex include_re(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  for (const char* top : {"sdk", "runtime", "scheduler", "tools"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cc") continue;
      std::ifstream in(entry.path());
      std::string line;
      std::smatch m;
      while (std::getline(in, line)) {
        if (std::regex_search(line, m, include_re)) {
          out.push_back({fs::relative(entry.path(), root).string(), m[1].str()});
        }
      }
    }
  }
  return out;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// A standard library header (<vector>), or a C one (<time.h>, <sys/types.h>).
bool IsSystemHeader(const std::string& target) {
  static const std::regex standard(R"(^([a-z_]+|[a-z_]+\.h|sys/[a-z_]+\.h)$)");
  return std::regex_match(target, standard);
}

// True when `file` lives in one of `allowed` folders.
bool In(const std::string& file, std::initializer_list<const char*> allowed) {
  for (const char* dir : allowed) {
    if (StartsWith(file, dir)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("The include graph keeps Flint's module rules", "[layering]") {
  auto includes = AllIncludes();
  REQUIRE(includes.size() > 50);  // the scan found the tree
  for (const auto& inc : includes) {
    INFO(inc.file << " includes " << inc.target);
    const std::string& f = inc.file;
    const std::string& t = inc.target;
    if (StartsWith(f, "runtime/")) CHECK_FALSE(StartsWith(t, "scheduler/"));
    if (StartsWith(f, "scheduler/")) CHECK_FALSE(StartsWith(t, "runtime/"));
    if (StartsWith(f, "sdk/")) {
      CHECK_FALSE(StartsWith(t, "scheduler/"));
      CHECK_FALSE(StartsWith(t, "runtime/"));
      CHECK_FALSE(StartsWith(t, "tools/"));
    }
    if (StartsWith(f, "sdk/core/")) {
      CHECK((StartsWith(t, "sdk/core/") || t.find('/') == std::string::npos ||
             StartsWith(t, "sys/") || StartsWith(t, "linux/")));
    }
    if (StartsWith(f, "sdk/protocol/")) {
      CHECK((StartsWith(t, "sdk/core/") || StartsWith(t, "sdk/protocol/") ||
             t.find('/') == std::string::npos));
    }
    if (StartsWith(f, "tools/")) {
      CHECK_FALSE(StartsWith(t, "scheduler/"));
      CHECK_FALSE(StartsWith(t, "runtime/"));
    }
    // The Node.js runtime's addon is built against Node.js's own headers, apart from the rest
    // of the worker: it compiles in only these pure or version-neutral sources, and nothing but
    // flint-worker's main (for the shared memory figures) includes it.
    if (StartsWith(f, "runtime/node/") && StartsWith(t, "runtime/")) {
      CHECK((StartsWith(t, "runtime/node/") || t == "runtime/api/lambda_event.h" ||
             t == "runtime/api/lambda_result.h" || t == "runtime/api/log_line.h" ||
             t == "runtime/js/js_util.h" || t == "runtime/sandbox/code_request.h"));
    }
    if (StartsWith(t, "runtime/node/") && !StartsWith(f, "runtime/node/")) {
      CHECK((f == "runtime/main.cc" && t == "runtime/node/node_limits.h"));
    }
    // Each third-party library stays inside its one wrapper module.
    if (t == "v8.h" || StartsWith(t, "v8-") || StartsWith(t, "libplatform/")) {
      CHECK(In(f, {"runtime/js/", "runtime/api/", "runtime/node/"}));
    }
    if (t == "node.h" || StartsWith(t, "node_") || t == "js_native_api.h") {
      CHECK(In(f, {"runtime/node/"}));
    }
    if (t == "sqlite3.h") CHECK(In(f, {"scheduler/store/"}));
    if (StartsWith(t, "openssl/")) CHECK(In(f, {"scheduler/store/", "sdk/encoding/"}));
    if (StartsWith(t, "curl/")) CHECK(In(f, {"sdk/client/"}));
    if (StartsWith(t, "toml++/")) CHECK(In(f, {"tools/cli/project.cc"}));
    if (t == "zlib.h") CHECK(In(f, {"scheduler/store/", "tools/cli/"}));
    if (StartsWith(t, "boost/process")) CHECK(In(f, {"scheduler/spawn/"}));
    if (StartsWith(t, "libcgroup")) CHECK(In(f, {"scheduler/isolation/"}));
    if (t == "seccomp.h" || t == "linux/seccomp.h") CHECK(In(f, {"runtime/sandbox/"}));
    if (t == "llhttp.h") CHECK(In(f, {"scheduler/server/"}));
    if (t == "uv.h") CHECK_FALSE(In(f, {"sdk/core/", "sdk/protocol/", "sdk/include/"}));
  }
}

TEST_CASE("Flint's decisions stay pure: scheduler/core and scheduler/events do no I/O",
          "[layering]") {
  // Pool, keep-alive, capacity, cron, retries and the backlog take their clock from the caller
  // and return decisions: no libuv, SQLite, cgroups, processes or sockets, so they are
  // unit-tested fast and exhaustively. They include the standard library, sdk/core and each
  // other (events may use core, never the reverse).
  size_t checked = 0;
  for (const auto& inc : AllIncludes()) {
    const std::string& f = inc.file;
    const std::string& t = inc.target;
    bool core = StartsWith(f, "scheduler/core/");
    bool events = StartsWith(f, "scheduler/events/");
    if (!core && !events) continue;
    INFO(f << " includes " << t);
    checked++;
    bool allowed = IsSystemHeader(t) || StartsWith(t, "sdk/core/") ||
                   StartsWith(t, "scheduler/core/") ||
                   (events && StartsWith(t, "scheduler/events/"));
    CHECK(allowed);
    CHECK_FALSE((t == "uv.h" || t == "sqlite3.h" || StartsWith(t, "libcgroup") ||
                 StartsWith(t, "boost/") || StartsWith(t, "scheduler/spawn/") ||
                 StartsWith(t, "scheduler/isolation/") || StartsWith(t, "scheduler/store/") ||
                 StartsWith(t, "sdk/loop/")));
  }
  CHECK(checked > 10);  // the scan found both folders
}

TEST_CASE("Metrics stay apart: scheduler/metrics knows no loop and no other scheduler module",
          "[layering]") {
  // The registry and the text format are filled and rendered by the app; they include the
  // standard library, the C library (for /proc), sdk/core and each other only, so counting
  // cannot grow a dependency on libuv, the store or the dispatcher.
  size_t checked = 0;
  for (const auto& inc : AllIncludes()) {
    if (!StartsWith(inc.file, "scheduler/metrics/")) continue;
    INFO(inc.file << " includes " << inc.target);
    checked++;
    CHECK((IsSystemHeader(inc.target) || StartsWith(inc.target, "sdk/core/") ||
           StartsWith(inc.target, "scheduler/metrics/")));
  }
  CHECK(checked > 5);
}
