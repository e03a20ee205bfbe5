// ProcessTitle: what `ps` shows for this process.
//
// Linux shows a process's command line from the memory that held argv at exec. To retitle,
// ProcessTitle overwrites that memory (argv[0] through the end of the last argument that is
// contiguous with it); flintd passes a long padding argument (--title "<spaces>") so that
// "flint-worker hello@3" fits. The kernel's short name (comm, 15 bytes, shown by top) is set
// with prctl(PR_SET_NAME).
//
// Thread rules: main thread only, before other threads read argv (nothing does).
#pragma once

#include <cstddef>
#include <string_view>

namespace flint::runtime {

class ProcessTitle {
 public:
  ProcessTitle(int argc, char** argv);
  // Writes `title` (cut to capacity()) and sets comm to `short_name` (cut to 15 bytes).
  void Set(std::string_view title, std::string_view short_name);
  size_t capacity() const { return size_ == 0 ? 0 : size_ - 1; }

 private:
  char* start_ = nullptr;
  size_t size_ = 0;  // bytes of the argv area, including the final NUL
};

}  // namespace flint::runtime
