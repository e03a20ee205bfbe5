#include "scheduler/app/health_monitor.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "scheduler/app/api_json.h"
#include "sdk/core/clock.h"

namespace flint::scheduler {
namespace {

// The cgroup the probe creates and removes (worker cgroups are named w<id>).
constexpr const char* kProbeCgroup = "ready-probe";
// What the disk probe writes: a few database pages' worth.
constexpr size_t kProbeBytes = 16 * 1024;

std::string Kib(uint64_t bytes) { return std::to_string(bytes / 1024) + " KiB"; }

// "" when the data directory's file system can take writes, else why not.
std::string ProbeDisk(const std::string& dir) {
  struct statvfs fs;
  if (statvfs(dir.c_str(), &fs) != 0) {
    return "cannot read the file system of " + dir + ": " + std::strerror(errno);
  }
  if (fs.f_flag & ST_RDONLY) return "the data directory " + dir + " is on a read-only file system";
  uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
  if (free_bytes < kMinFreeBytes) {
    return "the data directory's file system is full: " + Kib(free_bytes) + " free of " +
           Kib(uint64_t{fs.f_blocks} * fs.f_frsize) + " (" + dir + ")";
  }
  // Space is not all: a quota, inodes, or a file system that turned read-only below a mount
  // flag show only when writing.
  std::string path = dir + "/.ready-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write in " + dir + ": " + std::strerror(errno);
  std::vector<char> bytes(kProbeBytes, 0);
  ssize_t wrote = write(fd, bytes.data(), bytes.size());
  int err = errno;
  close(fd);
  unlink(path.c_str());
  if (wrote != static_cast<ssize_t>(bytes.size())) {
    return "cannot write in " + dir + ": " + (wrote < 0 ? std::strerror(err) : "short write");
  }
  return "";
}

std::string ProbeWorkerBinary(const std::string& path) {
  if (access(path.c_str(), X_OK) == 0) return "";
  return "the worker binary " + path + " cannot be run: " + std::strerror(errno);
}

}  // namespace

bool IsDiskFull(const Status& status) {
  const std::string& m = status.message();
  return m.find("database or disk is full") != std::string::npos ||
         m.find(std::strerror(ENOSPC)) != std::string::npos ||
         m.find(std::strerror(EDQUOT)) != std::string::npos;
}

struct HealthMonitor::ProbeResult {
  std::string disk;
  std::string store;
  std::string binary;
};

HealthMonitor::HealthMonitor(uv_loop_t* loop, HealthOptions options)
    : loop_(loop),
      options_(std::move(options)),
      timer_(loop),
      alive_(std::make_shared<std::atomic<bool>>(true)) {}

HealthMonitor::~HealthMonitor() { *alive_ = false; }

void HealthMonitor::Start() {
  timer_.Start(0, kProbeIntervalMs, [this] { Probe(); });
  timer_.Unref();
}

void HealthMonitor::Stop() { timer_.Stop(); }

void HealthMonitor::Probe() {
  if (probing_) return;  // a store probe may wait for a lock for seconds
  probing_ = true;
  auto result = std::make_shared<ProbeResult>();
  loop::RunBlocking(
      loop_,
      [result, dir = options_.data_dir, worker = options_.worker_path, store = options_.store] {
        result->disk = ProbeDisk(dir);
        if (store != nullptr) {
          Status writable = store->CheckWritable();
          // A full disk does not stop the lock from being taken; it is the disk check's.
          if (!writable.ok()) result->store = writable.message();
        }
        result->binary = ProbeWorkerBinary(worker);
      },
      [this, alive = alive_, result] {
        if (!*alive) return;
        probing_ = false;
        Apply(ReadinessCheck::kDisk, std::move(result->disk));
        Apply(ReadinessCheck::kStore, std::move(result->store));
        {
          std::lock_guard lock(worker_mu_);
          binary_problem_ = std::move(result->binary);
        }
        ApplyWorker();
        // Creating a cgroup writes a few files: every tenth probe while it works, every probe
        // while it does not.
        bool cgroups_due = probes_++ % 10 == 0 || !readiness_.state(ReadinessCheck::kCgroups).ready;
        if (options_.cgroups != nullptr && cgroups_due) {
          std::string problem;
          auto created = options_.cgroups->Create(kProbeCgroup);
          if (!created.ok()) {
            problem = "cannot create a cgroup: " + created.status().message();
          } else if (Status removed = options_.cgroups->Remove(kProbeCgroup); !removed.ok()) {
            problem = "cannot remove a cgroup: " + removed.message();
          }
          Apply(ReadinessCheck::kCgroups, std::move(problem));
        }
      });
}

void HealthMonitor::Apply(ReadinessCheck check, std::string reason) {
  auto change = readiness_.Set(check, std::move(reason), WallClockMs());
  if (!change) return;
  if (!change->ready) {
    spdlog::warn("not ready ({}): {}; deploys and async work are answered 503 until it clears",
                 ReadinessCheckName(check), change->reason);
  } else {
    spdlog::info("ready again ({}): the fault lasted {} ms", ReadinessCheckName(check),
                 change->lasted_ms);
  }
}

void HealthMonitor::ApplyWorker() {
  std::string reason;
  {
    std::lock_guard lock(worker_mu_);
    reason = !binary_problem_.empty() ? binary_problem_ : spawn_problem_;
  }
  Apply(ReadinessCheck::kWorker, std::move(reason));
}

void HealthMonitor::ReportStoreWrite(const Status& status) {
  if (status.ok()) return Apply(ReadinessCheck::kStore, "");
  if (status.code() != Code::kUnavailable || IsDiskFull(status)) return;
  Apply(ReadinessCheck::kStore, status.message());
}

void HealthMonitor::ReportSpawn(const Status& status) {
  {
    std::lock_guard lock(worker_mu_);
    spawn_problem_ = status.ok() ? "" : "cannot start a worker: " + status.message();
  }
  ApplyWorker();
}

HttpResponse HealthMonitor::ReadyzResponse(bool stopping) const {
  nlohmann::json checks = nlohmann::json::object();
  for (size_t i = 0; i < kReadinessChecks; ++i) {
    auto check = static_cast<ReadinessCheck>(i);
    Readiness::State s = readiness_.state(check);
    nlohmann::json c = {{"ready", s.ready}, {"failures", s.failures}};
    if (!s.ready) c["reason"] = s.reason;
    if (s.since_ms > 0) c["since"] = Rfc3339(s.since_ms);
    checks[std::string(ReadinessCheckName(check))] = std::move(c);
  }
  bool ready = !stopping && readiness_.ready();
  nlohmann::json body = {{"ready", ready}, {"checks", std::move(checks)}};
  if (!ready) body["reason"] = stopping ? "flintd is shutting down" : readiness_.reason();
  HttpResponse response = Json(ready ? 200 : 503, body);
  if (!ready) SetRetryAfter(response, kRetryAfterSeconds);
  return response;
}

}  // namespace flint::scheduler
