// TempDir: a fresh directory under /tmp for one test, removed (read-only code directories
// included) when the object goes out of scope. One per test; not shared between threads.
#pragma once

#include <stdlib.h>

#include <string>

#include "scheduler/store/files.h"
#include "sdk/core/check.h"

namespace flint::scheduler::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/flint-store-test-XXXXXX";
    FLINT_CHECK(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { (void)detail::RemoveTree(path_); }

  const std::string& path() const { return path_; }
  // A path inside the directory that does not exist yet.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace flint::scheduler::testing
