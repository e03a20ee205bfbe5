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

std::string FormatFunctionTable(const std::vector<client::FunctionInfo>& functions) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "VERSION", "RUNTIME", "MEMORY", "TIMEOUT", "CREATED"});
  for (const auto& f : functions) {
    rows.push_back({f.name, std::to_string(f.version), f.runtime, FormatMemory(f.memory_mb),
                    FormatDurationMs(f.timeout_ms), f.created_at});
  }
  return FormatTable(rows);
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
      {"concurrency:", std::to_string(f.concurrency)},
  };
  if (f.env.empty()) {
    rows.push_back({"env:", "-"});
  } else {
    bool first = true;
    for (const auto& [k, v] : f.env) {
      rows.push_back({first ? "env:" : "", k + "=" + v});
      first = false;
    }
  }
  rows.push_back({"created:", f.created_at});
  const client::PoolInfo& p = d.pool;
  rows.push_back({"workers:", std::to_string(p.idle) + " idle, " + std::to_string(p.busy) +
                                  " busy, " + std::to_string(p.starting) + " starting"});
  rows.push_back({"queue:", std::to_string(p.queue)});
  rows.push_back({"invocations:", std::to_string(p.invocations) + " (" +
                                      std::to_string(p.cold_starts) + " cold starts, " +
                                      std::to_string(p.errors) + " errors)"});
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
