#include "scheduler/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace flint::scheduler::metrics {

namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "btime N" from /proc/stat: when the machine booted, Unix seconds.
std::optional<double> BootTime() {
  std::istringstream in(ReadFile("/proc/stat"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return std::nullopt;
}

}  // namespace

bool ParseProcStat(const std::string& stat, double ticks_per_second, double boot_time_seconds,
                   ProcessFigures& figures) {
  // Fields after the command name, which ends at the last ')'; field 3 (state) comes first.
  size_t close = stat.rfind(')');
  if (close == std::string::npos || ticks_per_second <= 0) return false;
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;
  std::string field;
  while (in >> field) fields.push_back(field);
  // fields[0] is field 3, so field N is fields[N - 3].
  if (fields.size() < 20) return false;
  try {
    double utime = std::stod(fields[14 - 3]);
    double stime = std::stod(fields[15 - 3]);
    double start = std::stod(fields[22 - 3]);
    figures.cpu_seconds = (utime + stime) / ticks_per_second;
    figures.start_time_seconds = boot_time_seconds + start / ticks_per_second;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

ProcessFigures ReadProcessFigures() {
  ProcessFigures figures;
  long ticks = sysconf(_SC_CLK_TCK);
  if (auto boot = BootTime(); boot && ticks > 0) {
    ParseProcStat(ReadFile("/proc/self/stat"), static_cast<double>(ticks), *boot, figures);
  }
  // statm: size resident ... in pages.
  std::istringstream statm(ReadFile("/proc/self/statm"));
  uint64_t size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    figures.virtual_bytes = size_pages * page;
    figures.resident_bytes = resident_pages * page;
  }
  std::error_code ec;
  uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    fds++;
  }
  // The iterator's own descriptor is among those listed.
  if (!ec && fds > 0) figures.open_fds = fds - 1;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    figures.max_fds = limit.rlim_cur;
  }
  return figures;
}

void WriteProcessFigures(Exposition& out, const ProcessFigures& figures) {
  if (figures.cpu_seconds) {
    out.Family("process_cpu_seconds_total", MetricType::kCounter,
               "Total user and system CPU time spent in seconds.");
    out.Sample("process_cpu_seconds_total", {}, *figures.cpu_seconds);
  }
  if (figures.resident_bytes) {
    out.Family("process_resident_memory_bytes", MetricType::kGauge,
               "Resident memory size in bytes.");
    out.Sample("process_resident_memory_bytes", {}, *figures.resident_bytes);
  }
  if (figures.virtual_bytes) {
    out.Family("process_virtual_memory_bytes", MetricType::kGauge, "Virtual memory size in bytes.");
    out.Sample("process_virtual_memory_bytes", {}, *figures.virtual_bytes);
  }
  if (figures.open_fds) {
    out.Family("process_open_fds", MetricType::kGauge, "Number of open file descriptors.");
    out.Sample("process_open_fds", {}, *figures.open_fds);
  }
  if (figures.max_fds) {
    out.Family("process_max_fds", MetricType::kGauge, "Maximum number of open file descriptors.");
    out.Sample("process_max_fds", {}, *figures.max_fds);
  }
  if (figures.start_time_seconds) {
    out.Family("process_start_time_seconds", MetricType::kGauge,
               "Start time of the process since unix epoch in seconds.");
    out.Sample("process_start_time_seconds", {}, *figures.start_time_seconds);
  }
}

}  // namespace flint::scheduler::metrics
