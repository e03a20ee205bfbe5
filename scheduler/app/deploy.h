// Turning a deploy request into stored code: parsing the JSON upload, decoding its files,
// validating the configuration, and writing the code content-addressed. Runs on the thread pool
// (an upload can be tens of megabytes): no loop-thread state is touched.
#pragma once

#include <cstddef>
#include <string>

#include "scheduler/store/code_store.h"
#include "scheduler/store/function_version.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// What a deploy becomes once its code is stored: everything a FunctionVersion needs but its
// version number.
struct PreparedDeploy {
  std::string runtime;
  std::string entry;  // relative to the code directory
  std::string code_digest;
  FunctionConfig config;
  size_t file_count = 0;
};

// Parses `body` (see docs/http-api.md, "Deploy") and stores its code in `code`. Errors are
// InvalidArgument or PayloadTooLarge with a message for the user.
Result<PreparedDeploy> PrepareDeploy(const std::string& body, const CodeStore& code,
                                     const std::string& data_dir);

}  // namespace flint::scheduler
