// C++ builds against a real flintd: what a build can read, the limits that stop hostile
// sources, and the build queue. Builds run in the build sandbox (root); without root every test
// but the last WARNs and returns. Nothing asserts on timing: a build that must still be running
// is one that runs for seconds on purpose (a constant evaluation that takes longer than the
// build's time limit), and tests wait for flintd's log to say a build started.
#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sdk/encoding/base64.h"
#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"
#include "tests/support/skip_unless_root.h"

using flint::client::HttpResponse;
using flint::testing::FlintdProcess;
using flint::testing::GetOrFail;
using flint::testing::JsonOrFail;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

const std::string kFunctions = FLINT_FUNCTIONS_DIR;

using Files = std::vector<std::pair<std::string, std::string>>;

// PUT /v1/functions/NAME with C++ `files` (the entry first), through HTTP so the status and
// headers can be checked.
HttpResponse Deploy(const FlintdProcess& flintd, const std::string& name, const Files& files) {
  json body = {{"runtime", "cpp"}, {"entry", files.front().first}, {"files", json::object()}};
  for (const auto& [path, text] : files) body["files"][path] = flint::Base64Encode(text);
  flint::client::HttpRequest request;
  request.method = "PUT";
  request.target = "/v1/functions/" + name;
  request.headers = {{"authorization", "Bearer " + flintd.token()},
                     {"content-type", "application/json"}};
  request.body = body.dump();
  auto r = flintd.Http(request);
  INFO("deploy " << name << ": " << r.status().ToString() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string ErrorMessage(const HttpResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error")) return r.body;
  return body["error"].value("message", r.body);
}

std::string Header(const HttpResponse& r, const std::string& name) {
  const std::string* v = r.FindHeader(name);
  return v == nullptr ? "" : *v;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Source(const std::string& path) { return flint::testing::ReadFile(path); }

// Waits until flintd's log says build `id` started (flintd runs with --log-level debug).
bool BuildStarted(const FlintdProcess& flintd, int id) {
  std::string line = "build " + std::to_string(id) + " starts";
  return WaitUntil([&] { return Has(flintd.LogTail(1 << 20), line); }, 60s);
}

// Exponentially many distinct instantiations: memory grows by tens of MB a second.
constexpr const char* kTemplateBomb = R"cc(
  template <int N, unsigned long M>
  struct Bomb {
    static unsigned long f() { return Bomb<N - 1, 2 * M>::f() + Bomb<N - 1, 2 * M + 1>::f(); }
  };
  template <unsigned long M>
  struct Bomb<0, M> {
    static unsigned long f() { return M; }
  };
  unsigned long Detonate() { return Bomb<22, 0>::f(); }
)cc";

// 2 GB of constant data: the object file would be 2 GB.
constexpr const char* kHugeArray = R"cc(
  extern const char kHuge[2000000000];
  __attribute__((used)) const char kHuge[2000000000] = {1, 2, 3};
)cc";

// 32 constant evaluations, each just under g++'s limit of 2^25 operations (one that reached it
// would end the build with an error before its time limit on a fast machine): about a minute of
// compiler time in little memory, well past the tests' 6 s build timeout.
constexpr const char* kSlowConstant = R"cc(
  constexpr unsigned long Spin(unsigned long seed) {
    unsigned long x = seed;
    for (unsigned long i = 0; i < 1000; ++i)
      for (unsigned long j = 0; j < 1000; ++j) x += i ^ j;
    return x;
  }
  #define FLINT_SPIN(n) constexpr unsigned long kSpun##n = Spin(n);
  #define FLINT_SPIN8(n) FLINT_SPIN(n##0) FLINT_SPIN(n##1) FLINT_SPIN(n##2) FLINT_SPIN(n##3) \
    FLINT_SPIN(n##4) FLINT_SPIN(n##5) FLINT_SPIN(n##6) FLINT_SPIN(n##7)
  FLINT_SPIN8(1) FLINT_SPIN8(2) FLINT_SPIN8(3) FLINT_SPIN8(4)
  unsigned long Value() { return kSpun10 + kSpun47; }
)cc";

// Build cgroups ("b<N>") of flintd `pid` still present in any hierarchy.
std::vector<std::string> BuildCgroupsOf(pid_t pid) {
  std::vector<std::string> left;
  for (const char* h : {"cpu", "cpuacct", "memory", "pids", ""}) {
    fs::path dir =
        fs::path("/sys/fs/cgroup") / h / "flint" / std::to_string(static_cast<long>(pid));
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (it->is_directory() && name.size() > 1 && name[0] == 'b') left.push_back(it->path());
    }
  }
  return left;
}

}  // namespace

