#include "scheduler/core/pool.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler {

Pool::Admission Pool::Admit(InvocationId id, uint64_t now_ms) {
  Tick(now_ms);
  if (hybrid() && last_done_ms_) {
    hybrid_.RecordIdle(now_ms > *last_done_ms_ ? now_ms - *last_done_ms_ : 0);
  }
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
    UpdateDemand(now_ms);
    return {Admission::Kind::kDispatch, best_id, false};
  }
  if (queue_.size() >= policy_.max_queue) return {Admission::Kind::kRejected, 0, false};
  queue_.push_back(id);
  UpdateDemand(now_ms);
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
  Tick(now_ms);
  auto it = workers_.find(id);
  FLINT_CHECK(it != workers_.end());
  it->second.ready = true;
  it->second.last_used_ms = now_ms;
  it->second.idle_since_ms = now_ms;
  return FillFromQueue(id, it->second);
}

std::vector<InvocationId> Pool::InvocationDone(WorkerId id, uint64_t now_ms) {
  Tick(now_ms);
  auto it = workers_.find(id);
  if (it == workers_.end()) return {};
  FLINT_CHECK(it->second.in_flight > 0);
  it->second.in_flight--;
  it->second.last_used_ms = now_ms;
  it->second.idle_since_ms = now_ms;
  UpdateDemand(now_ms);
  last_done_ms_ = now_ms;
  hybrid_prewarm_taken_ = false;
  return FillFromQueue(id, it->second);
}

void Pool::EndIdle(const Worker& worker, uint64_t now_ms) {
  if (worker.idle() && now_ms > worker.idle_since_ms) idle_ms_ += now_ms - worker.idle_since_ms;
}

bool Pool::WorkerGone(WorkerId id, uint64_t now_ms) {
  Tick(now_ms);
  if (auto it = workers_.find(id); it != workers_.end()) {
    EndIdle(it->second, now_ms);
    workers_.erase(it);  // its invocations end here (the caller fails them)
    UpdateDemand(now_ms);
  }
  return !queue_.empty() && NeedsAnotherWorker();
}

bool Pool::Cancel(InvocationId id) {
  auto it = std::find(queue_.begin(), queue_.end(), id);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  UpdateDemand(clock_ms_);
  return true;
}

void Pool::Requeue(const std::vector<InvocationId>& ids) {
  queue_.insert(queue_.begin(), ids.begin(), ids.end());
}

std::vector<InvocationId> Pool::TakeQueue() {
  std::vector<InvocationId> out(queue_.begin(), queue_.end());
  queue_.clear();
  UpdateDemand(clock_ms_);
  return out;
}

void Pool::UpdateDemand(uint64_t now_ms) {
  uint64_t demand = queue_.size();
  for (const auto& [wid, w] : workers_) demand += w.in_flight;
  demand_ = demand;
  if (!adaptive()) return;
  uint32_t in_use = SlotsInUse();
  // Slots newly in use: each one's idle period ends (a gap to learn from).
  for (uint32_t k = 0; k < in_use; ++k) {
    if (k == slots_.size()) slots_.push_back(Slot{slot_prototype_});
    Slot& slot = slots_[k];
    if (slot.in_use) continue;
    slot.history.RecordGap(now_ms > slot.idle_since_ms ? now_ms - slot.idle_since_ms : 0);
    slot.in_use = true;
  }
  // Slots no longer in use: an idle period begins.
  for (size_t k = in_use; k < slots_.size(); ++k) {
    Slot& slot = slots_[k];
    if (!slot.in_use) continue;
    slot.in_use = false;
    slot.idle_since_ms = now_ms;
    slot.prewarm_taken = false;
    slot.keep_through_window = false;
  }
}

uint32_t Pool::SlotsInUse() const {
  uint64_t c = std::max<uint32_t>(policy_.concurrency, 1);
  return static_cast<uint32_t>(std::min<uint64_t>((demand_ + c - 1) / c, policy_.max_instances));
}

std::optional<Pool::Want> Pool::WantOf(const Slot& slot) const {
  const KeepAliveWindows& win = slot.history.windows();
  uint64_t from = slot.idle_since_ms;
  if (!win.learned) return Want{from, from + policy_.keep_alive_ms, false};
  if (win.prewarm_ms == 0 && win.keep_alive_ms == 0) return std::nullopt;
  uint64_t end = from + win.prewarm_ms + win.keep_alive_ms;
  if (win.prewarm_ms == 0 || slot.keep_through_window) return Want{from, end, false};
  uint64_t start = from + win.prewarm_ms - std::min(win.prewarm_ms, prewarm_lead_ms_);
  return Want{start, end, start > from};
}

