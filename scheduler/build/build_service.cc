#include "scheduler/build/build_service.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace flint::scheduler {

isolation::Limits CgroupLimitsForBuild(const BuildLimits& limits) {
  isolation::Limits out;
  out.memory_bytes = uint64_t{limits.memory_mb} << 20;
  out.cpu_period_us = isolation::kCpuPeriodUs;
  out.cpu_quota_us = std::max(isolation::kMinCpuQuotaUs,
                              uint64_t{limits.cpu_millis} * isolation::kCpuPeriodUs / 1000);
  out.pids_max = limits.pids;
  return out;
}

BuildService::BuildService(uv_loop_t* loop, std::shared_ptr<const CodeStore> code,
                           BuildServiceOptions options)
    : loop_(loop),
      code_(std::move(code)),
      options_(options),
      queue_(options.queue),
      expiry_timer_(loop) {}

BuildService::~BuildService() {
  if (options_.cgroups != nullptr) {
    for (const std::string& name : cgroups_to_remove_) (void)options_.cgroups->Remove(name);
  }
}

Status BuildService::Submit(std::shared_ptr<PendingBuild> build, Callback done) {
  if (shut_down_) return Unavailable("flintd is shutting down");
  BuildId id = next_id_++;
  BuildQueue::Admission admission = queue_.Admit(id, NowMs());
  if (admission == BuildQueue::Admission::kRejected) {
    return Status(Code::kTooManyRequests,
                  "too many C++ builds at once (" + std::to_string(queue_.running()) +
                      " running, " + std::to_string(queue_.waiting()) + " waiting): try again in " +
                      std::to_string(queue_.RetryAfterSeconds()) + " s");
  }
  Job& job = jobs_[id];
  job.build = std::move(build);
  job.done = std::move(done);
  if (admission == BuildQueue::Admission::kRun) {
    if (Status started = Start(id); !started.ok()) {
      jobs_.erase(id);
      // Nothing waits while a slot is free: no build to start instead.
      FLINT_CHECK(!queue_.Finish(id, 0).has_value());
      return started;
    }
  } else {
    spdlog::debug("build {} waits: {} running, {} waiting", id, queue_.running(), queue_.waiting());
    ArmExpiry();
  }
  return Status::Ok();
}

void BuildService::Shutdown() {
  shut_down_ = true;
  // Everything waiting, oldest first: expire them all now.
  std::vector<BuildId> waiting = queue_.Expire(~uint64_t{0} / 2);
  for (BuildId id : waiting) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    Callback done = std::move(it->second.done);
    jobs_.erase(it);
    done(Unavailable("flintd is shutting down; deploy again once it is back"), 1);
  }
  expiry_timer_.Stop();
}

Status BuildService::Start(BuildId id) {
  Job& job = jobs_.at(id);
  job.started_ms = NowMs();
  std::vector<std::string> procs;
  if (options_.cgroups != nullptr) {
    std::string name = "b" + std::to_string(id);
    auto created = options_.cgroups->Create(name);
    Status limited = created.ok() ? options_.cgroups->SetLimits(
                                        name, CgroupLimitsForBuild(job.build->options.limits))
                                  : created.status();
    if (!limited.ok()) {
      if (created.ok()) RemoveCgroup(name);
      spdlog::error("build {}: cannot create its cgroup: {}", id, limited.message());
      return Unavailable("cannot build now: the build's cgroup could not be created");
    }
    job.cgroup = name;
    procs = std::move(created).value();
  }
  spdlog::debug("build {} starts ({} source file(s))", id, job.build->sources.size());
  auto outcome = std::make_shared<Result<ToolOutcome>>(Internal("not run"));
  std::weak_ptr<bool> alive = alive_;
  std::shared_ptr<PendingBuild> build = job.build;
  loop::RunBlocking(
      loop_, [build, procs, outcome] { *outcome = RunBuild(*build, procs); },
      [this, alive, id, outcome] {
        if (alive.expired()) return;
        Built(id, *outcome);
      });
  return Status::Ok();
}

