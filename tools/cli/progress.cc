#include "tools/cli/progress.h"

#include <cstdio>

namespace flint::cli {

std::string FormatProgress(const client::TransferProgress& p, uint64_t elapsed_ms,
                           const std::string& waiting) {
  char line[160];
  if (p.upload_total > 0 && p.uploaded < p.upload_total) {
    double mb = 1024.0 * 1024.0;
    std::snprintf(line, sizeof line, "uploading %.1f of %.1f MB (%d%%)",
                  static_cast<double>(p.uploaded) / mb, static_cast<double>(p.upload_total) / mb,
                  static_cast<int>(p.uploaded * 100 / p.upload_total));
  } else {
    std::snprintf(line, sizeof line, "%s... %llus", waiting.c_str(),
                  static_cast<unsigned long long>(elapsed_ms / 1000));
  }
  return line;
}

ProgressLine::ProgressLine(std::ostream& out, bool enabled, std::string waiting)
    : out_(out), enabled_(enabled), waiting_(std::move(waiting)) {}

void ProgressLine::Update(const client::TransferProgress& p) {
  if (!enabled_) return;
  Clock::time_point now = Clock::now();
  if (now - start_ < std::chrono::milliseconds(500)) return;
  if (drawn_ > 0 && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  uint64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count();
  std::string text = FormatProgress(p, elapsed, waiting_);
  std::string pad = text.size() < drawn_ ? std::string(drawn_ - text.size(), ' ') : "";
  out_ << "\r" << text << pad << std::flush;
  drawn_ = text.size();
}

void ProgressLine::Finish() {
  if (drawn_ == 0) return;
  out_ << "\r" << std::string(drawn_, ' ') << "\r" << std::flush;
  drawn_ = 0;
}

}  // namespace flint::cli
