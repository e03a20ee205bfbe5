#include "scheduler/isolation/cgroups.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "scheduler/isolation/fake_cgroups.h"
#include "tests/support/skip_unless_root.h"

namespace iso = flint::scheduler::isolation;

namespace {

// Forks a child that joins the cgroup through `procs`, waits for a byte on a pipe, then runs
// `body` and exits 0. Returns (once the child is inside) its pid and the pipe's write end.
template <class Body>
std::pair<pid_t, int> ForkInto(const std::vector<std::string>& procs, Body body) {
  int go[2];
  int joined[2];
  REQUIRE(::pipe(go) == 0);
  REQUIRE(::pipe(joined) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(go[1]);
    ::close(joined[0]);
    std::string me = std::to_string(::getpid());
    for (const auto& path : procs) {
      FILE* f = std::fopen(path.c_str(), "w");
      if (f == nullptr || std::fputs(me.c_str(), f) < 0 || std::fclose(f) != 0) ::_exit(3);
    }
    if (::write(joined[1], "j", 1) != 1) ::_exit(4);
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(4);
    body();
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(joined[1]);
  char c;
  CHECK(::read(joined[0], &c, 1) == 1);
  ::close(joined[0]);
  return {pid, go[1]};
}

int Run(std::pair<pid_t, int> child) {
  REQUIRE(::write(child.second, "g", 1) == 1);
  ::close(child.second);
  int status = 0;
  REQUIRE(::waitpid(child.first, &status, 0) == child.first);
  return status;
}

}  // namespace

namespace {

iso::Limits Proportional(uint32_t memory_mb) {
  return iso::LimitsFor(memory_mb, 0, iso::CpuMode::kProportionalQuota);
}
iso::Limits Weighted(uint32_t memory_mb) {
  return iso::LimitsFor(memory_mb, 0, iso::CpuMode::kWeight);
}

}  // namespace

TEST_CASE("LimitsFor weighs CPU by memory, one vCPU per 1769 MB as Lambda, with no quota",
          "[isolation]") {
  CHECK(Weighted(1769).cpu_shares == iso::kCpuSharesPerVcpu);
  CHECK(Weighted(3538).cpu_shares == 2 * iso::kCpuSharesPerVcpu);
  CHECK(Weighted(128).cpu_shares == 74);  // 7.2% of a vCPU's weight
  CHECK(Weighted(1).cpu_shares == iso::kMinCpuShares);
  for (uint32_t mb : {1u, 128u, 1769u, 10240u}) {
    CHECK(Weighted(mb).cpu_quota_us == 0);  // work-conserving
    CHECK(Weighted(mb).memory_bytes == uint64_t{mb} << 20);
    CHECK(Weighted(mb).pids_max == iso::kPidsMax);
    // The mode changes the quota only.
    CHECK(Proportional(mb).cpu_shares == Weighted(mb).cpu_shares);
    CHECK(Proportional(mb).memory_bytes == Weighted(mb).memory_bytes);
  }
}

TEST_CASE("LimitsFor in proportional-quota mode gives Lambda's hard CPU caps", "[isolation]") {
  CHECK(Proportional(1769).cpu_quota_us == iso::kCpuPeriodUs);
  CHECK(Proportional(3538).cpu_quota_us == 2 * iso::kCpuPeriodUs);
  CHECK(Proportional(128).cpu_quota_us == 7235);  // 7.2% of 100 ms
  CHECK(Proportional(1).cpu_quota_us == iso::kMinCpuQuotaUs);
  CHECK(Proportional(128).cpu_period_us == iso::kCpuPeriodUs);
}

TEST_CASE("LimitsFor gives a function's own cpu as a hard quota and weight in either mode",
          "[isolation]") {
  for (auto mode : {iso::CpuMode::kWeight, iso::CpuMode::kProportionalQuota}) {
    CHECK(iso::LimitsFor(128, 500, mode).cpu_quota_us == 50'000);
    CHECK(iso::LimitsFor(128, 500, mode).cpu_shares == 512);
    CHECK(iso::LimitsFor(10240, 2000, mode).cpu_quota_us == 200'000);
    CHECK(iso::LimitsFor(10240, 2000, mode).cpu_shares == 2048);
    CHECK(iso::LimitsFor(128, 5, mode).cpu_quota_us == iso::kMinCpuQuotaUs);
    CHECK(iso::LimitsFor(128, 5, mode).cpu_shares == 5);
    CHECK(iso::LimitsFor(128, 1'000'000, mode).cpu_shares == iso::kMaxCpuShares);
  }
}

TEST_CASE("CPU modes have names, and cgroup v2 weights follow v1 shares", "[isolation]") {
  CHECK(iso::CpuModeName(iso::CpuMode::kWeight) == "weight");
  CHECK(iso::ParseCpuMode("proportional-quota") == iso::CpuMode::kProportionalQuota);
  CHECK(iso::ParseCpuMode("weight") == iso::CpuMode::kWeight);
  CHECK_FALSE(iso::ParseCpuMode("quota").has_value());
  CHECK(iso::CpuWeightV2(1024) == 100);  // both kernels' defaults
  CHECK(iso::CpuWeightV2(74) == 7);
  CHECK(iso::CpuWeightV2(2) == 1);
  CHECK(iso::CpuWeightV2(iso::kMaxCpuShares) == 10'000);
}

TEST_CASE("FakeCgroups records creation, limits and removal", "[isolation]") {
  iso::FakeCgroups fake;
  auto procs = fake.Create("w1");
  REQUIRE(procs.ok());
  CHECK(procs->size() == 1);
  CHECK(fake.SetLimits("w1", Weighted(256)).ok());
  CHECK(fake.limits["w1"].memory_bytes == 256ull << 20);
  fake.busy.insert("w1");
  CHECK(fake.Remove("w1").code() == flint::Code::kUnavailable);
  fake.busy.clear();
  CHECK(fake.Remove("w1").ok());
  CHECK_FALSE(fake.SetLimits("w1", {}).ok());
}

TEST_CASE("Cgroups (root): a cgroup accounts CPU time and is removed once empty", "[isolation]") {
  FLINT_SKIP_UNLESS_ROOT("real cgroups");
  auto opened = iso::OpenCgroups();
  INFO(opened.status().ToString());
  REQUIRE(opened.ok());
  iso::Cgroups& cgroups = **opened;
  auto procs = cgroups.Create("cpu-test");
  REQUIRE(procs.ok());
  REQUIRE(cgroups.SetLimits("cpu-test", Weighted(256)).ok());
  auto child = ForkInto(*procs, [] {
    // 60 ms of CPU time by the process's own clock; the cgroup's counter is sampled differently
    // (it can read a little lower), so the check below asks for 50 ms.
    timespec ts{};
    do {
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec == 0 && ts.tv_nsec < 60'000'000);
  });
  CHECK(cgroups.Remove("cpu-test").code() == flint::Code::kUnavailable);  // the child is inside
  int status = Run(child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto usage = cgroups.ReadUsage("cpu-test");
  REQUIRE(usage.ok());
  CHECK(usage->cpu_us >= 50'000);
  CHECK(usage->oom_kills == 0);
  CHECK(usage->peak_memory_bytes > 0);
  CHECK(cgroups.Remove("cpu-test").ok());
}

namespace {

// A file of a cgroup of `cgroups`: in the `v1_dir` hierarchy (v1) or the unified tree (v2).
std::string CgroupFilePath(iso::Cgroups& cgroups, const std::string& name, const char* v1_dir,
                           const std::string& file) {
  std::string pid = std::to_string(::getpid());
  if (cgroups.version() == "v1") {
    return std::string("/sys/fs/cgroup/") + v1_dir + "/flint/" + pid + "/" + name + "/" + file;
  }
  return "/sys/fs/cgroup/flint/" + pid + "/" + name + "/" + file;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

TEST_CASE("Cgroups (root): limits written at LOAD and rewritten later land in the files",
          "[isolation]") {
  FLINT_SKIP_UNLESS_ROOT("real cgroups");
  auto opened = iso::OpenCgroups();
  REQUIRE(opened.ok());
  iso::Cgroups& cgroups = **opened;
  REQUIRE(cgroups.Create("limits-test").ok());
  bool v1 = cgroups.version() == "v1";
  // The function-independent limits are in place before any LOAD.
  CHECK(Slurp(CgroupFilePath(cgroups, "limits-test", "pids", "pids.max")) ==
        std::to_string(iso::kPidsMax));
  std::string memory_file = v1 ? "memory.limit_in_bytes" : "memory.max";
  std::string cpu_file = v1 ? "cpu.cfs_quota_us" : "cpu.max";
  std::string weight_file = v1 ? "cpu.shares" : "cpu.weight";
  auto cpu_quota = [&] { return Slurp(CgroupFilePath(cgroups, "limits-test", "cpu", cpu_file)); };
  auto cpu_weight = [&] {
    return Slurp(CgroupFilePath(cgroups, "limits-test", "cpu", weight_file));
  };
  std::string period = std::to_string(iso::kCpuPeriodUs);
  // A preset (a pre-warmed worker's) is in the files at once; SetLimits then raises it.
  REQUIRE(cgroups.PresetLimits("limits-test", Proportional(128)).ok());
  CHECK(Slurp(CgroupFilePath(cgroups, "limits-test", "memory", memory_file)) ==
        std::to_string(128ull << 20));
  CHECK(cpu_quota() == (v1 ? "7235" : "7235 " + period));
  CHECK(cpu_weight() == (v1 ? "74" : "7"));
  // The default mode: a weight and no quota.
  REQUIRE(cgroups.SetLimits("limits-test", Weighted(256)).ok());
  CHECK(Slurp(CgroupFilePath(cgroups, "limits-test", "memory", memory_file)) ==
        std::to_string(256ull << 20));
  CHECK(cpu_quota() == (v1 ? "-1" : "max " + period));
  CHECK(cpu_weight() == (v1 ? "148" : "14"));
  // Again, with other values and a quota: the descriptors were closed after the first call.
  iso::Limits more = iso::LimitsFor(512, 500, iso::CpuMode::kWeight);
  more.pids_max = 16;
  REQUIRE(cgroups.SetLimits("limits-test", more).ok());
  CHECK(Slurp(CgroupFilePath(cgroups, "limits-test", "memory", memory_file)) ==
        std::to_string(512ull << 20));
  CHECK(Slurp(CgroupFilePath(cgroups, "limits-test", "pids", "pids.max")) == "16");
  CHECK(cpu_quota() == (v1 ? "50000" : "50000 " + period));
  CHECK(cpu_weight() == (v1 ? "512" : "50"));
  // Usage read twice through the same descriptors reads the file from its start each time.
  auto first = cgroups.ReadUsage("limits-test");
  auto second = cgroups.ReadUsage("limits-test");
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(second->cpu_us >= first->cpu_us);
  CHECK(second->oom_kills == 0);
  CHECK(cgroups.Remove("limits-test").ok());
  CHECK(cgroups.ReadUsage("limits-test").status().code() == flint::Code::kNotFound);
  CHECK(cgroups.SetLimits("limits-test", more).code() == flint::Code::kNotFound);
}

TEST_CASE("Cgroups (root): the kernel kills a process past the memory limit", "[isolation]") {
  FLINT_SKIP_UNLESS_ROOT("real cgroups");
  auto opened = iso::OpenCgroups();
  REQUIRE(opened.ok());
  iso::Cgroups& cgroups = **opened;
  auto procs = cgroups.Create("oom-test");
  REQUIRE(procs.ok());
  iso::Limits limits = Weighted(32);
  REQUIRE(cgroups.SetLimits("oom-test", limits).ok());
  int status = Run(ForkInto(*procs, [] {
    for (int i = 0; i < 256; ++i) {
      char* p = static_cast<char*>(std::malloc(1 << 20));
      if (p == nullptr) ::_exit(5);
      std::memset(p, i, 1 << 20);  // touched, so really charged
    }
  }));
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  auto usage = cgroups.ReadUsage("oom-test");
  REQUIRE(usage.ok());
  CHECK(usage->oom_kills >= 1);
  CHECK(cgroups.Remove("oom-test").ok());
}

TEST_CASE("Cgroups (root): the pids limit stops a fork bomb", "[isolation]") {
  FLINT_SKIP_UNLESS_ROOT("real cgroups");
  auto opened = iso::OpenCgroups();
  REQUIRE(opened.ok());
  iso::Cgroups& cgroups = **opened;
  auto procs = cgroups.Create("pids-test");
  REQUIRE(procs.ok());
  iso::Limits limits = Weighted(128);
  limits.pids_max = 8;
  REQUIRE(cgroups.SetLimits("pids-test", limits).ok());
  int status = Run(ForkInto(*procs, [] {
    int made = 0;
    pid_t kids[64];
    for (; made < 64; ++made) {
      pid_t pid = ::fork();
      if (pid == 0) ::_exit(0);
      if (pid < 0) break;
      kids[made] = pid;
    }
    int failed_with = errno;
    for (int i = 0; i < made; ++i) ::waitpid(kids[i], nullptr, 0);
    // The parent counts against the limit: 7 forks at most.
    ::_exit(made <= 7 && failed_with == EAGAIN ? 0 : 10 + made);
  }));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(cgroups.Remove("pids-test").ok());
}

TEST_CASE("Cgroups (root): flintd's own process stays outside the subtree it hands down",
          "[isolation]") {
  FLINT_SKIP_UNLESS_ROOT("real cgroups");
  auto opened = iso::OpenCgroups();
  REQUIRE(opened.ok());
  // v2's no-internal-process rule: a cgroup that holds a process cannot enable controllers
  // for its children, so flintd never joins flint/ or anything below it.
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line)) {
    INFO(line);
    CHECK(line.find("/flint/") == std::string::npos);
  }
  if ((*opened)->version() == "v2") {
    std::string base = "/sys/fs/cgroup/flint/" + std::to_string(::getpid());
    for (const std::string& dir : {std::string("/sys/fs/cgroup/flint"), base}) {
      std::string handed = Slurp(dir + "/cgroup.subtree_control") + " ";
      INFO(dir << ": " << handed);
      for (const char* controller : {"cpu ", "memory ", "pids "}) {
        CHECK(handed.find(controller) != std::string::npos);
      }
    }
  }
}

TEST_CASE("Cgroups (root): a subtree left by a dead flintd is removed, a live one is kept",
          "[isolation]") {
  FLINT_SKIP_UNLESS_ROOT("real cgroups");
  std::string stale;
  std::string live;
  {
    auto first = iso::OpenCgroups();
    REQUIRE(first.ok());
    // A pid no process has (beyond pid_max), as a crashed flintd leaves it.
    std::string base =
        (*first)->version() == "v1" ? "/sys/fs/cgroup/memory/flint/" : "/sys/fs/cgroup/flint/";
    stale = base + "4194305";
    REQUIRE(::mkdir(stale.c_str(), 0755) == 0);
    REQUIRE(::mkdir((stale + "/w1").c_str(), 0755) == 0);
    live = base + std::to_string(::getpid());
    CHECK(std::filesystem::exists(live));
  }
  CHECK_FALSE(std::filesystem::exists(live));  // removed with the Cgroups
  auto second = iso::OpenCgroups();
  REQUIRE(second.ok());
  CHECK_FALSE(std::filesystem::exists(stale));
}
