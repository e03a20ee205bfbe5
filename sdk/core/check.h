// FLINT_CHECK: the way Flint reacts to a bug. A failed check prints the file, line and condition
// to stderr and aborts; it is never used for input or environment failures (see status.h).
#pragma once

namespace flint::detail {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const char* message);
}  // namespace flint::detail

#define FLINT_CHECK(cond)                                               \
  do {                                                                  \
    if (!(cond)) [[unlikely]]                                           \
      ::flint::detail::CheckFailed(__FILE__, __LINE__, #cond, nullptr); \
  } while (0)

#define FLINT_CHECK_MSG(cond, msg)                                    \
  do {                                                                \
    if (!(cond)) [[unlikely]]                                         \
      ::flint::detail::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
