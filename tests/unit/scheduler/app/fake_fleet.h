// FakeFleet: a Fleet (scheduler/app/fleet.h) with no processes, for the Dispatcher's tests.
//
// It records what the Dispatcher asks of it (workers started, LOADs, INVOKEs, stops, kills) and
// answers StartWorker with `next_placement` (a new worker, loadable, by default). The test plays
// the workers through the helpers at the bottom, which call the Dispatcher back as the real
// fleet would. Loop thread only.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "scheduler/app/fleet.h"
#include "sdk/core/check.h"

namespace flint::scheduler::testing {

class FakeFleet final : public Fleet {
 public:
  struct Started {
    WorkerId worker;
    std::string pool_key;
    std::string function;
  };
  struct Sent {
    WorkerId worker;
    InvocationId id;
    protocol::InvokeRequest request;
  };

  // Fleet
  void SetObserver(Observer* observer) override { observer_ = observer; }
  void Start() override { started_fleet = true; }
  void Tick() override { ticks++; }
  void Refill(bool cold_start_in_flight) override {
    refills++;
    if (cold_start_in_flight) refills_during_cold_start++;
  }
  void StopAll() override { stop_all_calls++; }
  void SetReservation(const std::string& function, uint64_t reserved_mb) override {
    reservations[function] = reserved_mb;
  }
  Placement StartWorker(const FunctionVersion& fn, const std::string& pool_key) override {
    Placement p = next_placement;
    if (p.kind != Placement::Kind::kStarted) return p;
    p.worker = next_worker++;
    started.push_back({p.worker, pool_key, fn.name});
    live.insert(p.worker);
    return p;
  }
  bool Load(WorkerId worker, const FunctionVersion& /*fn*/) override {
    loads.push_back(worker);
    return load_ok;
  }
  void Invoke(WorkerId worker, InvocationId id, const std::string& payload) override {
    auto request = protocol::InvokeRequest::Decode(payload);
    FLINT_CHECK(request.ok());
    in_flight[worker].insert(id);
    sent.push_back({worker, id, std::move(request).value()});
  }
  void Stop(WorkerId worker) override { stopped.push_back(worker); }
  void Kill(WorkerId worker) override { killed.push_back(worker); }
  std::vector<InvocationId> InFlight(WorkerId worker) const override {
    auto it = in_flight.find(worker);
    if (it == in_flight.end()) return {};
    return {it->second.begin(), it->second.end()};
  }
  std::vector<InvocationId> TakeInFlight(WorkerId worker) override {
    std::vector<InvocationId> out = InFlight(worker);
    in_flight.erase(worker);
    return out;
  }
  void CheckLoads(const FunctionVersion& /*fn*/, std::function<void(Status)> done) override {
    checks.push_back(std::move(done));
  }
  bool Has(WorkerId worker) const override { return live.count(worker) > 0; }
  uint64_t HeapUsed(WorkerId /*worker*/) const override { return 0; }
  bool has_cgroups() const override { return false; }
  std::optional<isolation::Usage> ReadUsage(WorkerId /*worker*/) override { return std::nullopt; }
  uint64_t LoadSentNs(WorkerId /*worker*/) const override { return 0; }
  uint64_t ReloadDelayMs(Runtime) const override { return 0; }
  FleetStats stats() const override {
    FleetStats s;
    s.workers = live.size();
    return s;
  }
  size_t size() const override { return live.size(); }

  // The test plays the workers: each calls the Dispatcher as the real fleet would.
  void Hello(WorkerId worker) { observer_->OnWorkerHello(worker, PoolOf(worker)); }
  void Loaded(WorkerId worker, uint64_t init_us = 1000) {
    protocol::Loaded loaded;
    loaded.init_duration_us = init_us;
    observer_->OnWorkerLoaded(worker, PoolOf(worker), loaded);
  }
  void LoadFailed(WorkerId worker, const std::string& message) {
    observer_->OnWorkerLoadFailed(worker, PoolOf(worker), message, TakeInFlight(worker));
  }
  // A RESULT for `id`, the function's answer `body` (status 200) unless `result` says otherwise.
  void Result(WorkerId worker, InvocationId id, protocol::InvokeResult result) {
    if (in_flight[worker].erase(id) == 0) return;  // as the Worker: dropped when not in flight
    observer_->OnWorkerResult(worker, PoolOf(worker), id, std::move(result));
  }
  void Exit(WorkerId worker, const std::string& reason, bool oom = false) {
    live.erase(worker);
    observer_->OnWorkerExit(worker, PoolOf(worker), WorkerExit{reason, oom, TakeInFlight(worker)});
  }
  std::string PoolOf(WorkerId worker) const {
    for (const Started& s : started) {
      if (s.worker == worker) return s.pool_key;
    }
    return "";
  }
  Observer* observer() const { return observer_; }

  Placement next_placement = {Placement::Kind::kStarted, 0, /*loadable=*/true, ""};
  bool load_ok = true;
  WorkerId next_worker = 1;
  std::vector<Started> started;
  std::vector<WorkerId> loads;
  std::vector<Sent> sent;
  std::vector<WorkerId> stopped;
  std::vector<WorkerId> killed;
  std::vector<std::function<void(Status)>> checks;
  std::map<WorkerId, std::set<InvocationId>> in_flight;
  std::set<WorkerId> live;
  std::map<std::string, uint64_t> reservations;
  bool started_fleet = false;
  int ticks = 0, refills = 0, refills_during_cold_start = 0, stop_all_calls = 0;

 private:
  Observer* observer_ = nullptr;
};

}  // namespace flint::scheduler::testing
