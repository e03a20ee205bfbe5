// C++ function builds: the build cache, the compiler's command, running it (in the build
// sandbox unless isolation is off), and what its outcome means for the deploy.
//
// Every .cc/.cpp/.cxx/.c++ file of an upload is compiled with the system g++ into one shared
// object, `function.so`:
//     g++ -std=c++20 -O2 -fPIC -shared -fvisibility=hidden -Wl,-z,defs -I<sdk> -iquote .
//         <sources...> -o <output>/function.so
// with the sources as the working directory (so messages name the user's files, "hello.cc:3:5:
// error: ..."), and the version's code is the upload plus function.so, entry "function.so".
//
// Sandboxed (BuildOptions::sandbox_path set: flintd's default), flintd runs flint-build
// (sdk/protocol/build_sandbox.h) inside a cgroup of the build's own: the compiler sees the
// system's /usr, /lib* and /bin, the SDK at /flint/include, the sources at /src and a writable
// /out, as nobody, with no network and a seccomp filter; nothing of the data directory, /etc
// or /proc, and no host path in its messages. Unsandboxed (flintd --no-isolation), g++ runs as
// flintd's user with only the time and output limits.
//
// Build cache: <data_dir>/build-cache/<key> holds the code digest of an earlier build, where
// key = sha256 of the sources' code digest, the flags, the compiler's version line, the SDK
// headers and whether the build is sandboxed, so redeploying the same sources skips the
// compiler -- and the sandbox.
//
// Threads: LookUpBuild, RunBuild and StoreBuild block (disk, the compiler): thread pool only.
// DescribeBuildFailure is pure. A PendingBuild is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/spawn/compiler.h"
#include "scheduler/store/code_store.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// What one build may use (flintd's --build-* options, docs/configuration.md).
struct BuildLimits {
  uint32_t memory_mb = 1024;   // the build's cgroup: every process of it, its /tmp included
  uint32_t cpu_millis = 1000;  // CPU quota, in thousandths of a CPU (1000: one CPU)
  uint32_t pids = 64;          // processes and threads at once
  std::chrono::milliseconds timeout{120'000};  // wall clock, from start to the shared object
  uint64_t max_output_bytes = 256ull << 20;    // largest file the build writes; its /tmp's size
  size_t max_message_bytes = 64 * 1024;        // compiler messages kept; the rest is cut
};

// How C++ functions are built.
struct BuildOptions {
  std::string compiler = "g++";
  // The folder holding flint/flint.h. Default: $FLINT_SDK_INCLUDE, else the source tree's
  // sdk/include (the FLINT_SDK_INCLUDE_DIR compile definition).
  std::string sdk_include_dir;
  // flint-build, which runs the compiler in the build sandbox. Empty: the compiler runs
  // directly, as flintd's user, without sandbox or cgroup (flintd --no-isolation only).
  std::string sandbox_path;
  BuildLimits limits;
};
BuildOptions DefaultBuildOptions();

// The shared object a C++ build produces, at the top of the version's code.
inline constexpr const char* kBuiltEntry = "function.so";

// The flags every C++ build uses, after the compiler's name and before the sources.
std::vector<std::string> BuildFlags(const BuildOptions& options);

// True for the file names the build compiles (.cc, .cpp, .cxx, .c++).
bool IsCppSource(std::string_view path);

// A build the cache could not answer: the upload, and what RunBuild and StoreBuild need.
struct PendingBuild {
  BuildOptions options;
  std::string compiler_path;  // absolute path of the compiler on the host (and in the sandbox)
  std::vector<CodeFile> files;
  std::vector<std::string> sources;  // the files to compile, sorted
  std::string data_dir;
  std::string cache_file;  // where StoreBuild records the code digest
  std::string built;       // function.so, once RunBuild succeeded
};

// A cache hit (the code digest of the earlier build) or a build to run.
struct BuildLookup {
  std::string cached_digest;              // set on a hit
  std::shared_ptr<PendingBuild> pending;  // set on a miss
};

// Checks the upload (a file named function.so is refused), the SDK and the compiler
// (Unavailable when they are missing), and looks the build up in the cache.
Result<BuildLookup> LookUpBuild(std::vector<CodeFile> files, const CodeStore& code,
                                const std::string& data_dir, const BuildOptions& options);

// Runs the compiler for `build` (sandboxed or not, per its options) in a scratch folder under
// <data_dir>/build-cache that it removes afterwards, joining `cgroup_procs` first; on success
// (exit code 0 and a shared object of at most the output limit) `build.built` holds
// function.so. An error means the compiler could not be started.
Result<ToolOutcome> RunBuild(PendingBuild& build, const std::vector<std::string>& cgroup_procs);

// What a finished build's outcome means for the deploy: Ok when `build.built` holds the shared
// object; else InvalidArgument naming the limit the build hit (memory: `memory_limit_hit`, the
// build's cgroup saw the kernel kill a process for it; time; output size), or the compiler's
// messages ("compilation failed: <first error>" then all of them); Internal when the sandbox
// could not be set up (its messages are not the user's business and are not included).
Status DescribeBuildFailure(const PendingBuild& build, const ToolOutcome& outcome,
                            bool memory_limit_hit);

// Stores the upload plus function.so and records it in the build cache; returns the digest.
Result<std::string> StoreBuild(PendingBuild& build, const CodeStore& code);

}  // namespace flint::scheduler
