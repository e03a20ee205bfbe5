#include "scheduler/core/pool.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler {

Pool::Admission Pool::Admit(InvocationId id, uint64_t now_ms) {
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
  size_t starting = 0;
  for (const auto& [wid, w] : workers_) starting += w.ready ? 0 : 1;
  return queue_.size() > starting * policy_.concurrency;
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
  return FillFromQueue(id, it->second);
}

std::vector<InvocationId> Pool::InvocationDone(WorkerId id, uint64_t now_ms) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return {};
  FLINT_CHECK(it->second.in_flight > 0);
  it->second.in_flight--;
  it->second.last_used_ms = now_ms;
  return FillFromQueue(id, it->second);
}

bool Pool::WorkerGone(WorkerId id) {
  workers_.erase(id);
  return !queue_.empty() && NeedsAnotherWorker();
}

bool Pool::Cancel(InvocationId id) {
  auto it = std::find(queue_.begin(), queue_.end(), id);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  return true;
}

std::vector<InvocationId> Pool::TakeQueue() {
  std::vector<InvocationId> out(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

std::vector<WorkerId> Pool::TakeExpired(uint64_t now_ms) {
  std::vector<std::pair<uint64_t, WorkerId>> expired;
  for (const auto& [wid, w] : workers_) {
    if (w.ready && w.in_flight == 0 && now_ms >= w.last_used_ms + policy_.keep_alive_ms) {
      expired.emplace_back(w.last_used_ms, wid);
    }
  }
  std::sort(expired.begin(), expired.end());
  std::vector<WorkerId> out;
  for (auto& [t, wid] : expired) {
    workers_.erase(wid);
    out.push_back(wid);
  }
  return out;
}

std::vector<WorkerId> Pool::TakeIdle() {
  std::vector<WorkerId> out;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->second.ready && it->second.in_flight == 0) {
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
  for (const auto& [wid, w] : workers_) {
    if (!w.ready || w.in_flight != 0) continue;
    uint64_t at = w.last_used_ms + policy_.keep_alive_ms;
    if (!next || at < *next) next = at;
  }
  return next;
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
