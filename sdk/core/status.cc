#include "sdk/core/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace flint {

std::string_view CodeName(Code code) {
  switch (code) {
#define FLINT_X(name, str, http) \
  case Code::name:               \
    return str;
    FLINT_STATUS_CODES(FLINT_X)
#undef FLINT_X
  }
  return "unknown";
}

int CodeHttpStatus(Code code) {
  switch (code) {
#define FLINT_X(name, str, http) \
  case Code::name:               \
    return http;
    FLINT_STATUS_CODES(FLINT_X)
#undef FLINT_X
  }
  return 500;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status ErrnoStatus(std::string_view what, int err) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  // A full or read-only file system clears when space is freed or it is remounted: retrying
  // helps, so the caller sees 503 rather than an internal error.
  bool transient = err == ENOSPC || err == EDQUOT || err == EROFS;
  return Status(transient ? Code::kUnavailable : Code::kIo, std::move(m));
}

namespace detail {
void CheckFailed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, condition, message ? ": " : "",
               message ? message : "");
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace flint
