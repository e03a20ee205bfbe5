#include "tools/cli/upload_progress.h"

#include <cstdio>

namespace flint::cli {
namespace {

std::string Thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Files(size_t n) { return Thousands(n) + (n == 1 ? " file" : " files"); }

int Percent(uint64_t done, uint64_t total) {
  return total == 0 ? 100 : static_cast<int>(done * 100 / total);
}

}  // namespace

std::string FormatMegabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(bytes) / (1u << 20));
  return buf;
}

UploadProgress::UploadProgress(std::ostream& err, bool tty, uint64_t package_bytes, size_t files)
    : err_(err),
      tty_(tty),
      enabled_(package_bytes >= kProgressMinBytes),
      package_bytes_(package_bytes),
      files_(files) {}

void UploadProgress::Show(const std::string& line) {
  err_ << "\r\x1b[K" << line << std::flush;
  line_open_ = true;
}

void UploadProgress::Packed(uint64_t done, uint64_t total) {
  if (!enabled_ || !tty_) return;
  int percent = Percent(done, total);
  if (percent == shown_percent_) return;
  shown_percent_ = percent;
  Show("packing " + Files(files_) + ": " + FormatMegabytes(done) + " of " + FormatMegabytes(total) +
       " (" + std::to_string(percent) + "%)");
}

void UploadProgress::PackingDone(uint64_t archive_bytes) {
  archive_bytes_ = archive_bytes;
  shown_percent_ = -1;
  if (!enabled_ || tty_) return;
  err_ << "packed " << Files(files_) << ": " << FormatMegabytes(package_bytes_) << ", "
       << FormatMegabytes(archive_bytes) << " compressed\n"
       << std::flush;
}

void UploadProgress::Sent(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  int percent = Percent(done, total);
  if (tty_) {
    if (percent == shown_percent_) return;
    shown_percent_ = percent;
    Show("uploading: " + FormatMegabytes(done) + " of " + FormatMegabytes(total) + " (" +
         std::to_string(percent) + "%)");
    return;
  }
  if (!sending_) {
    err_ << "uploading " << FormatMegabytes(total) << ":";
    sending_ = true;
    line_open_ = true;
  }
  int quarter = percent / 25;
  for (int q = shown_percent_ + 1; q <= quarter; ++q) {
    if (q == 0) continue;
    err_ << " " << q * 25 << "%";
  }
  if (quarter > shown_percent_) shown_percent_ = quarter;
  err_ << std::flush;
}

void UploadProgress::Finish() {
  if (!enabled_) return;
  if (tty_) {
    Show("uploaded " + Files(files_) + ": " + FormatMegabytes(package_bytes_) + ", " +
         FormatMegabytes(archive_bytes_) + " compressed");
  }
  if (line_open_) err_ << "\n" << std::flush;
  line_open_ = false;
}

}  // namespace flint::cli
