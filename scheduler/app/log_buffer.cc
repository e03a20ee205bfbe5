#include "scheduler/app/log_buffer.h"

namespace flint::scheduler {

void LogBuffer::Append(const std::string& function, LogRecord record) {
  auto& lines = lines_[function];
  if (lines.size() >= capacity_) lines.pop_front();
  lines.push_back(std::move(record));
}

std::vector<LogRecord> LogBuffer::Tail(const std::string& function, size_t limit) const {
  auto it = lines_.find(function);
  if (it == lines_.end()) return {};
  const auto& lines = it->second;
  size_t start = lines.size() > limit ? lines.size() - limit : 0;
  return std::vector<LogRecord>(lines.begin() + static_cast<std::ptrdiff_t>(start), lines.end());
}

}  // namespace flint::scheduler
