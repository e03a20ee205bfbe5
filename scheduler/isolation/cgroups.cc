#include "scheduler/isolation/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>

namespace flint::scheduler::isolation {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
constexpr const char* kSubtree = "flint";

// 0, or the errno of the open (as a negative number) or of the write.
int WriteFileErrno(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = n < 0 ? errno : EIO;
  ::close(fd);
  return n == static_cast<ssize_t>(value.size()) ? 0 : err;
}

Status WriteFile(const std::string& path, const std::string& value) {
  int err = WriteFileErrno(path, value);
  if (err < 0) return ErrnoStatus("open " + path, -err);
  if (err > 0) return ErrnoStatus("write " + path, err);
  return Status::Ok();
}

// The whole (small) file, or an error.
Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus("read " + path, err);
  return std::string(buf, static_cast<size_t>(n));
}

uint64_t ParseU64(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 10); }

// The value of `key` in a "key value" per line file (cpu.stat, memory.events, oom_control).
uint64_t KeyedValue(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ') {
      return std::strtoull(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
    }
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return 0;
}

// One cgroup file, opened once and then read or written at offset 0 (pread, pwrite: a seq_file
// read at offset 0 starts over): no path lookup per access. If the descriptor is closed (or
// could not be opened) it falls back to the path. Move-only; closes on destruction.
class CgroupFile {
 public:
  CgroupFile() = default;
  CgroupFile(std::string path, int flags) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), flags | O_CLOEXEC);
    if (fd_ < 0 && errno == ENOENT) missing_ = true;
  }
  CgroupFile(CgroupFile&& other) noexcept
      : path_(std::move(other.path_)), fd_(other.fd_), missing_(other.missing_) {
    other.fd_ = -1;
  }
  CgroupFile& operator=(CgroupFile&& other) noexcept {
    if (this != &other) {
      Close();
      path_ = std::move(other.path_);
      fd_ = other.fd_;
      missing_ = other.missing_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~CgroupFile() { Close(); }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The whole (small) file, or an error.
  Result<std::string> Read() const {
    if (missing_) return ErrnoStatus("open " + path_, ENOENT);
    if (fd_ < 0) return ReadFile(path_);
    char buf[4096];
    ssize_t n = ::pread(fd_, buf, sizeof buf, 0);
    if (n < 0) return ErrnoStatus("read " + path_, errno);
    return std::string(buf, static_cast<size_t>(n));
  }
  Status Write(const std::string& value) const {
    if (missing_) return ErrnoStatus("open " + path_, ENOENT);
    if (fd_ < 0) return WriteFile(path_, value);
    ssize_t n = ::pwrite(fd_, value.data(), value.size(), 0);
    if (n != static_cast<ssize_t>(value.size())) return ErrnoStatus("write " + path_, errno);
    return Status::Ok();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool missing_ = false;  // the kernel has no such file: never retried by path
};

std::vector<std::string> SubDirs(const std::string& path) {
  std::vector<std::string> out;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 ||
        std::strcmp(e->d_name, "..") == 0) {
      continue;
    }
    out.emplace_back(e->d_name);
  }
  ::closedir(dir);
  return out;
}

// The process that made the subtree `flint/<pid>` still runs (a recycled pid only delays the
// clean-up of an empty subtree; it never removes a live one).
bool OwnerAlive(const std::string& pid_text) {
  if (pid_text.empty() ||
      !std::all_of(pid_text.begin(), pid_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return true;  // not ours to judge: leave it alone
  }
  struct stat st;
  return ::stat(("/proc/" + pid_text).c_str(), &st) == 0;
}

// Removes `dir` and the cgroups below it, deepest first. Fails (and leaves the rest) where a
// process is still inside: Flint never kills what it cannot prove it started.
Status RemoveTree(const std::string& dir) {
  for (const std::string& child : SubDirs(dir)) {
    FLINT_RETURN_IF_ERROR(RemoveTree(dir + "/" + child));
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    if (errno == EBUSY) return Unavailable("cgroup " + dir + " still has processes");
    return ErrnoStatus("rmdir " + dir, errno);
  }
  return Status::Ok();
}

// At exit: processes killed a moment ago may take a few milliseconds to leave their cgroups.
void RemoveTreePatiently(const std::string& dir) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (RemoveTree(dir).code() != Code::kUnavailable) return;
    ::usleep(5000);
  }
}

