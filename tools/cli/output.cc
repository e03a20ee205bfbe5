#include "tools/cli/output.h"

#include <algorithm>

#include "sdk/core/text.h"

namespace flint::cli {

std::string FormatMemory(uint64_t mb) { return std::to_string(mb) + " MB"; }

std::string FormatDeployed(const client::FunctionInfo& info, const std::string& base_url) {
  std::string out = "deployed " + info.name + " version " + std::to_string(info.version) + " (" +
                    info.runtime + ", " + FormatMemory(info.memory_mb) + ", timeout " +
                    FormatDurationMs(info.timeout_ms) + ")\n";
  out += "  invoke: curl " + base_url + "/fn/" + info.name + "\n";
  return out;
}

std::string FormatConfigured(const client::FunctionInfo& info) {
  return "configured " + info.name + " version " + std::to_string(info.version) + " (" +
         info.runtime + ", " + FormatMemory(info.memory_mb) + ", timeout " +
         FormatDurationMs(info.timeout_ms) + ")\n";
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string FormatError(const std::string& reason) {
  size_t begin = 0;
  // Skip blank leading lines; keep the indentation of the first line that has text.
  for (size_t nl; (nl = reason.find('\n', begin)) != std::string::npos;) {
    if (reason.find_first_not_of(" \t\r", begin) < nl) break;
    begin = nl + 1;
  }
  size_t end = reason.find_last_not_of(" \t\r\n");
  if (end == std::string::npos || end < begin) return "flint: unknown error\n";
  return "flint: " + reason.substr(begin, end + 1 - begin) + "\n";
}

std::string WithHttpStatus(const std::string& message, int http_status) {
  std::string status = " (" + std::to_string(http_status) + ")";
  size_t nl = message.find('\n');
  size_t trimmed = message.find_last_not_of(" \t\r\n");
  if (nl == std::string::npos || trimmed == std::string::npos || trimmed < nl) {
    return message.substr(0, trimmed == std::string::npos ? 0 : trimmed + 1) + status;
  }
  size_t first_end = nl;
  while (first_end > 0 && (message[first_end - 1] == '\r' || message[first_end - 1] == ' ')) {
    --first_end;
  }
  return message.substr(0, first_end) + status + message.substr(nl);
}

std::string FormatFunctionTable(const std::vector<client::FunctionInfo>& functions) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "VERSION", "RUNTIME", "MEMORY", "TIMEOUT", "CREATED"});
  for (const auto& f : functions) {
    rows.push_back({f.name, std::to_string(f.version), f.runtime, FormatMemory(f.memory_mb),
                    FormatDurationMs(f.timeout_ms), f.created_at});
  }
  return FormatTable(rows);
}

namespace {

// "23.4 MB of 128 MB": the peak beside the limit it is measured against.
std::string PeakMemoryText(double peak_mb, uint64_t limit_mb) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MB of ", peak_mb);
  return buf + FormatMemory(limit_mb);
}

std::string Millis(double ms) {
  char buf[32];
  snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : "%.0f ms", ms);
  return buf;
}

std::string Seconds(uint64_t ms) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

// "weight 74 (0.07 vCPU under contention), no quota" or "weight 512 (0.50 vCPU under
// contention), quota 0.5 CPU per 100 ms": what each worker's cgroup gets.
std::string CpuText(const client::FunctionInfo& f, const std::optional<client::LimitsInfo>& l) {
  char buf[160];
  if (!l) {
    if (f.cpu <= 0) return "unlimited (no cgroups)";
    snprintf(buf, sizeof buf, "%g CPU asked for, not enforced (no cgroups)", f.cpu);
    return buf;
  }
  int n = snprintf(buf, sizeof buf, "weight %llu (%.2f vCPU under contention), ",
                   static_cast<unsigned long long>(l->cpu_weight),
                   static_cast<double>(l->cpu_weight) / 1024.0);
  if (l->cpu_quota <= 0) {
    snprintf(buf + n, sizeof buf - n, "no quota (idle CPU is used)");
  } else {
    snprintf(buf + n, sizeof buf - n, "quota %g CPU per %llu ms%s", l->cpu_quota,
             static_cast<unsigned long long>(l->cpu_period_ms),
             f.cpu > 0 ? "" : " (node's proportional quota)");
  }
  return buf;
}

// "adaptive (pre-warm after 54s, keep 17s)", "adaptive (learning; fixed 10m meanwhile)",
// "fixed"; `configured` is the function's own choice ("" = the node's default).
std::string KeepAliveText(const client::PoolInfo& p, const std::string& configured) {
  std::string policy = p.keep_alive_policy.empty() ? (configured.empty() ? "fixed" : configured)
                                                   : p.keep_alive_policy;
  std::string out = policy;
  if (policy == "adaptive") {
    if (p.keep_alive_learned) {
      out += p.prewarm_ms > 0 ? " (pre-warm after " + FormatDurationMs(p.prewarm_ms) + ", keep " +
                                    FormatDurationMs(p.window_ms) + ")"
                              : " (keep " + FormatDurationMs(p.window_ms) + ")";
    } else {
      out += " (learning)";
    }
  }
  if (configured.empty()) out += ", node default";
  return out;
}

}  // namespace

