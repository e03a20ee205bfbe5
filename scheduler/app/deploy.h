// Turning a deploy request into stored code: parsing the upload (api_requests.h), decoding its
// files, validating the configuration, building a C++ function, and writing the code
// content-addressed. Runs on the thread pool (an upload can be hundreds of megabytes, a build
// takes seconds): no loop-thread state is touched.
//
// Two forms of upload (docs/http-api.md, "Deploy"): a JSON document whose "files" hold every
// file in base64, or multipart/form-data with the same document without "files" and the code as
// one tar or tar.gz archive, which is extracted file by file straight into the code store
// (code_archive.h, code_staging.h), so the unpacked code is never all in memory; `flint deploy`
// sends the second.
//
// C++ ("cpp") functions: a prebuilt entry ending in .so must be an ELF shared object for this
// machine and is stored as uploaded. Otherwise the upload's sources are built into
// `function.so` (scheduler/build/cpp_build.h): PrepareDeploy answers from the build cache when
// it can (no compiler, no sandbox), else it hands back a PendingBuild for the BuildService to
// run, and the deploy's code digest is known once that build is stored.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/build/cpp_build.h"
#include "scheduler/store/code_store.h"
#include "scheduler/store/function_version.h"
#include "sdk/core/runtime.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// What a deploy becomes once its code is stored: everything a FunctionVersion needs but its
// version number.
struct PreparedDeploy {
  Runtime runtime = Runtime::kNode;
  std::string entry;        // relative to the code directory
  std::string code_digest;  // empty while `build` is pending
  FunctionConfig config;
  size_t file_count = 0;
  bool build_cached = false;  // a C++ build was found in the build cache
  // A C++ build the cache could not answer: run and store it (BuildService), then set
  // code_digest. Null for JS, a prebuilt .so or a cache hit.
  std::shared_ptr<PendingBuild> build;
};

// Ok if `bytes` are an ELF shared object (ET_DYN) for this machine; else InvalidArgument.
Status ValidateSharedObject(const std::string& name, const std::string& bytes);

// Parses `body` of `content_type` (see above; docs/http-api.md, "Deploy") and stores its code
// in `code`, except for a C++ build the cache could not answer (see above). The settings the
// body gives are applied to `base`, the live version's configuration (the defaults for a new
// function), so a deploy without settings keeps them. Errors are InvalidArgument or
// PayloadTooLarge with a message for the user, or Unavailable when the compiler cannot run.
Result<PreparedDeploy> PrepareDeploy(std::string_view body, std::string_view content_type,
                                     const CodeStore& code, const std::string& data_dir,
                                     const BuildOptions& build = DefaultBuildOptions(),
                                     const FunctionConfig& base = FunctionConfig());

}  // namespace flint::scheduler
