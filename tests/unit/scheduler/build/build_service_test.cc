// BuildService (scheduler/build/build_service.h) on a real libuv loop, with a stand-in compiler
// (a shell script) and recording cgroups: admission, a cgroup per build, the memory limit seen
// through the cgroup, storing the result. Nothing here measures time.
#include "scheduler/build/build_service.h"

#include <sys/stat.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/scheduler/store/temp_dir.h"

namespace flint::scheduler {
namespace {

using testing::TempDir;

// A stand-in for g++: it writes "built" to its last argument (the file after -o), fails for a
// source named fail.cc, and takes a second for slow.cc.
constexpr const char* kFakeCompiler = R"sh(#!/bin/sh
if [ "$1" = --version ]; then echo "fake-g++ 1.0"; exit 0; fi
for a; do out=$a; done
case " $* " in
  *" fail.cc "*) echo "fail.cc:1:1: error: planned failure" >&2; exit 1 ;;
  *" slow.cc "*) sleep 1 ;;
esac
printf built > "$out"
)sh";

// Cgroups that record what the service does; each cgroup's procs file is a real file.
class RecordingCgroups final : public isolation::Cgroups {
 public:
  explicit RecordingCgroups(std::string dir) : dir_(std::move(dir)) {}
  std::string version() const override { return "recording"; }
  Result<std::vector<std::string>> Create(const std::string& name) override {
    created.push_back(name);
    live.insert(name);
    std::string procs = dir_ + "/" + name + ".procs";
    std::ofstream(procs).close();
    return std::vector<std::string>{procs};
  }
  Status SetLimits(const std::string& name, const isolation::Limits& l) override {
    limits[name] = l;
    return Status::Ok();
  }
  Status PresetLimits(const std::string&, const isolation::Limits&) override {
    return Status::Ok();
  }
  Result<isolation::Usage> ReadUsage(const std::string& name) override {
    isolation::Usage usage;
    usage.oom_kills = oom_kills.count(name) ? 1 : 0;
    return usage;
  }
  Status Remove(const std::string& name) override {
    live.erase(name);
    return Status::Ok();
  }

  std::vector<std::string> created;
  std::set<std::string> live;
  std::map<std::string, isolation::Limits> limits;
  std::set<std::string> oom_kills;  // cgroups whose build the kernel "killed" for memory

 private:
  std::string dir_;
};

struct Answer {
  bool called = false;
  Result<std::string> digest = Internal("not answered");
  uint32_t retry_after_s = 0;
};

class Harness {
 public:
  Harness() : cgroups(dir.path()) {
    uv_loop_init(&loop);
    compiler = dir.path() + "/fake-g++";
    std::ofstream(compiler) << kFakeCompiler;
    ::chmod(compiler.c_str(), 0755);
    auto opened = CodeStore::Open(dir.path() + "/data");
    FLINT_CHECK(opened.ok());
    code = std::make_shared<CodeStore>(std::move(opened).value());
  }
  ~Harness() {
    service.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
  }

  void Start(BuildQueueOptions queue, bool with_cgroups = true) {
    BuildServiceOptions options;
    options.queue = queue;
    options.cgroups = with_cgroups ? &cgroups : nullptr;
    service = std::make_unique<BuildService>(&loop, code, options);
  }

  std::shared_ptr<PendingBuild> Pending(const std::string& source) {
    BuildOptions options;
    options.compiler = compiler;
    options.sdk_include_dir = FLINT_SDK_INCLUDE_DIR;
    options.limits.memory_mb = 256;
    options.limits.cpu_millis = 500;
    options.limits.pids = 32;
    auto lookup = LookUpBuild({{source, "int x = " + std::to_string(next_++) + ";\n"}}, *code,
                              dir.path() + "/data", options);
    FLINT_CHECK(lookup.ok() && lookup->pending != nullptr);
    return lookup->pending;
  }

  // Submits a build; its answer lands in the returned object.
  std::shared_ptr<Answer> Submit(const std::string& source, Status* submitted = nullptr,
                                 std::shared_ptr<PendingBuild> pending = nullptr) {
    auto answer = std::make_shared<Answer>();
    Status s = service->Submit(pending ? pending : Pending(source),
                               [answer](Result<std::string> digest, uint32_t retry_after_s) {
                                 CHECK_FALSE(answer->called);  // exactly once
                                 answer->called = true;
                                 answer->digest = std::move(digest);
                                 answer->retry_after_s = retry_after_s;
                               });
    if (submitted != nullptr) *submitted = s;
    return answer;
  }

  void Run() { uv_run(&loop, UV_RUN_DEFAULT); }

  TempDir dir;
  uv_loop_t loop;
  RecordingCgroups cgroups;
  std::string compiler;
  std::shared_ptr<CodeStore> code;
  std::unique_ptr<BuildService> service;

 private:
  int next_ = 0;
};

BuildQueueOptions Queue(size_t running, size_t waiting, uint64_t max_wait_ms = 60'000) {
  BuildQueueOptions queue;
  queue.max_running = running;
  queue.max_waiting = waiting;
  queue.max_wait_ms = max_wait_ms;
  return queue;
}

}  // namespace

