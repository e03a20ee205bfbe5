// flint-worker: hosts one function (JavaScript or C++) for flintd. See runtime/worker/worker.h.
//
//   flint-worker --fd 3 --runtime v8|cpp|node [--sandbox on --code-root DIR] [--node PATH]
//                [--title <padding>]
//
// --runtime says what to pre-warm (v8: V8 and an isolate; cpp: nothing); LOAD may name either.
// --runtime node: once in the sandbox and unprivileged, the worker execs Node.js (--node, by
// default the one the build found) with Flint's bootstrap, found in node/ beside this
// executable; Node.js then speaks the protocol on the same fd (runtime/node/node_worker.h).
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

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/node/node_limits.h"
#include "runtime/sandbox/sandbox.h"
#include "runtime/worker/process_title.h"
#include "runtime/worker/worker.h"
#include "sdk/core/runtime.h"

namespace {

int Usage(const char* problem) {
  std::fprintf(
      stderr,
      "flint-worker: %s\n"
      "usage: flint-worker --fd N --runtime v8|cpp|node [--sandbox on|off --code-root DIR]\n"
      "                    [--node PATH] [--title PADDING]\n"
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

// The directory holding this executable, with a trailing slash ("" if unknown).
std::string ExecutableDir() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return {};
  std::string path(exe, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1);
}

// Replaces this process with Node.js running Flint's bootstrap on protocol fd `fd`; returns
// only on failure. `code_fd`: the socket to the sandbox's PID 1 (-1: none).
int ExecNode(const std::string& node, const std::string& runtime_dir, int fd, int code_fd,
             const std::string& code_root) {
  std::vector<std::string> args = {
      node,
      // Shown by ps until LOAD retitles the worker "flint-worker NAME@VERSION".
      "--title=flint-worker",
      // V8's heap starts small; Flint's addon raises the limit up to the function's budget.
      "--max-old-space-size=" + std::to_string(flint::runtime::kNodeInitialOldSpaceMb),
      // A watchdog's TerminateExecution may cut a callback anywhere: Node.js must tolerate the
      // async-id entry it leaves, and AsyncLocalStorage must not depend on async hooks.
      "--no-force-async-hooks-checks",
      "--experimental-async-context-frame",
      // Warnings are logged by the bootstrap as LOG lines, not printed on flintd's stderr.
      "--no-warnings",
      runtime_dir + "bootstrap.js",
      "--fd",
      std::to_string(fd),
  };
  if (code_fd >= 0) {
    args.insert(args.end(), {"--code-fd", std::to_string(code_fd), "--code-root", code_root});
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // No NODE_OPTIONS, NODE_PATH, NODE_EXTRA_CA_CERTS or UV_* from wherever flint-worker was
  // started changes the runtime: a function's own variables are set at LOAD.
  std::vector<std::string> drop;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view var = *e;
    if (var.starts_with("NODE_") || var.starts_with("UV_")) {
      drop.emplace_back(var.substr(0, var.find('=')));
    }
  }
  for (const std::string& name : drop) ::unsetenv(name.c_str());
  ::setenv("HOME", "/tmp", 0);
  ::execv(node.c_str(), argv.data());
  std::fprintf(stderr, "flint-worker: cannot run %s: %s\n", node.c_str(), std::strerror(errno));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Die with flintd. The check below catches a parent that died before this call.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);

  flint::runtime::WorkerOptions options;
  bool have_fd = false;
  std::string code_root;
  std::string node = FLINT_NODE_BINARY;
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
    } else if (arg == "--node") {
      node = std::string(value);
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

  if (options.runtime == flint::Runtime::kNode) {
    // Node.js and the bootstrap must stay in view inside the sandbox: their directories are
    // shown read-only at their usual paths.
    char real[PATH_MAX];
    if (::realpath(node.c_str(), real) == nullptr) {
      std::fprintf(stderr, "flint-worker: Node.js not found at %s\n", node.c_str());
      return 2;
    }
    node = real;
    std::string runtime_dir = ExecutableDir() + "node/";
    if (options.sandbox) {
      std::vector<std::string> dirs = {node.substr(0, node.rfind('/')),
                                       runtime_dir.substr(0, runtime_dir.size() - 1)};
      flint::Status ready = flint::runtime::sandbox::EnterNamespaces(code_root, dirs);
      if (ready.ok()) ready = flint::runtime::sandbox::DropPrivileges();
      if (!ready.ok()) {
        std::fprintf(stderr, "flint-worker: cannot set up the sandbox: %s\n",
                     ready.ToString().c_str());
        return 2;
      }
    }
    // The seccomp allow-list is in force from here on, before Node.js runs a single line.
    int code_fd = options.sandbox ? flint::runtime::sandbox::ReleaseCodeRequestFd() : -1;
    return ExecNode(node, runtime_dir, options.fd, code_fd, code_root);
  }
  if (options.runtime == flint::Runtime::kCpp) {
    // Beside this executable; opened now, while its directory is still in view.
    std::string dir = ExecutableDir();
    if (!dir.empty()) {
      options.native_warmup_fd =
          ::open((dir + "flint-native-warmup.so").c_str(), O_RDONLY | O_CLOEXEC);
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
