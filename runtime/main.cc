// flint-worker: hosts one function (JavaScript or C++) for flintd. See runtime/worker/worker.h.
//
//   flint-worker --fd 3 --runtime js|cpp [--sandbox on --code-root DIR] [--title <padding>]
//
// --runtime says what to pre-warm (js: V8 and an isolate; cpp: nothing); LOAD may name either.
// --sandbox on: enter new namespaces and prepare a private root now, lock down at LOAD
// (runtime/sandbox/sandbox.h); flintd passes it unless started with --no-isolation.
// --code-root: flintd's code store, the only place LOAD may then take code from.
//
// flintd starts it with a connected Unix stream socket on --fd; stdout is never written.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/sandbox/sandbox.h"
#include "runtime/worker/process_title.h"
#include "runtime/worker/worker.h"
#include "sdk/core/runtime.h"

namespace {

int Usage(const char* problem) {
  std::fprintf(stderr,
               "flint-worker: %s\n"
               "usage: flint-worker --fd N --runtime js|cpp [--sandbox on|off --code-root DIR]\n"
               "                    [--title PADDING]\n"
               "Started by flintd with a connected Unix socket on fd N; not for direct use.\n",
               problem);
  return 2;
}

// True when `fd` is open and its peer has not hung up.
bool PeerAlive(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  if (::poll(&p, 1, 0) < 0) return false;
  return (p.revents & (POLLHUP | POLLNVAL | POLLERR)) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Die with flintd. The check below catches a parent that died before this call.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);

  flint::runtime::WorkerOptions options;
  bool have_fd = false;
  std::string code_root;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage("help");
      return 0;
    }
    if (i + 1 >= argc) return Usage(("missing value after " + std::string(arg)).c_str());
    std::string_view value = argv[++i];
    if (arg == "--fd") {
      char* end = nullptr;
      long fd = std::strtol(argv[i], &end, 10);
      if (end == argv[i] || *end != '\0' || fd < 0 || fd > 65535) return Usage("bad --fd");
      options.fd = static_cast<int>(fd);
      have_fd = true;
    } else if (arg == "--runtime") {
      std::optional<flint::Runtime> runtime = flint::ParseRuntime(value);
      if (!runtime) {
        return Usage(("--runtime must be " + flint::RuntimeNames(" or ")).c_str());
      }
      options.runtime = *runtime;
    } else if (arg == "--sandbox") {
      if (value != "on" && value != "off") return Usage("--sandbox must be on or off");
      options.sandbox = value == "on";
    } else if (arg == "--code-root") {
      code_root = std::string(value);
    } else if (arg == "--title") {
      // Padding only: its memory is reused for the process title.
    } else {
      return Usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  if (!have_fd) return Usage("--fd is required");
  if (options.sandbox && code_root.empty()) return Usage("--sandbox on needs --code-root");
  if (!PeerAlive(options.fd)) {
    std::fprintf(stderr, "flint-worker: fd %d is not a connected socket (is flintd gone?)\n",
                 options.fd);
    return 2;
  }

  if (options.runtime == flint::Runtime::kCpp) {
    // Beside this executable; opened now, while its directory is still in view.
    char exe[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
      std::string path(exe, static_cast<size_t>(n));
      path = path.substr(0, path.rfind('/') + 1) + "flint-native-warmup.so";
      options.native_warmup_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
  }
  if (options.sandbox) {
    // Before any thread exists: EnterNamespaces forks.
    flint::Status ready = flint::runtime::sandbox::EnterNamespaces(code_root);
    if (!ready.ok()) {
      std::fprintf(stderr, "flint-worker: cannot set up the sandbox: %s\n",
                   ready.ToString().c_str());
      return 2;
    }
  }

  // The title is set after LOAD; the padding argument makes room for it.
  flint::runtime::ProcessTitle title(argc, argv);
  options.title = &title;
  return flint::runtime::RunWorker(std::move(options));
}