// Removes flintd's own subtree, then the shared flint/ above it if no other flintd uses it
// (rmdir of a cgroup with children fails with EBUSY: another flintd's subtree stays intact).
void RemoveOwnTree(const std::string& base) {
  RemoveTreePatiently(base);
  std::string parent = base.substr(0, base.rfind('/'));
  (void)::rmdir(parent.c_str());
}

// Removes subtrees of flintd processes that are gone (a crash leaves them behind).
void RemoveStale(const std::string& flint_dir) {
  for (const std::string& owner : SubDirs(flint_dir)) {
    if (OwnerAlive(owner)) continue;
    (void)RemoveTree(flint_dir + "/" + owner);
  }
}

std::string SelfPid() { return std::to_string(::getpid()); }

// Whether the space-separated list `names` (cgroup.controllers, cgroup.subtree_control) holds
// `name` as a whole word: "cpuset" is not "cpu".
bool ListHas(std::string_view names, std::string_view name) {
  while (!names.empty()) {
    size_t start = names.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    names.remove_prefix(start);
    size_t end = names.find_first_of(" \n");
    if (names.substr(0, end) == name) return true;
    if (end == std::string_view::npos) break;
    names.remove_prefix(end);
  }
  return false;
}

// Shared by both versions: a set of directories `base/<name>` per worker, and the files of
// each kept open (see cgroups.h).
class CgroupsBase : public Cgroups {
 public:
  Result<std::vector<std::string>> Create(const std::string& name) override {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      return InvalidArgument("bad cgroup name '" + name + "'");
    }
    std::vector<std::string> procs;
    for (const std::string& base : bases_) {
      std::string dir = base + "/" + name;
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        Status failed = ErrnoStatus("mkdir " + dir, errno);
        (void)Remove(name);
        return failed;
      }
      procs.push_back(dir + "/cgroup.procs");
    }
    auto group = std::make_unique<Group>();
    OpenFiles(name, *group);
    // Best effort here: a default that could not be written stays unwritten, and SetLimits
    // writes it (and reports its error) at LOAD.
    WriteDefaults(name, *group);
    groups_[name] = std::move(group);
    return procs;
  }

  Status SetLimits(const std::string& name, const Limits& limits) override {
    auto it = groups_.find(name);
    if (it == groups_.end()) return NotFound("no cgroup " + name);
    Group& group = *it->second;
    Status written = WriteLimits(name, group, limits);
    // A worker is loaded once: the limit files are not needed again (a later call uses paths).
    group.memory_limit.Close();
    group.swap_limit.Close();
    group.cpu_weight.Close();
    group.cpu_limit.Close();
    return written;
  }

  Status PresetLimits(const std::string& name, const Limits& limits) override {
    auto it = groups_.find(name);
    if (it == groups_.end()) return NotFound("no cgroup " + name);
    return WriteLimits(name, *it->second, limits);
  }

  Result<Usage> ReadUsage(const std::string& name) override {
    auto it = groups_.find(name);
    if (it == groups_.end()) return NotFound("no cgroup " + name);
    const Group& group = *it->second;
    FLINT_ASSIGN_OR_RETURN(auto cpu, group.cpu_usage.Read());
    Usage usage;
    usage.cpu_us = CpuUs(cpu);
    if (auto peak = group.peak_memory.Read(); peak.ok()) {
      usage.peak_memory_bytes = ParseU64(*peak);
    }
    if (auto oom = group.oom_events.Read(); oom.ok()) {
      usage.oom_kills = KeyedValue(*oom, "oom_kill");
    }
    return usage;
  }

  Status Remove(const std::string& name) override {
    Status result = Status::Ok();
    for (const std::string& base : bases_) {
      std::string dir = base + "/" + name;
      if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
        result = errno == EBUSY ? Unavailable("cgroup " + dir + " still has processes")
                                : ErrnoStatus("rmdir " + dir, errno);
      }
    }
    // Open descriptors do not keep a cgroup from being removed; they are kept while it is
    // still there (a process lingers in it) and closed once it is gone.
    if (result.ok()) groups_.erase(name);
    return result;
  }

 protected:
  // What the files of a cgroup hold; kUnknown until written.
  static constexpr uint64_t kUnknown = ~uint64_t{0};
  struct Group {
    // Read by ReadUsage, open for the cgroup's life.
    CgroupFile cpu_usage, peak_memory, oom_events;
    // Written by SetLimits, then closed.
    CgroupFile memory_limit, swap_limit, cpu_weight, cpu_limit;
    Limits written = {kUnknown, kUnknown, kUnknown, kUnknown, kUnknown};
  };

  virtual void OpenFiles(const std::string& name, Group& group) = 0;
  virtual void WriteDefaults(const std::string& name, Group& group) = 0;
  virtual Status WriteLimits(const std::string& name, Group& group, const Limits& limits) = 0;
  // CPU time in microseconds from the cpu_usage file's text.
  virtual uint64_t CpuUs(const std::string& text) const = 0;

  std::vector<std::string> bases_;  // every hierarchy's flint/<pid>, without duplicates
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
};

