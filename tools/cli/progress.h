// ProgressLine: one self-updating line on a terminal for a long call — an upload
// ("uploading 12.0 of 48.0 MB (25%)"), then the wait for flintd's answer ("building on
// flintd... 12s" for a C++ deploy). Nothing is drawn when the stream is not a terminal, nor for
// calls that end within half a second; Finish() erases the line.
//
// Thread-compatible: Update is called from the client's progress callback on the calling
// thread. The stream must outlive the object.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "sdk/client/http_client.h"

namespace flint::cli {

// The line's text (without the carriage return): the upload while bytes are still going out,
// then `waiting` and the seconds since the start.
std::string FormatProgress(const client::TransferProgress& p, uint64_t elapsed_ms,
                           const std::string& waiting);

class ProgressLine {
 public:
  ProgressLine(std::ostream& out, bool enabled, std::string waiting);
  ~ProgressLine() { Finish(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Update(const client::TransferProgress& p);
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool enabled_;
  std::string waiting_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  size_t drawn_ = 0;  // characters on the line now
};

}  // namespace flint::cli
