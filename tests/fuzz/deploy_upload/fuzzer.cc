// Fuzzes a deploy's upload up to the point where it would be written: the JSON body with its
// configuration and base64-encoded files (ParseDeployRequest, scheduler/app/api_requests.h),
// then the code store's checks of the files (CodeStore::Digest: paths, duplicates, file and
// byte limits; it writes nothing). Input: the request body. Checked: what parses has settings
// that give a valid configuration or an InvalidArgument, an entry among the files, and a
// digest that does not depend on file order.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "scheduler/app/api_requests.h"
#include "scheduler/store/code_store.h"
#include "sdk/core/runtime.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace flint::scheduler;

// One code store for the whole run, in a temporary directory removed at exit (Digest never
// writes into it).
const CodeStore& Store() {
  static char dir[] = "/tmp/flint-fuzz-deploy-XXXXXX";  // no destructor: the exit hook reads it
  static CodeStore store = [] {
    FUZZ_CHECK(::mkdtemp(dir) != nullptr);
    std::atexit([] {
      ::rmdir((std::string(dir) + "/code").c_str());
      ::rmdir(dir);
    });
    CodeStore::Limits limits;
    limits.max_files = 64;
    limits.max_total_bytes = 1 << 20;
    auto opened = CodeStore::Open(dir, limits);
    FUZZ_CHECK(opened.ok());
    return *opened;
  }();
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const CodeStore& store = Store();
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = ParseDeployRequest(body);
  if (!request.ok()) {
    FUZZ_CHECK(request.status().code() == flint::Code::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(flint::ParseRuntime(flint::RuntimeName(request->runtime)) == request->runtime);
  // The settings apply to the live configuration (here a new function's): a valid result or
  // a message for the user.
  auto config = ApplyConfigPatch(FunctionConfig(), request->patch);
  FUZZ_CHECK(config.ok() ? ValidateFunctionConfig(*config).ok()
                         : config.status().code() == flint::Code::kInvalidArgument);
  FUZZ_CHECK(!request->files.empty());
  // A Node.js entry may name a handler ("index.handler") rather than a file.
  FUZZ_CHECK(request->runtime == flint::Runtime::kNode ||
             std::any_of(request->files.begin(), request->files.end(),
                         [&](const CodeFile& f) { return f.first == request->entry; }));
  FUZZ_CHECK(!request->entry.empty());
  auto digest = store.Digest(request->files);
  if (!digest.ok()) {
    FUZZ_CHECK(digest.status().code() == flint::Code::kInvalidArgument ||
               digest.status().code() == flint::Code::kPayloadTooLarge);
    return 0;
  }
  FUZZ_CHECK(digest->size() == 64);
  for (const CodeFile& f : request->files) {
    FUZZ_CHECK(CodeStore::ValidatePath(f.first, store.limits()).ok());
  }
  std::vector<CodeFile> reversed(request->files.rbegin(), request->files.rend());
  auto again = store.Digest(std::move(reversed));
  FUZZ_CHECK(again.ok() && *again == *digest);
  return 0;
}