TEST_CASE("A C++ build cannot read the host's files, the data directory or other functions' code",
          "[build]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (cgroups, namespaces)");
  FlintdProcess flintd;
  StartOrFail(flintd);
  // Another function, whose code is in the store.
  TempDir other("flint-build-other");
  CHECK(flintd
            .RunCli({"deploy", "other",
                     other.Write("index.mjs", "export const handler = async () => 'secret42';")},
                    {}, 60s)
            .exit_code == 0);
  HttpResponse described =
      GetOrFail(flintd, "/v1/functions/other", {{"authorization", "Bearer " + flintd.token()}});
  std::string digest = JsonOrFail(described.body)["function"]["code_digest"];
  REQUIRE(digest.size() == 64);
  std::string token = flintd.token();
  REQUIRE_FALSE(token.empty());

  // One source per secret: g++ reports each file's first error and goes on to the next.
  HttpResponse r = Deploy(
      flintd, "snoop",
      {{"index.cc", "#include <flint/flint.h>\n#include \"/etc/shadow\"\n"},
       {"token.cc", "#include \"" + flintd.data_dir() + "/admin.token\"\n"},
       {"environ.cc", "#include \"/proc/1/environ\"\n"},
       {"other.cc", "#include \"" + flintd.data_dir() + "/code/" + digest + "/index.mjs\"\n"},
       {"database.cc", "#include \"" + flintd.data_dir() + "/flint.db\"\n"}});
  std::string message = ErrorMessage(r);
  INFO(message);
  CHECK(r.status == 400);
  CHECK(Has(message, "index.cc:2:10: fatal error: /etc/shadow: No such file or directory"));
  CHECK(Has(message, "token.cc:1:10: fatal error: " + flintd.data_dir() +
                         "/admin.token: No such file or directory"));
  CHECK(Has(message, "environ.cc:1:10: fatal error: /proc/1/environ: No such file or directory"));
  CHECK(Has(message, "other.cc:1:10: fatal error: " + flintd.data_dir() + "/code/" + digest +
                         "/index.mjs: No such file or directory"));
  CHECK(Has(message, "database.cc:1:10: fatal error:"));
  CHECK_FALSE(Has(message, token));
  CHECK_FALSE(Has(message, "root:"));
  CHECK_FALSE(Has(message, "secret42"));
  CHECK_FALSE(Has(message, "SQLite"));

  // An ordinary error names the function's own files and lines, and no path of the host.
  HttpResponse broken =
      Deploy(flintd, "broken",
             {{"index.cc", "#include <flint/flint.h>\n#include \"lib/util.h\"\n"},
              {"lib/util.h", "#pragma once\ninline int Util() { return undefined_name; }\n"}});
  std::string error = ErrorMessage(broken);
  INFO(error);
  CHECK(broken.status == 400);
  CHECK(Has(error, "compilation failed: lib/util.h:2:28: error: 'undefined_name'"));
  CHECK(Has(error, "In file included from index.cc:2:"));
  CHECK_FALSE(Has(error, flintd.data_dir()));
  CHECK_FALSE(Has(error, "build-cache"));
  CHECK_FALSE(Has(error, FLINT_SDK_INCLUDE_DIR));
  CHECK(BuildCgroupsOf(flintd.pid()).empty());
}

