#include "runtime/worker/process_title.h"

#include <sys/prctl.h>

#include <cstring>
#include <string>

namespace flint::runtime {

ProcessTitle::ProcessTitle(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr) return;
  start_ = argv[0];
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc && argv[i] == end; ++i) end = argv[i] + std::strlen(argv[i]) + 1;
  size_ = static_cast<size_t>(end - start_);
}

void ProcessTitle::Set(std::string_view title, std::string_view short_name) {
  if (start_ != nullptr) {
    size_t n = std::min(title.size(), capacity());
    std::memcpy(start_, title.data(), n);
    std::memset(start_ + n, 0, size_ - n);
  }
  std::string comm(short_name.substr(0, 15));
  prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
}

}  // namespace flint::runtime