std::string FormatTop(const client::NodeInfo& n, const std::string& base_url) {
  std::string out = "flintd " + base_url + "  memory " + std::to_string(n.memory_used_mb) + "/" +
                    std::to_string(n.memory_budget_mb) + " MB (" +
                    std::to_string(n.memory_reserved_mb) + " reserved)  workers " +
                    std::to_string(n.workers) + " (" + std::to_string(n.generic_ready) +
                    " pre-warmed)  invocations " + std::to_string(n.invocations) + "  cold " +
                    std::to_string(n.cold_starts) + "  evictions " + std::to_string(n.evictions) +
                    "  idle " + Seconds(n.idle_worker_ms) + "\n\n";
  std::vector<std::vector<std::string>> rows = {{"NAME", "VER", "START", "IDLE", "BUSY", "QUEUE",
                                                 "INVOKED", "COLD", "P50", "P99", "EVICT",
                                                 "IDLE-TIME", "KEEP-ALIVE"}};
  for (const auto& p : n.pools) {
    std::string keep = p.keep_alive_policy;
    if (keep == "adaptive" && p.keep_alive_learned) {
      keep += p.prewarm_ms > 0
                  ? " " + FormatDurationMs(p.prewarm_ms) + "+" + FormatDurationMs(p.window_ms)
                  : " " + FormatDurationMs(p.window_ms);
    }
    rows.push_back({p.name, std::to_string(p.version), std::to_string(p.starting),
                    std::to_string(p.idle), std::to_string(p.busy), std::to_string(p.queue),
                    std::to_string(p.invocations), std::to_string(p.cold_starts),
                    p.cold_starts ? Millis(p.cold_start_p50_ms) : "-",
                    p.cold_starts ? Millis(p.cold_start_p99_ms) : "-", std::to_string(p.evictions),
                    Seconds(p.idle_worker_ms), keep});
  }
  out += FormatTable(rows);
  if (n.pools.empty()) out += "(no pools: nothing has run yet)\n";
  return out;
}

std::string FormatDetails(const client::FunctionDetails& d) {
  const client::FunctionInfo& f = d.function;
  std::vector<std::vector<std::string>> rows = {
      {"name:", f.name},
      {"version:", std::to_string(f.version)},
      {"runtime:", f.runtime + " (entry " + f.entry + ")"},
      {"code digest:", f.code_digest},
      {"memory:", FormatMemory(f.memory_mb)},
      {"timeout:", FormatDurationMs(f.timeout_ms)},
      {"keep-alive:", f.keep_alive_ms == 0 ? "default" : FormatDurationMs(f.keep_alive_ms)},
      {"max instances:", std::to_string(f.max_instances)},
      {"min instances:", std::to_string(f.min_instances)},
      {"concurrency:", std::to_string(f.concurrency)},
      {"reserved:", f.reserved_concurrency == 0
                        ? "-"
                        : std::to_string(f.reserved_concurrency) + " workers (" +
                              FormatMemory(f.reserved_concurrency * f.memory_mb) + ")"},
  };
  rows.push_back({"cpu:", CpuText(f, d.limits)});
  rows.push_back({"network:", f.network.empty() ? "none" : f.network});
  rows.push_back({"event retries:", f.max_retries < 0 ? "default" : std::to_string(f.max_retries)});
  rows.push_back({"event max age:",
                  f.max_event_age_ms == 0 ? "default" : FormatDurationMs(f.max_event_age_ms)});
  if (f.env.empty()) {
    rows.push_back({"env:", "-"});
  } else {
    bool first = true;
    for (const auto& [k, v] : f.env) {
      rows.push_back({first ? "env:" : "", k + "=" + v});
      first = false;
    }
  }
  if (!f.secrets.empty()) {
    std::string names;
    for (const std::string& s : f.secrets) names += (names.empty() ? "" : ", ") + s;
    rows.push_back({"secrets:", names + " (values not shown)"});
  }
  rows.push_back({"created:", f.created_at});
  const client::PoolInfo& p = d.pool;
  rows.push_back({"workers:", std::to_string(p.idle) + " idle, " + std::to_string(p.busy) +
                                  " busy, " + std::to_string(p.starting) + " starting"});
  rows.push_back({"queue:", std::to_string(p.queue)});
  rows.push_back({"invocations:", std::to_string(p.invocations) + " (" +
                                      std::to_string(p.cold_starts) + " cold starts, " +
                                      std::to_string(p.errors) + " errors)"});
  rows.push_back({"keep-alive policy:", KeepAliveText(p, f.keep_alive_policy)});
  if (p.cold_starts > 0) {
    rows.push_back({"cold start:",
                    "p50 " + Millis(p.cold_start_p50_ms) + ", p99 " + Millis(p.cold_start_p99_ms)});
  }
  rows.push_back({"evictions:", std::to_string(p.evictions)});
  rows.push_back({"idle worker time:", Seconds(p.idle_worker_ms)});
  rows.push_back({"CPU time:", Millis(p.cpu_ms)});
  rows.push_back(
      {"peak memory:", p.peak_memory_mb > 0 ? PeakMemoryText(p.peak_memory_mb, f.memory_mb) : "-"});
  if (!p.waiting_for.empty()) rows.push_back({"waiting for:", p.waiting_for});
  std::string out = FormatTable(rows);
  if (!d.versions.empty()) {
    out += "versions:\n";
    std::vector<std::vector<std::string>> vrows = {{"  VERSION", "CREATED", "CODE DIGEST"}};
    for (const auto& v : d.versions) {
      vrows.push_back({"  " + std::to_string(v.version), v.created_at, v.code_digest});
    }
    out += FormatTable(vrows);
  }
  return out;
}

std::string FormatLogs(const std::vector<client::LogEntry>& logs) {
  std::string out;
  for (const auto& e : logs) {
    out += e.time + " " + e.level;
    if (!e.request_id.empty()) out += " [" + e.request_id + "]";
    out += " " + e.message;
    if (out.empty() || out.back() != '\n') out += "\n";
  }
  return out;
}

}  // namespace flint::cli