TEST_CASE("A template bomb and a 2 GB array are stopped by their limits while the rest goes on",
          "[build]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (cgroups, namespaces)");
  FlintdProcess flintd({"--build-memory", "320", "--build-max-output", "64", "--max-builds", "2",
                        "--log-level", "debug"});
  StartOrFail(flintd);
  TempDir dir("flint-build-warm");
  REQUIRE(flintd
              .RunCli({"deploy", "warm",
                       dir.Write("index.mjs", "export const handler = async () => 'warm';")},
                      {}, 60s)
              .exit_code == 0);
  CHECK(GetOrFail(flintd, "/fn/warm").body == "warm");

  // The bomb runs in the background (build 1) while everything else happens.
  auto bomb = std::async(std::launch::async, [&] {
    return Deploy(flintd, "bomb", {{"bomb.cc", kTemplateBomb}});
  });
  REQUIRE(BuildStarted(flintd, 1));

  HttpResponse huge = Deploy(flintd, "huge", {{"huge.cc", kHugeArray}});
  INFO(huge.body);
  CHECK(huge.status == 400);
  CHECK(ErrorMessage(huge).rfind(
            "the build exceeded its output size limit of 64 MB (a file it wrote grew larger) and "
            "was stopped",
            0) == 0);
  for (int i = 0; i < 3; ++i) CHECK(GetOrFail(flintd, "/fn/warm").body == "warm");

  HttpResponse hello =
      Deploy(flintd, "hello-cpp", {{"index.cc", Source(kFunctions + "/hello-cpp/index.cc")}});
  INFO(hello.body);
  CHECK(hello.status == 201);
  CHECK(GetOrFail(flintd, "/fn/hello-cpp?name=Ada").body == "Hello, Ada!\n");

  HttpResponse stopped = bomb.get();
  INFO(stopped.body << "\nflintd log:\n" << flintd.LogTail());
  CHECK(stopped.status == 400);
  CHECK(ErrorMessage(stopped).rfind("the build exceeded its memory limit of 320 MB and was stopped",
                                    0) == 0);
  CHECK(GetOrFail(flintd, "/fn/warm").body == "warm");
  CHECK(GetOrFail(flintd, "/healthz").status == 200);
  CHECK(BuildCgroupsOf(flintd.pid()).empty());
  // Nothing of the failed builds is left in the data directory's scratch space.
  for (const auto& e : fs::directory_iterator(flintd.data_dir() + "/build-cache")) {
    INFO(e.path());
    CHECK(e.is_regular_file());  // cache records only
  }
}

TEST_CASE(
    "A deploy beyond the build queue gets 429, one that waits too long 503, and a build "
    "past its time limit is stopped",
    "[build]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (cgroups, namespaces)");
  const Files hello = {{"index.cc", Source(kFunctions + "/hello-cpp/index.cc")}};
  {
    // No queue: a second build while one runs is turned away at once.
    FlintdProcess flintd({"--max-builds", "1", "--build-queue", "0", "--build-timeout", "6s",
                          "--log-level", "debug"});
    StartOrFail(flintd);
    auto slow = std::async(std::launch::async, [&] {
      return Deploy(flintd, "slow", {{"slow.cc", kSlowConstant}});
    });
    REQUIRE(BuildStarted(flintd, 1));
    HttpResponse refused = Deploy(flintd, "hello-cpp", hello);
    INFO(refused.body);
    CHECK(refused.status == 429);
    CHECK(std::stoi(Header(refused, "retry-after")) >= 1);
    CHECK(Has(ErrorMessage(refused), "too many C++ builds at once"));
    HttpResponse timed_out = slow.get();
    INFO(timed_out.body);
    CHECK(timed_out.status == 400);
    CHECK(ErrorMessage(timed_out).rfind(
              "the build exceeded its time limit of 6 s and was stopped (it may use 1 CPU)", 0) ==
          0);
  }
  {
    // A queue of one, waited in for at most a second.
    FlintdProcess flintd({"--max-builds", "1", "--build-queue", "1", "--build-queue-timeout", "1s",
                          "--build-timeout", "6s", "--log-level", "debug"});
    StartOrFail(flintd);
    auto slow = std::async(std::launch::async, [&] {
      return Deploy(flintd, "slow", {{"slow.cc", kSlowConstant}});
    });
    REQUIRE(BuildStarted(flintd, 1));
    HttpResponse waited = Deploy(flintd, "hello-cpp", hello);
    INFO(waited.body);
    CHECK(waited.status == 503);
    CHECK(std::stoi(Header(waited, "retry-after")) >= 1);
    CHECK(Has(ErrorMessage(waited), "waited 1 s for one of the server's build slots"));
    CHECK(slow.get().status == 400);
  }
}

TEST_CASE("Without isolation a C++ build runs unsandboxed and the deploy says so", "[build]") {
  FlintdProcess flintd({"--no-isolation"});
  StartOrFail(flintd);
  HttpResponse r =
      Deploy(flintd, "hello-cpp", {{"index.cc", Source(kFunctions + "/hello-cpp/index.cc")}});
  INFO(r.body);
  CHECK(r.status == 201);
  CHECK(Has(Header(r, "x-flint-warning"), "built without the build sandbox"));
  CHECK(GetOrFail(flintd, "/fn/hello-cpp?name=Ada").body == "Hello, Ada!\n");
}