TEST_CASE("BuildService builds in a cgroup of the build's limits and stores the result",
          "[build_service]") {
  Harness h;
  h.Start(Queue(2, 2));
  auto answer = h.Submit("index.cc");
  CHECK_FALSE(answer->called);  // never inside Submit
  h.Run();
  REQUIRE(answer->called);
  REQUIRE(answer->digest.ok());
  std::ifstream built(h.code->DirOf(*answer->digest) + "/function.so");
  std::string text((std::istreambuf_iterator<char>(built)), std::istreambuf_iterator<char>());
  CHECK(text == "built");
  REQUIRE(h.cgroups.created.size() == 1);
  const isolation::Limits& limits = h.cgroups.limits.at(h.cgroups.created[0]);
  CHECK(limits.memory_bytes == 256u << 20);
  CHECK(limits.cpu_quota_us == isolation::kCpuPeriodUs / 2);
  CHECK(limits.pids_max == 32);
  CHECK(h.cgroups.live.empty());  // removed once the build ended
  CHECK(h.service->running() == 0);
}

TEST_CASE("BuildService runs builds up to its limit, queues the next and turns the rest away",
          "[build_service]") {
  Harness h;
  h.Start(Queue(1, 1));
  auto first = h.Submit("slow.cc");
  auto second = h.Submit("index.cc");
  Status third_submitted;
  auto third = h.Submit("other.cc", &third_submitted);
  CHECK(third_submitted.code() == Code::kTooManyRequests);
  CHECK(h.service->RetryAfterSeconds() >= 1);
  CHECK(h.service->running() == 1);
  CHECK(h.service->waiting() == 1);
  h.Run();
  CHECK(first->digest.ok());
  CHECK(second->digest.ok());
  CHECK_FALSE(third->called);  // turned away by Submit: never called back
  CHECK(h.cgroups.created.size() == 2);
}

TEST_CASE("BuildService answers a build that waited too long with 503 and a Retry-After",
          "[build_service]") {
  Harness h;
  h.Start(Queue(1, 4, /*max_wait_ms=*/100));
  auto running = h.Submit("slow.cc");
  auto waiting = h.Submit("index.cc");
  h.Run();
  CHECK(running->digest.ok());
  REQUIRE(waiting->called);
  CHECK(waiting->digest.status().code() == Code::kUnavailable);
  CHECK(waiting->retry_after_s >= 1);
  CHECK(h.cgroups.created.size() == 1);  // the expired build never started
}

TEST_CASE("BuildService names the memory limit when the build's cgroup saw an OOM kill",
          "[build_service]") {
  Harness h;
  h.Start(Queue(1, 1));
  h.cgroups.oom_kills.insert("b1");
  auto answer = h.Submit("fail.cc");
  h.Run();
  REQUIRE(answer->called);
  CHECK(answer->digest.status().code() == Code::kInvalidArgument);
  CHECK(answer->digest.status().message().rfind("the build exceeded its memory limit of 256 MB",
                                                0) == 0);
  CHECK(h.cgroups.live.empty());
}

TEST_CASE("BuildService passes a compile error on and frees the slot", "[build_service]") {
  Harness h;
  h.Start(Queue(1, 1), /*with_cgroups=*/false);
  auto failed = h.Submit("fail.cc");
  auto next = h.Submit("index.cc");
  h.Run();
  REQUIRE(failed->called);
  CHECK(failed->digest.status().code() == Code::kInvalidArgument);
  CHECK(failed->digest.status().message().rfind(
            "compilation failed: fail.cc:1:1: error: planned failure", 0) == 0);
  CHECK(next->digest.ok());
  CHECK(h.cgroups.created.empty());
}

TEST_CASE("BuildService tells the deployer a build could not be run, and no host path",
          "[build_service]") {
  Harness h;
  h.Start(Queue(1, 1));
  std::shared_ptr<PendingBuild> pending = h.Pending("index.cc");
  // A file where the data directory should be: no scratch folder can be made there.
  pending->data_dir = h.compiler;
  auto answer = h.Submit("index.cc", nullptr, pending);
  h.Run();
  REQUIRE(answer->called);
  CHECK(answer->digest.status().code() == Code::kInternal);
  CHECK(answer->digest.status().message() ==
        "the build could not be run; flintd's log has the details");
  CHECK(h.service->running() == 0);
  CHECK(h.cgroups.live.empty());
}

TEST_CASE("BuildService fails waiting builds at shutdown and refuses new ones", "[build_service]") {
  Harness h;
  h.Start(Queue(1, 2));
  auto running = h.Submit("slow.cc");
  auto waiting = h.Submit("index.cc");
  h.service->Shutdown();
  REQUIRE(waiting->called);
  CHECK(waiting->digest.status().code() == Code::kUnavailable);
  Status refused;
  h.Submit("late.cc", &refused);
  CHECK(refused.code() == Code::kUnavailable);
  h.Run();
  CHECK(running->digest.ok());  // a running build finishes
}

}  // namespace flint::scheduler
