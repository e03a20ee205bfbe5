// LogBuffer: the most recent console output of each function, kept in memory for `flint logs`.
//
// Bounded per function (oldest lines dropped first) and per line, so a chatty function cannot
// grow flintd's memory without limit. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace flint::scheduler {

struct LogRecord {
  uint64_t time_ms = 0;  // epoch ms
  std::string request_id;
  std::string trace_id;  // the invocation's W3C trace id (32 hex digits)
  std::string level;     // "debug" | "info" | "warn" | "error"
  std::string message;
};

class LogBuffer {
 public:
  explicit LogBuffer(size_t lines_per_function = 1000) : capacity_(lines_per_function) {}
  void Append(const std::string& function, LogRecord record);
  // The last `limit` lines of `function`, oldest first.
  std::vector<LogRecord> Tail(const std::string& function, size_t limit) const;
  void Forget(const std::string& function) { lines_.erase(function); }

 private:
  size_t capacity_;
  std::unordered_map<std::string, std::deque<LogRecord>> lines_;
};

}  // namespace flint::scheduler