class CgroupsV1 final : public CgroupsBase {
 public:
  std::string version() const override { return "v1"; }

  // `mounts`: controller -> mount point (cpu and cpuacct may share one).
  Status Open(const std::vector<std::pair<std::string, std::string>>& mounts) {
    std::string own = std::string(kSubtree) + "/" + SelfPid();
    for (const auto& [controller, mount] : mounts) {
      char resolved[PATH_MAX];
      std::string root = ::realpath(mount.c_str(), resolved) ? resolved : mount;
      std::string flint_dir = root + "/" + kSubtree;
      RemoveStale(flint_dir);
      std::string base = root + "/" + own;
      if (controller == "cpu") cpu_ = base;
      if (controller == "cpuacct") cpuacct_ = base;
      if (controller == "memory") memory_ = base;
      if (controller == "pids") pids_ = base;
      if (std::find(bases_.begin(), bases_.end(), base) == bases_.end()) bases_.push_back(base);
    }
    // The subtree through libcgroup (creating flint/ as needed in every hierarchy).
    struct cgroup* cg = cgroup_new_cgroup(own.c_str());
    if (cg == nullptr) return Internal("cgroup_new_cgroup failed");
    for (const auto& [controller, mount] : mounts) {
      if (cgroup_add_controller(cg, controller.c_str()) == nullptr) {
        cgroup_free(&cg);
        return Internal("cgroup_add_controller(" + controller + ") failed");
      }
    }
    int rc = cgroup_create_cgroup(cg, 0);
    // Once more if another flintd removed the shared flint/ between our mkdirs as it exited.
    if (rc != 0) rc = cgroup_create_cgroup(cg, 0);
    cgroup_free(&cg);
    if (rc != 0) {
      return Internal("creating cgroup " + own + ": " + cgroup_strerror(rc));
    }
    return Status::Ok();
  }

  ~CgroupsV1() override {
    groups_.clear();
    for (const std::string& base : bases_) RemoveOwnTree(base);
  }

  void OpenFiles(const std::string& name, Group& group) override {
    std::string mem = memory_ + "/" + name + "/";
    group.cpu_usage = CgroupFile(cpuacct_ + "/" + name + "/cpuacct.usage", O_RDONLY);
    group.peak_memory = CgroupFile(mem + "memory.max_usage_in_bytes", O_RDONLY);
    group.oom_events = CgroupFile(mem + "memory.oom_control", O_RDONLY);
    group.memory_limit = CgroupFile(mem + "memory.limit_in_bytes", O_WRONLY);
    // Missing without swap accounting (no swap to turn off then).
    group.swap_limit = CgroupFile(mem + "memory.memsw.limit_in_bytes", O_WRONLY);
    group.cpu_weight = CgroupFile(cpu_ + "/" + name + "/cpu.shares", O_WRONLY);
    group.cpu_limit = CgroupFile(cpu_ + "/" + name + "/cpu.cfs_quota_us", O_WRONLY);
  }

