// FakeCgroups: an in-memory Cgroups for unit tests. Records what was created, the limits
// written and what was removed; usage is whatever the test sets. Not thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "scheduler/isolation/cgroups.h"

namespace flint::scheduler::isolation {

class FakeCgroups final : public Cgroups {
 public:
  std::string version() const override { return "fake"; }
  Result<std::vector<std::string>> Create(const std::string& name) override {
    if (fail_create) return Unavailable("fake: create fails");
    live.insert(name);
    return std::vector<std::string>{"/nonexistent/" + name + "/cgroup.procs"};
  }
  Status SetLimits(const std::string& name, const Limits& l) override {
    if (!live.count(name)) return NotFound("fake: no cgroup " + name);
    limits[name] = l;
    return Status::Ok();
  }
  Status PresetLimits(const std::string& name, const Limits& l) override {
    if (!live.count(name)) return NotFound("fake: no cgroup " + name);
    presets[name] = l;
    return Status::Ok();
  }
  Result<Usage> ReadUsage(const std::string& name) override {
    if (!live.count(name)) return NotFound("fake: no cgroup " + name);
    return usage[name];
  }
  Status Remove(const std::string& name) override {
    if (busy.count(name)) return Unavailable("fake: busy");
    live.erase(name);
    removed.push_back(name);
    return Status::Ok();
  }

  std::map<std::string, Limits> presets;  // by PresetLimits
  bool fail_create = false;
  std::set<std::string> live;
  std::set<std::string> busy;
  std::map<std::string, Limits> limits;
  std::map<std::string, Usage> usage;
  std::vector<std::string> removed;
};

}  // namespace flint::scheduler::isolation
