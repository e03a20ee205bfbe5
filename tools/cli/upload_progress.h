// UploadProgress: what `flint deploy` shows on stderr while it packs and uploads a large
// package (stdout keeps the result, so `--json` output stays clean).
//
// On a terminal, one line rewritten in place ("packing 2,314 files: 12.1 of 48.0 MB (25%)",
// then "uploading: 3.0 of 11.9 MB (25%)"), replaced at the end by a summary; elsewhere (logs,
// CI) two plain lines: "packed 2,314 files: 48.0 MB, 11.9 MB compressed" and "uploading 11.9 MB:
// 25% 50% 75% 100%". Packages under kProgressMinBytes show nothing. Single-threaded.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace flint::cli {

inline constexpr uint64_t kProgressMinBytes = 1u << 20;

// "0.4 MB", "12.1 MB", "250.0 MB" (MiB, one decimal).
std::string FormatMegabytes(uint64_t bytes);

class UploadProgress {
 public:
  UploadProgress(std::ostream& err, bool tty, uint64_t package_bytes, size_t files);

  void Packed(uint64_t done, uint64_t total);
  // Called once packing is over, with the archive's size.
  void PackingDone(uint64_t archive_bytes);
  void Sent(uint64_t done, uint64_t total);
  // Ends the display (after the upload, whatever its outcome).
  void Finish();

 private:
  void Show(const std::string& line);

  std::ostream& err_;
  bool tty_;
  bool enabled_;
  uint64_t package_bytes_;
  size_t files_;
  uint64_t archive_bytes_ = 0;
  int shown_percent_ = -1;  // last percentage shown (terminal) or quarter printed (elsewhere)
  bool line_open_ = false;  // a line without its newline is on screen
  bool sending_ = false;
};

}  // namespace flint::cli