  void WriteDefaults(const std::string& name, Group& group) override {
    // swappiness 0 covers what memsw cannot (it is missing without swap accounting).
    (void)WriteFile(memory_ + "/" + name + "/memory.swappiness", "0");
    if (WriteFile(cpu_ + "/" + name + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)).ok()) {
      group.written.cpu_period_us = kCpuPeriodUs;
    }
    if (WriteFile(pids_ + "/" + name + "/pids.max", std::to_string(kPidsMax)).ok()) {
      group.written.pids_max = kPidsMax;
    }
  }

  Status WriteLimits(const std::string& name, Group& group, const Limits& limits) override {
    Limits& written = group.written;
    if (limits.memory_bytes != written.memory_bytes) {
      // Swap off: memory+swap = memory. The kernel keeps memory <= memory+swap at every step,
      // so a raise writes memory+swap first (the file is missing without swap accounting).
      std::string bytes = std::to_string(limits.memory_bytes);
      bool raise = written.memory_bytes != kUnknown && limits.memory_bytes > written.memory_bytes;
      if (raise) (void)group.swap_limit.Write(bytes);
      FLINT_RETURN_IF_ERROR(group.memory_limit.Write(bytes));
      if (!raise) (void)group.swap_limit.Write(bytes);
      written.memory_bytes = limits.memory_bytes;
    }
    if (limits.cpu_period_us != written.cpu_period_us) {
      FLINT_RETURN_IF_ERROR(WriteFile(cpu_ + "/" + name + "/cpu.cfs_period_us",
                                      std::to_string(limits.cpu_period_us)));
      written.cpu_period_us = limits.cpu_period_us;
    }
    if (limits.cpu_shares != written.cpu_shares) {
      FLINT_RETURN_IF_ERROR(group.cpu_weight.Write(std::to_string(limits.cpu_shares)));
      written.cpu_shares = limits.cpu_shares;
    }
    if (limits.cpu_quota_us != written.cpu_quota_us) {
      // -1: no quota.
      FLINT_RETURN_IF_ERROR(group.cpu_limit.Write(
          limits.cpu_quota_us == 0 ? std::string("-1") : std::to_string(limits.cpu_quota_us)));
      written.cpu_quota_us = limits.cpu_quota_us;
    }
    if (limits.pids_max != written.pids_max) {
      FLINT_RETURN_IF_ERROR(
          WriteFile(pids_ + "/" + name + "/pids.max", std::to_string(limits.pids_max)));
      written.pids_max = limits.pids_max;
    }
    return Status::Ok();
  }

  uint64_t CpuUs(const std::string& text) const override { return ParseU64(text) / 1000; }

 private:
  std::string cpu_, cpuacct_, memory_, pids_;
};

class CgroupsV2 final : public CgroupsBase {
 public:
  std::string version() const override { return "v2"; }

