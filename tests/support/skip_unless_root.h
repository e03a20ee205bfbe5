// Tests that need root (cgroups, namespaces) WARN and return when not root: Catch2 2.13 has no
// SKIP, and a test must never pass silently. `why` says what needs root, e.g. "real cgroups".
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>

#define FLINT_SKIP_UNLESS_ROOT(why)                              \
  do {                                                           \
    if (::geteuid() != 0) {                                      \
      WARN("skipped: " why " need root; run the tests as root"); \
      return;                                                    \
    }                                                            \
  } while (0)
