#include "runtime/sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/sandbox/code_request.h"
#include "runtime/sandbox/private_root.h"
#include "runtime/sandbox/seccomp_policy.h"

namespace flint::runtime::sandbox {
namespace {

using detail::MakeDir;

// The worker's side (set by EnterNamespaces in the worker): the code root, and its end of the
// socket to PID 1, -1 once Enter has used it.
std::string g_code_root;
int g_code_request_fd = -1;
bool g_privileges_dropped = false;  // DropPrivileges ran

// Inside the private root: every function's code, staged read-only at start-up below a
// directory only root may enter (the worker is nobody from start-up on), for PID 1 to bind the
// one function's directory from at LOAD.
constexpr const char* kStagingParent = "/.flint-code";
constexpr const char* kStaging = "/.flint-code/store";

Status Errno(const std::string& what) { return ErrnoStatus(what, errno); }

}  // namespace

namespace {

// Waits for `child` and returns its status.
int WaitFor(pid_t child) {
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Closes every descriptor beyond stderr but `keep` (-1: none), so that flintd sees the worker's
// channel close when the worker goes, not when the processes waiting for it do.
void CloseInheritedExcept(int keep) {
  if (keep < 0) {
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    return;
  }
  if (keep > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u);
}

Status PrepareRoot(const std::string& code_root, const std::vector<std::string>& runtime_dirs);
void ServeCodeRequest(int fd, const std::string& code_root);

}  // namespace

Status EnterNamespaces(const std::string& code_root, const std::vector<std::string>& runtime_dirs) {
  if (code_root.empty() || code_root[0] != '/') {
    return InvalidArgument("the code root must be absolute: '" + code_root + "'");
  }
  for (const std::string& dir : runtime_dirs) {
    if (dir.empty() || dir[0] != '/') {
      return InvalidArgument("a runtime directory must be absolute: '" + dir + "'");
    }
  }
  if (::unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
    return Errno("unshare");
  }
  // Three processes: the one flintd started (outside, waits), PID 1 of the new namespace (builds
  // the private root, serves the one request for the function's code, then waits: the kernel
  // ignores signals a namespace's init sends itself, so abort() in PID 1 would show as SIGSEGV)
  // and the worker proper, PID 2.
  pid_t init = ::fork();
  if (init < 0) return Errno("fork");
  if (init == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // PID 1 builds the root (its /proc must be mounted from inside the new PID namespace) and
    // the worker inherits it.
    if (Status root = PrepareRoot(code_root, runtime_dirs); !root.ok()) {
      std::fprintf(stderr, "flint-worker: cannot set up the sandbox: %s\n",
                   root.ToString().c_str());
      ::_exit(2);
    }
    int channel[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) ::_exit(2);
    pid_t worker = ::fork();
    if (worker < 0) ::_exit(2);
    if (worker == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with PID 1, which dies with flintd's child
      ::close(channel[0]);
      g_code_root = code_root;
      g_code_request_fd = channel[1];
      return Status::Ok();
    }
    ::close(channel[1]);
    CloseInheritedExcept(channel[0]);
    ServeCodeRequest(channel[0], code_root);
    int status = WaitFor(worker);
    // PID 1 cannot re-raise a signal on itself: the outer process does, from 128 + N.
    ::_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                : (WIFEXITED(status) ? WEXITSTATUS(status) : 1));
  }
  CloseInheritedExcept(-1);
  int status = WaitFor(init);
  int code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (code > 128) {
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

namespace {

// Runs in PID 1 (see EnterNamespaces), before the worker exists.
Status PrepareRoot(const std::string& code_root, const std::vector<std::string>& runtime_dirs) {
  // Nothing mounted from here on propagates back to the host.
  FLINT_RETURN_IF_ERROR(detail::DetachFromHostMounts());
  FLINT_RETURN_IF_ERROR(detail::MountRootTmpfs());
  FLINT_RETURN_IF_ERROR(detail::MirrorSystemDirs());
  std::string root = detail::kRoot;
  FLINT_RETURN_IF_ERROR(MakeDir(root + "/etc"));
  // DNS for a function with network "outbound": slirp4netns' resolver (scheduler/isolation/
  // outbound_network.h). Without a network, a lookup fails at once (ENETUNREACH).
  {
    constexpr char kResolvConf[] = "nameserver 10.0.2.3\n";
    std::string path = root + "/etc/resolv.conf";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("creating " + path);
    bool written = ::write(fd, kResolvConf, sizeof kResolvConf - 1) == sizeof kResolvConf - 1;
    ::close(fd);
    if (!written) return Errno("writing " + path);
  }
  // "localhost" resolves without DNS (the network namespace has only its loopback).
  {
    constexpr char kHosts[] = "127.0.0.1 localhost\n::1 localhost\n";
    std::string path = root + "/etc/hosts";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("creating " + path);
    bool written = ::write(fd, kHosts, sizeof kHosts - 1) == sizeof kHosts - 1;
    ::close(fd);
    if (!written) return Errno("writing " + path);
  }
  FLINT_RETURN_IF_ERROR(MakeDir(root + "/proc"));
  if (::mount("proc", (root + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
    return Errno("mounting /proc");
  }
  FLINT_RETURN_IF_ERROR(detail::MountDevices({"null", "zero", "full", "random", "urandom"}));
  FLINT_RETURN_IF_ERROR(detail::MountTmp(root + "/tmp", kTmpBytes));
  // The code store, staged; and the path functions' code will appear at, as on the host.
  FLINT_RETURN_IF_ERROR(MakeDir(root + kStagingParent, 0700));
  if (::chmod((root + kStagingParent).c_str(), 0700) != 0)
    return Errno("chmod " + root + kStagingParent);
  FLINT_RETURN_IF_ERROR(MakeDir(root + kStaging));
  FLINT_RETURN_IF_ERROR(detail::BindReadOnly(code_root, root + kStaging));
  FLINT_RETURN_IF_ERROR(detail::MakeDirs(root + code_root));
  // A runtime the worker execs (Node.js and Flint's bootstrap for it), at its usual path.
  for (const std::string& dir : runtime_dirs) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return InvalidArgument("runtime directory " + dir + " does not exist");
    }
    FLINT_RETURN_IF_ERROR(detail::MakeDirs(root + dir));
    FLINT_RETURN_IF_ERROR(detail::BindReadOnly(dir, root + dir));
  }
  (void)::sethostname("flint", 5);
  // Into the private root now, at start-up: entering it costs milliseconds, too slow for LOAD.
  // The host's tree stays out of reach of the worker, which drops its privileges at start-up.
  return detail::EnterRoot();
}

// In PID 1: binds the function's code at its usual path, read-only (the bind inherits the
// staged store's read-only, nosuid and nodev flags), and makes the root read-only. A name that
// is not one directory of the store is refused.
Status BindFunctionCode(const std::string& code_root, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return InvalidArgument("'" + name + "' is not a directory of the code store");
  }
  std::string code_dir = code_root + "/" + name;
  FLINT_RETURN_IF_ERROR(MakeDir(code_dir));
  std::string staged = std::string(kStaging) + "/" + name;
  if (::mount(staged.c_str(), code_dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return Errno("bind " + staged);
  }
  // Nothing outside /tmp is writable.
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return Errno("remounting the root read-only");
  }
  return Status::Ok();
}

// In PID 1: answers the worker's one request (the name of the function's directory), then
// closes the socket for good, so that the function, which runs in the worker after it, can
// never ask again. Returns at once if the worker goes first.
void ServeCodeRequest(int fd, const std::string& code_root) {
  char name[NAME_MAX + 1];
  ssize_t n;
  // MSG_TRUNC: n is the message's whole length, so a longer name is refused, not cut short.
  while ((n = ::recv(fd, name, sizeof name, MSG_TRUNC)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    Status bound = n > static_cast<ssize_t>(sizeof name)
                       ? InvalidArgument("the function's directory name is too long")
                       : BindFunctionCode(code_root, std::string(name, static_cast<size_t>(n)));
    std::string reply = bound.ok() ? "K" : "E" + bound.message();
    (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  }
  ::close(fd);
}

}  // namespace

Status DropPrivileges() {
  // Limits first: raising them back needs a capability the worker is about to lose.
  struct rlimit core = {0, 0};
  struct rlimit fsize = {kMaxFileBytes, kMaxFileBytes};
  struct rlimit nofile = {kMaxOpenFiles, kMaxOpenFiles};
  if (::setrlimit(RLIMIT_CORE, &core) != 0 || ::setrlimit(RLIMIT_FSIZE, &fsize) != 0 ||
      ::setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
    return Errno("setrlimit");
  }
  // A write past RLIMIT_FSIZE fails with EFBIG instead of killing the worker.
  ::signal(SIGXFSZ, SIG_IGN);
  // Groups, gid, then uid, for good. Single-threaded, so glibc need not signal every thread to
  // change its ids (with V8's threads that cost up to milliseconds under load).
  if (::setgroups(0, nullptr) != 0) return Errno("setgroups");
  if (::setresgid(kSandboxGid, kSandboxGid, kSandboxGid) != 0) return Errno("setresgid");
  if (::setresuid(kSandboxUid, kSandboxUid, kSandboxUid) != 0) return Errno("setresuid");
  // Changing uid made the process undumpable, which hands /proc/self to root: the runtime
  // reads its own /proc/self/maps (stack bounds). Nothing else can reach it (alone in its PID
  // namespace, ptrace denied, RLIMIT_CORE 0).
  if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return Errno("PR_SET_DUMPABLE");
  // no_new_privs and the allow-list; threads started later inherit both.
  FLINT_RETURN_IF_ERROR(InstallSeccompPolicy());
  g_privileges_dropped = true;
  return Status::Ok();
}

Status Enter(const std::string& code_dir) {
  if (g_code_root.empty()) return Internal("sandbox: EnterNamespaces was not called");
  if (!g_privileges_dropped) return Internal("sandbox: DropPrivileges was not called");
  if (g_code_request_fd < 0) return Internal("sandbox: Enter was called before");
  int fd = g_code_request_fd;
  g_code_request_fd = -1;
  return RequestCode(fd, g_code_root, code_dir);
}

int ReleaseCodeRequestFd() {
  int fd = g_code_request_fd;
  g_code_request_fd = -1;
  if (fd >= 0) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace flint::runtime::sandbox