uint32_t Pool::Wanted(uint64_t t) const {
  uint32_t wanted = SlotsInUse();
  for (const Slot& slot : slots_) {
    if (slot.in_use) continue;
    auto want = WantOf(slot);
    if (want && want->start <= t && t < want->end) wanted++;
  }
  return wanted;
}

size_t Pool::Surplus(uint64_t t) const {
  size_t idle = 0;
  for (const auto& [wid, w] : workers_) idle += w.idle() ? 1 : 0;
  if (idle == 0 || workers_.size() <= policy_.min_instances) return 0;
  size_t others = workers_.size() - idle;  // starting or busy
  size_t wanted = Wanted(t);
  size_t keep = wanted > others ? wanted - others : 0;
  size_t surplus = idle > keep ? idle - keep : 0;
  return std::min(surplus, workers_.size() - policy_.min_instances);
}

uint32_t Pool::PrewarmsDue(uint64_t t) const {
  uint32_t due = 0;
  for (const Slot& slot : slots_) {
    if (slot.in_use || slot.prewarm_taken) continue;
    auto want = WantOf(slot);
    if (want && want->prewarm && want->start <= t && t < want->end) due++;
  }
  if (due == 0) return 0;
  uint32_t wanted = Wanted(t);
  uint32_t lacking = wanted > workers_.size() ? wanted - static_cast<uint32_t>(workers_.size()) : 0;
  return std::min(due, lacking);
}

std::vector<WorkerId> Pool::TakeLeastRecentlyUsedIdle(size_t n, uint64_t now_ms) {
  std::vector<std::pair<uint64_t, WorkerId>> idle;
  for (const auto& [wid, w] : workers_) {
    if (w.idle()) idle.emplace_back(w.last_used_ms, wid);
  }
  std::sort(idle.begin(), idle.end());
  if (idle.size() > n) idle.resize(n);
  std::vector<WorkerId> out;
  for (auto& [t, wid] : idle) {
    EndIdle(workers_.at(wid), now_ms);
    workers_.erase(wid);
    out.push_back(wid);
  }
  return out;
}

uint64_t Pool::ExpiryOf(const Worker& w) const {
  if (!hybrid()) return w.last_used_ms + policy_.keep_alive_ms;
  // The function's windows, from the end of its last invocation, hold for every idle worker.
  KeepAliveWindows win = hybrid_.windows();
  uint64_t from = last_done_ms_.value_or(w.idle_since_ms);
  uint64_t start = from + win.prewarm_ms - std::min(win.prewarm_ms, prewarm_lead_ms_);
  if (win.prewarm_ms > 0 && w.idle_since_ms < start) return w.idle_since_ms;  // unload now
  return std::max(from + win.prewarm_ms + win.keep_alive_ms, w.idle_since_ms);
}

