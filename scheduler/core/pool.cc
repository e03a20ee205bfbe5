#include "scheduler/core/pool.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler {

Pool::Admission Pool::Admit(InvocationId id, uint64_t now_ms) {
  adaptive_.RecordArrival(now_ms);
  prewarm_taken_ = false;
  Worker* best = nullptr;
  WorkerId best_id = 0;
  for (auto& [wid, w] : workers_) {
    if (!w.ready || w.in_flight >= policy_.concurrency) continue;
    if (best == nullptr || w.last_used_ms > best->last_used_ms) {
      best = &w;
      best_id = wid;
    }
  }
  if (best != nullptr && queue_.empty()) {
    EndIdle(*best, now_ms);
    best->in_flight++;
    best->last_used_ms = now_ms;
    return {Admission::Kind::kDispatch, best_id, false};
  }
  if (queue_.size() >= policy_.max_queue) return {Admission::Kind::kRejected, 0, false};
  queue_.push_back(id);
  return {Admission::Kind::kQueued, 0, NeedsAnotherWorker()};
}

bool Pool::NeedsAnotherWorker() const {
  if (workers_.size() >= policy_.max_instances) return false;
  // What the starting workers will still take (Pipeline may have given them some already).
  size_t absorbed = 0;
  for (const auto& [wid, w] : workers_) {
    if (!w.ready) absorbed += policy_.concurrency - std::min(w.in_flight, policy_.concurrency);
  }
  return queue_.size() > absorbed;
}

std::vector<InvocationId> Pool::Pipeline(WorkerId id) {
  auto it = workers_.find(id);
  FLINT_CHECK(it != workers_.end() && !it->second.ready);
  return FillFromQueue(id, it->second);
}

void Pool::AddStarting(WorkerId worker) {
  FLINT_CHECK(workers_.count(worker) == 0);
  workers_.emplace(worker, Worker{});
}

std::vector<InvocationId> Pool::FillFromQueue(WorkerId, Worker& worker) {
  std::vector<InvocationId> out;
  while (!queue_.empty() && worker.in_flight < policy_.concurrency) {
    out.push_back(queue_.front());
    queue_.pop_front();
    worker.in_flight++;
  }
  return out;
}

std::vector<InvocationId> Pool::WorkerReady(WorkerId id, uint64_t now_ms) {
  auto it = workers_.find(id);
  FLINT_CHECK(it != workers_.end());
  it->second.ready = true;
  it->second.last_used_ms = now_ms;
  it->second.idle_since_ms = now_ms;
  it->second.keep_through_window = false;
  return FillFromQueue(id, it->second);
}

std::vector<InvocationId> Pool::InvocationDone(WorkerId id, uint64_t now_ms) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return {};
  FLINT_CHECK(it->second.in_flight > 0);
  it->second.in_flight--;
  it->second.last_used_ms = now_ms;
  it->second.idle_since_ms = now_ms;
  it->second.keep_through_window = false;
  return FillFromQueue(id, it->second);
}

void Pool::EndIdle(const Worker& worker, uint64_t now_ms) {
  if (worker.idle() && now_ms > worker.idle_since_ms) idle_ms_ += now_ms - worker.idle_since_ms;
}

bool Pool::WorkerGone(WorkerId id, uint64_t now_ms) {
  if (auto it = workers_.find(id); it != workers_.end()) {
    EndIdle(it->second, now_ms);
    workers_.erase(it);
  }
  return !queue_.empty() && NeedsAnotherWorker();
}

