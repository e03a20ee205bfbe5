// flint-build: runs one C++ build (the compiler and the tools it starts) in the build sandbox,
// for flintd. See sdk/protocol/build_sandbox.h for the command line and the view inside, and
// runtime/sandbox/build_sandbox.h for how it is confined.
//
//   flint-build --sources DIR --output DIR --sdk DIR --max-file-bytes N -- PROGRAM ARGS...
//
// flintd starts it as root, inside the build's cgroup, with stdout and stderr going to where it
// collects the compiler's messages. Exits as the compiler did (its exit code, or the signal
// that ended it), or with 125 and a message when the sandbox could not be set up.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/sandbox/build_sandbox.h"
#include "sdk/protocol/build_sandbox.h"

namespace {

int Usage(const char* problem) {
  std::fprintf(stderr,
               "flint-build: %s\n"
               "usage: flint-build --sources DIR --output DIR --sdk DIR --max-file-bytes N\n"
               "                   -- PROGRAM ARGS...\n"
               "Started by flintd for each C++ build; not for direct use.\n",
               problem);
  return flint::protocol::kBuildSetupFailed;
}

// Ends this process the way `code` (PID 1's exit code) says the compiler ended: 128 + N is
// signal N, raised on this process so that flintd sees it as such.
[[noreturn]] void ExitLike(int code) {
  if (code > 128 && code < 128 + NSIG) {
    int sig = code - 128;
    struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), sig);
  }
  ::_exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  // Die with flintd; nothing of flintd's beyond stdin, stdout and stderr crosses into the build.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::syscall(SYS_close_range, 3u, ~0u, 0u);

  flint::runtime::sandbox::BuildSandboxSpec spec;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--help" || arg == "-h") {
      Usage("help");
      return 0;
    }
    if (i + 1 >= argc) return Usage(("missing value after " + std::string(arg)).c_str());
    std::string value = argv[++i];
    if (arg == "--sources") {
      spec.sources_dir = value;
    } else if (arg == "--output") {
      spec.output_dir = value;
    } else if (arg == "--sdk") {
      spec.sdk_include_dir = value;
    } else if (arg == "--max-file-bytes") {
      char* end = nullptr;
      spec.max_file_bytes = std::strtoull(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0') return Usage("bad --max-file-bytes");
    } else {
      return Usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  for (; i < argc; ++i) spec.command.emplace_back(argv[i]);
  if (spec.command.empty()) return Usage("no program given after --");

  flint::Result<int> ran = flint::runtime::sandbox::RunSandboxedBuild(spec);
  if (!ran.ok()) {
    std::fprintf(stderr, "flint-build: cannot set up the build sandbox: %s\n",
                 ran.status().ToString().c_str());
    return flint::protocol::kBuildSetupFailed;
  }
  int status = *ran;
  if (WIFSIGNALED(status)) ExitLike(128 + WTERMSIG(status));
  ExitLike(WIFEXITED(status) ? WEXITSTATUS(status) : flint::protocol::kBuildSetupFailed);
}