  Status Open() {
    std::string flint_dir = std::string(kCgroupRoot) + "/" + kSubtree;
    std::string base = flint_dir + "/" + SelfPid();
    FLINT_ASSIGN_OR_RETURN(auto available,
                           ReadFile(std::string(kCgroupRoot) + "/cgroup.controllers"));
    FLINT_ASSIGN_OR_RETURN(auto enabled,
                           ReadFile(std::string(kCgroupRoot) + "/cgroup.subtree_control"));
    std::string missing;  // controllers the root does not hand down yet, as "+name ..."
    for (const char* c : {"memory", "cpu", "pids"}) {
      if (!ListHas(available, c)) {
        return Unavailable(std::string("controller '") + c + "' is not available in " +
                           kCgroupRoot + "/cgroup.controllers");
      }
      if (!ListHas(enabled, c)) missing += std::string(missing.empty() ? "+" : " +") + c;
    }
    RemoveStale(flint_dir);
    // libcgroup 2.0.2 knows v2 mounts but not v2 file names; the subtree is plain mkdirs, each
    // level handing memory, cpu and pids down to its children (v2's no-internal-process rule
    // is kept: flintd's own process never joins these groups). The root is written only for
    // what it lacks: a host (systemd) usually enables them already.
    if (!missing.empty()) {
      std::string control = std::string(kCgroupRoot) + "/cgroup.subtree_control";
      int err = WriteFileErrno(control, missing);
      if (err == EBUSY) {
        // Only the real root may hold processes and hand controllers down; a cgroup
        // namespace's root (a container) that holds processes cannot.
        return Unavailable("cannot enable " + missing + " in " + control +
                           ": it holds processes (v2 lets only the real root cgroup hold "
                           "processes and hand controllers to children; in a container, move "
                           "its processes into a child cgroup first)");
      }
      if (err < 0) return ErrnoStatus("open " + control, -err);
      if (err > 0) return ErrnoStatus("write " + control + " (" + missing + ")", err);
    }
    // Twice if another flintd removed the shared flint/ between our mkdirs as it exited.
    Status made;
    for (int attempt = 0; attempt < 2; ++attempt) {
      made = Status::Ok();
      for (const std::string& dir : {flint_dir, base}) {
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
          made = ErrnoStatus("mkdir " + dir, errno);
          break;
        }
        made = WriteFile(dir + "/cgroup.subtree_control", "+memory +cpu +pids");
        if (!made.ok()) break;
      }
      if (made.ok()) break;
    }
    FLINT_RETURN_IF_ERROR(made);
    bases_.push_back(base);
    return Status::Ok();
  }

  ~CgroupsV2() override {
    groups_.clear();
    for (const std::string& base : bases_) RemoveOwnTree(base);
  }

  void OpenFiles(const std::string& name, Group& group) override {
    std::string dir = bases_[0] + "/" + name + "/";
    group.cpu_usage = CgroupFile(dir + "cpu.stat", O_RDONLY);
    group.peak_memory = CgroupFile(dir + "memory.peak", O_RDONLY);  // kernel >= 5.19
    group.oom_events = CgroupFile(dir + "memory.events", O_RDONLY);
    group.memory_limit = CgroupFile(dir + "memory.max", O_WRONLY);
    group.cpu_weight = CgroupFile(dir + "cpu.weight", O_WRONLY);
    group.cpu_limit = CgroupFile(dir + "cpu.max", O_WRONLY);
  }

  void WriteDefaults(const std::string& name, Group& group) override {
    std::string dir = bases_[0] + "/" + name + "/";
    (void)WriteFile(dir + "memory.swap.max", "0");  // missing without swap accounting
    if (WriteFile(dir + "pids.max", std::to_string(kPidsMax)).ok()) {
      group.written.pids_max = kPidsMax;
    }
  }

  Status WriteLimits(const std::string& name, Group& group, const Limits& limits) override {
    Limits& written = group.written;
    if (limits.memory_bytes != written.memory_bytes) {
      FLINT_RETURN_IF_ERROR(group.memory_limit.Write(std::to_string(limits.memory_bytes)));
      written.memory_bytes = limits.memory_bytes;
    }
    if (limits.cpu_shares != written.cpu_shares) {
      FLINT_RETURN_IF_ERROR(group.cpu_weight.Write(std::to_string(CpuWeightV2(limits.cpu_shares))));
      written.cpu_shares = limits.cpu_shares;
    }
    if (limits.cpu_quota_us != written.cpu_quota_us ||
        limits.cpu_period_us != written.cpu_period_us) {
      std::string quota =
          limits.cpu_quota_us == 0 ? std::string("max") : std::to_string(limits.cpu_quota_us);
      FLINT_RETURN_IF_ERROR(
          group.cpu_limit.Write(quota + " " + std::to_string(limits.cpu_period_us)));
      written.cpu_quota_us = limits.cpu_quota_us;
      written.cpu_period_us = limits.cpu_period_us;
    }
    if (limits.pids_max != written.pids_max) {
      FLINT_RETURN_IF_ERROR(
          WriteFile(bases_[0] + "/" + name + "/pids.max", std::to_string(limits.pids_max)));
      written.pids_max = limits.pids_max;
    }
    return Status::Ok();
  }

  uint64_t CpuUs(const std::string& text) const override { return KeyedValue(text, "usage_usec"); }
};

}  // namespace

