// Turning a deploy request into stored code: parsing the JSON upload, decoding its files,
// validating the configuration, building a C++ function, and writing the code
// content-addressed. Runs on the thread pool (an upload can be tens of megabytes, a build takes
// seconds): no loop-thread state is touched.
//
// C++ ("cpp") functions: a prebuilt entry ending in .so must be an ELF shared object for this
// machine and is stored as uploaded. Otherwise every .cc/.cpp/.cxx file of the upload is
// compiled with the system g++ into one shared object, `function.so`:
//     g++ -std=c++20 -O2 -fPIC -shared -fvisibility=hidden -Wl,-z,defs -I<sdk> -iquote .
//         <sources...> -o function.so
// in a temporary folder holding the upload (so messages name the user's files, "hello.cc:3:5:
// error: ..."), and the version's code is the upload plus function.so, entry "function.so".
// A failed build is InvalidArgument (HTTP 400) with the compiler's output verbatim.
// Build cache: <data_dir>/build-cache/<key> holds the code digest of an earlier build, where
// key = sha256 of the sources' code digest, the flags, the compiler's version line and the
// SDK headers, so redeploying the same sources skips the compiler.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "scheduler/store/code_store.h"
#include "scheduler/store/function_version.h"
#include "sdk/core/runtime.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// What a deploy becomes once its code is stored: everything a FunctionVersion needs but its
// version number.
struct PreparedDeploy {
  Runtime runtime = Runtime::kJs;
  std::string entry;  // relative to the code directory
  std::string code_digest;
  FunctionConfig config;
  size_t file_count = 0;
  bool built = false;         // a C++ build ran (false for JS, a prebuilt .so or a cache hit)
  bool build_cached = false;  // a C++ build was found in the build cache
};

// How C++ functions are built.
struct BuildOptions {
  std::string compiler = "g++";
  // The folder holding flint/flint.h. Default: $FLINT_SDK_INCLUDE, else the source tree's
  // sdk/include (the FLINT_SDK_INCLUDE_DIR compile definition).
  std::string sdk_include_dir;
  std::chrono::milliseconds timeout{120'000};
};
BuildOptions DefaultBuildOptions();

// The flags every C++ build uses, after the compiler's name and before the sources.
std::vector<std::string> BuildFlags(const BuildOptions& options);

// Ok if `bytes` are an ELF shared object (ET_DYN) for this machine; else InvalidArgument.
Status ValidateSharedObject(const std::string& name, const std::string& bytes);

// Parses `body` (see docs/http-api.md, "Deploy"), builds a C++ function when needed (see
// above), and stores its code in `code`. Errors are InvalidArgument or PayloadTooLarge with a
// message for the user, or Unavailable when the compiler cannot run.
Result<PreparedDeploy> PrepareDeploy(const std::string& body, const CodeStore& code,
                                     const std::string& data_dir,
                                     const BuildOptions& build = DefaultBuildOptions());

}  // namespace flint::scheduler