bool Pool::Cancel(InvocationId id) {
  auto it = std::find(queue_.begin(), queue_.end(), id);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

void Pool::Requeue(const std::vector<InvocationId>& ids) {
  queue_.insert(queue_.begin(), ids.begin(), ids.end());
}

std::vector<InvocationId> Pool::TakeQueue() {
  std::vector<InvocationId> out(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

WorkerId Pool::Primary() const {
  WorkerId primary = 0;
  uint64_t last_used = 0;
  for (const auto& [wid, w] : workers_) {
    if (w.ready && (primary == 0 || w.last_used_ms >= last_used)) {
      primary = wid;
      last_used = w.last_used_ms;
    }
  }
  return primary;
}

uint64_t Pool::PrewarmStart(const KeepAliveWindows& win) const {
  // Invariant: learned implies at least one arrival.
  return *adaptive_.last_arrival_ms() + win.prewarm_ms - std::min(win.prewarm_ms, prewarm_lead_ms_);
}

uint64_t Pool::WindowEnd(const KeepAliveWindows& win) const {
  return *adaptive_.last_arrival_ms() + win.prewarm_ms + win.keep_alive_ms;
}

uint64_t Pool::ExpiryOf(const Worker& w, bool primary) const {
  KeepAliveWindows win = windows();
  uint64_t fixed_end = w.last_used_ms + policy_.keep_alive_ms;
  if (!win.learned) return fixed_end;
  uint64_t start = PrewarmStart(win);
  uint64_t end = WindowEnd(win);
  // Idle before the predicted window opens: unload now, TakePrewarm brings a worker back.
  if (win.prewarm_ms > 0 && w.idle_since_ms < start && !w.keep_through_window) {
    return w.idle_since_ms;
  }
  // The window predicts the next call, which one worker serves: the others (started for
  // concurrent calls) are kept no longer than the fixed keep-alive would keep them either.
  if (!primary) end = std::min(end, fixed_end);
  return std::max(end, w.idle_since_ms);
}

std::vector<WorkerId> Pool::TakeExpired(uint64_t now_ms, uint64_t reload_delay_ms) {
  std::vector<std::pair<uint64_t, WorkerId>> expired;
  WorkerId primary = Primary();
  KeepAliveWindows win = windows();
  for (auto& [wid, w] : workers_) {
    if (!w.idle() || now_ms < ExpiryOf(w, wid == primary)) continue;
    // An unload ahead of the window is worth it only if the pre-warm that replaces the worker
    // will be on time; else the worker is kept for the predicted call.
    if (reload_delay_ms > 0 && !w.keep_through_window && wid == primary && win.learned &&
        win.prewarm_ms > 0 && w.idle_since_ms < PrewarmStart(win) &&
        PrewarmStart(win) < now_ms + reload_delay_ms) {
      w.keep_through_window = true;
      continue;
    }
    expired.emplace_back(w.last_used_ms, wid);
  }
  std::sort(expired.begin(), expired.end());
  size_t spare =
      workers_.size() > policy_.min_instances ? workers_.size() - policy_.min_instances : 0;
  if (expired.size() > spare) expired.resize(spare);
  std::vector<WorkerId> out;
  for (auto& [t, wid] : expired) {
    EndIdle(workers_.at(wid), now_ms);
    workers_.erase(wid);
    out.push_back(wid);
  }
  return out;
}

std::vector<WorkerId> Pool::TakeIdle(uint64_t now_ms) {
  std::vector<WorkerId> out;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->second.idle()) {
      EndIdle(it->second, now_ms);
      out.push_back(it->first);
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<uint64_t> Pool::NextExpiry() const {
  std::optional<uint64_t> next;
  if (workers_.size() <= policy_.min_instances) return next;
  WorkerId primary = Primary();
  for (const auto& [wid, w] : workers_) {
    if (!w.idle()) continue;
    uint64_t at = ExpiryOf(w, wid == primary);
    if (!next || at < *next) next = at;
  }
  return next;
}

uint32_t Pool::WorkersToStart() const {
  return workers_.size() < policy_.min_instances
             ? static_cast<uint32_t>(policy_.min_instances - workers_.size())
             : 0;
}

bool Pool::TakePrewarm(uint64_t now_ms) {
  if (!adaptive() || prewarm_taken_ || !workers_.empty()) return false;
  KeepAliveWindows win = adaptive_.windows();
  if (!win.learned || win.prewarm_ms == 0) return false;
  if (now_ms < PrewarmStart(win) || now_ms >= WindowEnd(win)) return false;
  prewarm_taken_ = true;
  return true;
}

std::optional<uint64_t> Pool::NextPrewarm(uint64_t now_ms) const {
  if (!adaptive() || prewarm_taken_ || !workers_.empty()) return std::nullopt;
  KeepAliveWindows win = adaptive_.windows();
  if (!win.learned || win.prewarm_ms == 0) return std::nullopt;
  if (now_ms >= WindowEnd(win)) return std::nullopt;  // the window has passed
  return PrewarmStart(win);
}

std::vector<std::pair<WorkerId, uint64_t>> Pool::Evictable() const {
  std::vector<std::pair<uint64_t, WorkerId>> idle;
  for (const auto& [wid, w] : workers_) {
    if (w.idle()) idle.emplace_back(w.idle_since_ms, wid);
  }
  std::sort(idle.begin(), idle.end());
  size_t spare =
      workers_.size() > policy_.min_instances ? workers_.size() - policy_.min_instances : 0;
  if (idle.size() > spare) idle.resize(spare);
  std::vector<std::pair<WorkerId, uint64_t>> out;
  for (auto& [since, wid] : idle) out.emplace_back(wid, since);
  return out;
}

bool Pool::Evict(WorkerId worker, uint64_t now_ms) {
  auto it = workers_.find(worker);
  if (it == workers_.end() || !it->second.idle()) return false;
  EndIdle(it->second, now_ms);
  workers_.erase(it);
  return true;
}

uint64_t Pool::IdleWorkerMs(uint64_t now_ms) const {
  uint64_t total = idle_ms_;
  for (const auto& [wid, w] : workers_) {
    if (w.idle() && now_ms > w.idle_since_ms) total += now_ms - w.idle_since_ms;
  }
  return total;
}

KeepAliveWindows Pool::windows() const {
  return adaptive() ? adaptive_.windows() : KeepAliveWindows{};
}

PoolCounts Pool::counts() const {
  PoolCounts c;
  for (const auto& [wid, w] : workers_) {
    if (!w.ready) {
      c.starting++;
    } else if (w.in_flight == 0) {
      c.idle++;
    } else {
      c.busy++;
    }
  }
  c.queued = queue_.size();
  return c;
}

}  // namespace flint::scheduler