void BuildService::Built(BuildId id, const Result<ToolOutcome>& outcome) {
  auto it = jobs_.find(id);
  FLINT_CHECK(it != jobs_.end());
  Job job = std::move(it->second);
  jobs_.erase(it);
  bool memory_limit_hit = false;
  if (!job.cgroup.empty()) {
    auto usage = options_.cgroups->ReadUsage(job.cgroup);
    memory_limit_hit = usage.ok() && usage->oom_kills > 0;
    RemoveCgroup(job.cgroup);
  }
  Release(id, outcome.ok() ? static_cast<uint64_t>(outcome->elapsed.count()) : 0);

  if (!outcome.ok()) {
    // The build could not be run (its folder, the program): the reason names host paths, which
    // are the operator's business, not the deployer's.
    spdlog::error("build {} could not be run: {}", id, outcome.status().message());
    return job.done(
        Status(outcome.status().code() == Code::kUnavailable ? Code::kUnavailable : Code::kInternal,
               "the build could not be run; flintd's log has the details"),
        0);
  }
  Status failed = DescribeBuildFailure(*job.build, *outcome, memory_limit_hit);
  if (!failed.ok()) {
    if (failed.code() == Code::kInternal) {
      spdlog::error("build {} failed: {}\n{}", id, failed.message(), outcome->output);
    } else {
      spdlog::info("build {} failed ({})", id, outcome->describe);
    }
    return job.done(failed, 0);
  }
  spdlog::info("build {} done in {} ms ({} bytes)", id, outcome->elapsed.count(),
               job.build->built.size());
  auto digest = std::make_shared<Result<std::string>>(Internal("not run"));
  std::weak_ptr<bool> alive = alive_;
  std::shared_ptr<PendingBuild> build = job.build;
  std::shared_ptr<const CodeStore> code = code_;
  loop::RunBlocking(
      loop_, [build, code, digest] { *digest = StoreBuild(*build, *code); },
      [alive, done = std::move(job.done), digest] {
        if (alive.expired()) return;
        done(*digest, 0);
      });
}

void BuildService::Release(BuildId id, uint64_t duration_ms) {
  std::optional<BuildId> next = queue_.Finish(id, duration_ms);
  // The next waiting build takes the slot; one that cannot start is answered and the slot
  // goes to the one after it.
  while (next) {
    Status started = Start(*next);
    if (started.ok()) break;
    auto it = jobs_.find(*next);
    FLINT_CHECK(it != jobs_.end());
    Callback done = std::move(it->second.done);
    jobs_.erase(it);
    BuildId failed = *next;
    next = queue_.Finish(failed, 0);
    done(started, 0);
  }
  ArmExpiry();
}

void BuildService::RemoveCgroup(const std::string& name) {
  // Retry the ones a lingering process kept busy before.
  std::vector<std::string> retry;
  retry.swap(cgroups_to_remove_);
  retry.push_back(name);
  for (const std::string& group : retry) {
    Status removed = options_.cgroups->Remove(group);
    if (removed.code() == Code::kUnavailable) {
      cgroups_to_remove_.push_back(group);
    } else if (!removed.ok()) {
      spdlog::warn("removing the cgroup of a build: {}", removed.message());
    }
  }
}

void BuildService::ArmExpiry() {
  std::optional<uint64_t> next = queue_.NextExpiry();
  if (!next) {
    expiry_timer_.Stop();
    return;
  }
  uint64_t now = NowMs();
  expiry_timer_.Start(*next > now ? *next - now : 0, 0, [this] { ExpireWaiting(); });
}

void BuildService::ExpireWaiting() {
  std::vector<BuildId> expired = queue_.Expire(NowMs());
  uint32_t retry_after = queue_.RetryAfterSeconds();
  uint64_t waited_s = queue_.options().max_wait_ms / 1000;
  for (BuildId id : expired) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    Callback done = std::move(it->second.done);
    jobs_.erase(it);
    spdlog::info("build {} gave up after waiting {} s for a build slot", id, waited_s);
    done(Unavailable("the build waited " + std::to_string(waited_s) +
                     " s for one of the server's build slots (all busy) and was not started: "
                     "try again in " +
                     std::to_string(retry_after) + " s"),
         retry_after);
  }
  ArmExpiry();
}

}  // namespace flint::scheduler