std::string_view CpuModeName(CpuMode mode) {
  switch (mode) {
    case CpuMode::kWeight:
      return "weight";
    case CpuMode::kProportionalQuota:
      return "proportional-quota";
  }
  return "weight";
}

std::optional<CpuMode> ParseCpuMode(std::string_view name) {
  for (CpuMode mode : {CpuMode::kWeight, CpuMode::kProportionalQuota}) {
    if (CpuModeName(mode) == name) return mode;
  }
  return std::nullopt;
}

Limits LimitsFor(uint32_t memory_mb, uint32_t cpu_millis, CpuMode mode) {
  Limits limits;
  limits.memory_bytes = uint64_t{memory_mb} << 20;
  // Weighted by the CPU the function is entitled to: what it asked for, else Lambda's
  // proportion of its memory.
  uint64_t shares = cpu_millis != 0 ? uint64_t{cpu_millis} * kCpuSharesPerVcpu / 1000
                                    : uint64_t{memory_mb} * kCpuSharesPerVcpu / kMemoryMbPerVcpu;
  limits.cpu_shares = std::clamp(shares, kMinCpuShares, kMaxCpuShares);
  if (cpu_millis != 0) {
    limits.cpu_quota_us = std::max(kMinCpuQuotaUs, uint64_t{cpu_millis} * kCpuPeriodUs / 1000);
  } else if (mode == CpuMode::kProportionalQuota) {
    limits.cpu_quota_us =
        std::max(kMinCpuQuotaUs, uint64_t{memory_mb} * kCpuPeriodUs / kMemoryMbPerVcpu);
  }
  return limits;
}

uint64_t CpuWeightV2(uint64_t shares) {
  return std::clamp<uint64_t>(shares * 100 / kCpuSharesPerVcpu, 1, 10'000);
}

Result<std::unique_ptr<Cgroups>> OpenCgroups() {
  if (::geteuid() != 0) {
    return Status(Code::kUnavailable,
                  "isolation needs root (to create cgroups and namespaces); run flintd as root, "
                  "or pass --no-isolation for development (functions then run unisolated)");
  }
  struct statfs fs;
  if (::statfs(kCgroupRoot, &fs) != 0) {
    return Status(Code::kUnavailable,
                  std::string("no cgroup file system at ") + kCgroupRoot +
                      "; mount cgroups, or pass --no-isolation for development");
  }
  if (fs.f_type == CGROUP2_SUPER_MAGIC) {
    auto v2 = std::make_unique<CgroupsV2>();
    if (Status opened = v2->Open(); !opened.ok()) {
      return Status(Code::kUnavailable,
                    "cgroup v2: " + opened.message() + "; or pass --no-isolation for development");
    }
    return std::unique_ptr<Cgroups>(std::move(v2));
  }
  int rc = cgroup_init();
  if (rc != 0) {
    return Status(Code::kUnavailable, std::string("libcgroup cannot initialise: ") +
                                          cgroup_strerror(rc) +
                                          "; pass --no-isolation for development");
  }
  std::vector<std::pair<std::string, std::string>> mounts;
  for (const char* controller : {"cpu", "cpuacct", "memory", "pids"}) {
    char* mount = nullptr;
    if (cgroup_get_subsys_mount_point(controller, &mount) != 0 || mount == nullptr) {
      return Status(Code::kUnavailable,
                    std::string("cgroup v1 controller '") + controller +
                        "' is not mounted; pass --no-isolation for development");
    }
    mounts.emplace_back(controller, mount);
    std::free(mount);
  }
  auto v1 = std::make_unique<CgroupsV1>();
  if (Status opened = v1->Open(mounts); !opened.ok()) {
    return Status(Code::kUnavailable,
                  "cgroup v1: " + opened.message() + "; or pass --no-isolation for development");
  }
  return std::unique_ptr<Cgroups>(std::move(v1));
}

}  // namespace flint::scheduler::isolation