std::vector<WorkerId> Pool::TakeExpired(uint64_t now_ms, uint64_t reload_delay_ms) {
  Tick(now_ms);
  if (adaptive()) {
    size_t surplus = Surplus(now_ms);
    if (surplus > 0 && reload_delay_ms > 0) {
      // Slots between their idle start and their pre-warm, whose pre-warm would be due before
      // a reload could be ready: their workers are held through the window instead.
      std::vector<std::pair<uint64_t, size_t>> early;
      for (size_t k = 0; k < slots_.size(); ++k) {
        const Slot& slot = slots_[k];
        if (slot.in_use || slot.keep_through_window) continue;
        auto want = WantOf(slot);
        if (want && want->prewarm && now_ms < want->start &&
            want->start < now_ms + reload_delay_ms) {
          early.emplace_back(want->start, k);
        }
      }
      std::sort(early.begin(), early.end());
      for (auto& [start, k] : early) {
        if (surplus == 0) break;
        slots_[k].keep_through_window = true;
        surplus = Surplus(now_ms);
      }
    }
    return TakeLeastRecentlyUsedIdle(surplus, now_ms);
  }
  std::vector<std::pair<uint64_t, WorkerId>> expired;
  for (auto& [wid, w] : workers_) {
    if (w.idle() && now_ms >= ExpiryOf(w)) expired.emplace_back(w.last_used_ms, wid);
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
  Tick(now_ms);
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
  if (workers_.size() <= policy_.min_instances) return std::nullopt;
  if (adaptive()) return NextAdaptiveExpiry();
  std::optional<uint64_t> next;
  for (const auto& [wid, w] : workers_) {
    if (!w.idle()) continue;
    uint64_t at = ExpiryOf(w);
    if (!next || at < *next) next = at;
  }
  return next;
}

std::optional<uint64_t> Pool::NextAdaptiveExpiry() const {
  size_t idle = 0;
  for (const auto& [wid, w] : workers_) idle += w.idle() ? 1 : 0;
  if (idle == 0) return std::nullopt;
  size_t others = workers_.size() - idle;
  size_t spare = workers_.size() - policy_.min_instances;
  auto surplus = [&](int64_t wanted) {
    size_t keep = wanted > static_cast<int64_t>(others) ? static_cast<size_t>(wanted) - others : 0;
    return std::min(spare, idle > keep ? idle - keep : 0);
  };
  // Workers wanted from now on change only where an idle slot's window starts or ends: sweep
  // those times in order (a surplus can only appear where a window ends).
  uint64_t t0 = clock_ms_;
  int64_t wanted = SlotsInUse();
  std::vector<std::pair<uint64_t, int>> changes;
  for (const Slot& slot : slots_) {
    if (slot.in_use) continue;
    auto want = WantOf(slot);
    if (!want || want->end <= t0) continue;
    if (want->start <= t0) {
      wanted++;
    } else {
      changes.emplace_back(want->start, +1);
    }
    changes.emplace_back(want->end, -1);
  }
  if (surplus(wanted) > 0) return t0;
  std::sort(changes.begin(), changes.end());
  for (size_t i = 0; i < changes.size();) {
    uint64_t t = changes[i].first;
    bool ends = false;
    for (; i < changes.size() && changes[i].first == t; ++i) {
      wanted += changes[i].second;
      ends |= changes[i].second < 0;
    }
    if (ends && surplus(wanted) > 0) return t;
  }
  return std::nullopt;
}

uint32_t Pool::WorkersToStart() const {
  return workers_.size() < policy_.min_instances
             ? static_cast<uint32_t>(policy_.min_instances - workers_.size())
             : 0;
}

uint32_t Pool::TakePrewarm(uint64_t now_ms) {
  Tick(now_ms);
  if (adaptive()) {
    uint32_t n = PrewarmsDue(now_ms);
    if (n == 0) return 0;
    std::vector<std::pair<uint64_t, size_t>> due;
    for (size_t k = 0; k < slots_.size(); ++k) {
      const Slot& slot = slots_[k];
      if (slot.in_use || slot.prewarm_taken) continue;
      auto want = WantOf(slot);
      if (want && want->prewarm && want->start <= now_ms && now_ms < want->end) {
        due.emplace_back(want->start, k);
      }
    }
    std::sort(due.begin(), due.end());
    for (size_t i = 0; i < n; ++i) slots_[due[i].second].prewarm_taken = true;
    return n;
  }
  if (!hybrid() || hybrid_prewarm_taken_ || !workers_.empty() || !last_done_ms_) return 0;
  KeepAliveWindows win = hybrid_.windows();
  if (win.prewarm_ms == 0) return 0;
  uint64_t start = *last_done_ms_ + win.prewarm_ms - std::min(win.prewarm_ms, prewarm_lead_ms_);
  if (now_ms < start || now_ms >= *last_done_ms_ + win.prewarm_ms + win.keep_alive_ms) return 0;
  hybrid_prewarm_taken_ = true;
  return 1;
}

std::optional<uint64_t> Pool::NextPrewarm(uint64_t now_ms) const {
  if (adaptive()) {
    std::vector<uint64_t> starts;
    for (const Slot& slot : slots_) {
      if (slot.in_use || slot.prewarm_taken) continue;
      auto want = WantOf(slot);
      if (want && want->prewarm && now_ms < want->end) starts.push_back(want->start);
    }
    std::sort(starts.begin(), starts.end());
    for (uint64_t start : starts) {
      if (PrewarmsDue(std::max(start, now_ms)) > 0) return start;
    }
    return std::nullopt;
  }
  if (!hybrid() || hybrid_prewarm_taken_ || !workers_.empty() || !last_done_ms_) {
    return std::nullopt;
  }
  KeepAliveWindows win = hybrid_.windows();
  if (win.prewarm_ms == 0) return std::nullopt;
  if (now_ms >= *last_done_ms_ + win.prewarm_ms + win.keep_alive_ms) return std::nullopt;
  return *last_done_ms_ + win.prewarm_ms - std::min(win.prewarm_ms, prewarm_lead_ms_);
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
  Tick(now_ms);
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
  if (hybrid()) return hybrid_.windows();
  if (!adaptive() || slots_.empty()) return KeepAliveWindows{};
  return slots_.front().history.windows();
}

uint32_t Pool::WarmTarget(uint64_t now_ms) const {
  return adaptive() ? Wanted(now_ms) : static_cast<uint32_t>(workers_.size());
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
