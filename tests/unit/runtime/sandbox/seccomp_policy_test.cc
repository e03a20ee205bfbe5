// The seccomp allow-list, installed for real: each probe runs in a forked child that drops to
// an unprivileged user (when the suite runs as root), installs the policy and reports what the
// kernel answered, as "ok" or the errno's name. The parent asserts on the answer.
#include "runtime/sandbox/seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>

namespace flint::runtime::sandbox {
namespace {

constexpr unsigned kNobody = 65534;

std::string Outcome(long rc) {
  if (rc >= 0) return "ok";
  const char* name = strerrorname_np(errno);
  return name != nullptr ? name : std::to_string(errno);
}

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// What a child under the policy reported, and how it ended (waitpid's status).
struct ChildEnd {
  std::string report;
  int status = 0;
};

// Runs `probe` in a child under the policy (the worker's unless `profile` says otherwise). The
// child never returns into Catch2: it leaves with _exit.
ChildEnd ForkUnderPolicy(const std::function<std::string()>& probe,
                         SeccompProfile profile = SeccompProfile::kWorker) {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(out[0]);
    // Unprivileged, as the worker is when it installs the policy.
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
         ::setresuid(kNobody, kNobody, kNobody) != 0)) {
      WriteAll(out[1], "cannot drop root: " + Outcome(-1));
      ::_exit(1);
    }
    Status installed = InstallSeccompPolicy(profile);
    if (!installed.ok()) {
      WriteAll(out[1], "install failed: " + installed.ToString());
      ::_exit(1);
    }
    WriteAll(out[1], probe());
    ::_exit(0);
  }
  ::close(out[1]);
  ChildEnd end;
  char buf[256];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) end.report.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  REQUIRE(::waitpid(child, &end.status, 0) == child);
  return end;
}

// What `probe` reported under the policy; the child must have exited normally.
std::string UnderPolicy(const std::function<std::string()>& probe,
                        SeccompProfile profile = SeccompProfile::kWorker) {
  ChildEnd end = ForkUnderPolicy(probe, profile);
  INFO("child reported: " << end.report);
  REQUIRE(WIFEXITED(end.status));  // not killed (a denied call fails; it does not raise SIGSYS)
  REQUIRE(WEXITSTATUS(end.status) == 0);
  return end.report;
}

// The outcome of a raw system call under the policy (the filter runs before the kernel looks
// at the arguments, so zeros do for denied calls).
std::string Syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0) {
  return UnderPolicy([=] { return Outcome(::syscall(nr, a0, a1, a2, a3, a4)); });
}

// The same under the build profile.
std::string BuildSyscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0) {
  return UnderPolicy([=] { return Outcome(::syscall(nr, a0, a1, a2)); }, SeccompProfile::kBuild);
}

}  // namespace

TEST_CASE("The seccomp policy installs without root and the process goes on", "[seccomp]") {
  CHECK(UnderPolicy([] {
          return std::to_string(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) + " " +
                 std::to_string(::prctl(PR_GET_SECCOMP, 0, 0, 0, 0)) + " " +
                 std::to_string(::getuid());
        }) == "1 2 " + std::to_string(::geteuid() == 0 ? kNobody : ::getuid()));
}

TEST_CASE("Threads started under the seccomp policy inherit it", "[seccomp]") {
  // The worker installs the policy before it starts any thread (V8's among them).
  CHECK(UnderPolicy([] {
          std::string seen;
          std::thread worker([&] {
            seen = Outcome(::getpid()) + " " + Outcome(::syscall(SYS_unshare, CLONE_NEWUSER)) +
                   " " + Outcome(::syscall(SYS_clone3)) + " " +
                   std::to_string(::prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
          });
          worker.join();
          return seen;
        }) == "ok EPERM ENOSYS 2");
}

TEST_CASE("The seccomp policy allows what a runtime needs", "[seccomp]") {
  CHECK(UnderPolicy([] { return Outcome(::getpid()); }) == "ok");
  CHECK(UnderPolicy([] {
          int p[2];
          if (::pipe2(p, O_CLOEXEC) != 0) return "pipe2 " + Outcome(-1);
          std::string out = Outcome(::write(p[1], "x", 1));
          char c = 0;
          out += " " + Outcome(::read(p[0], &c, 1));
          return out;
        }) == "ok ok");
  CHECK(UnderPolicy([] {
          void* p =
              ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          if (p == MAP_FAILED) return "mmap " + Outcome(-1);
          std::string out = Outcome(::mprotect(p, 4096, PROT_READ | PROT_EXEC));
          out += " " + Outcome(::madvise(p, 1 << 20, MADV_DONTNEED));
          out += " " + Outcome(::munmap(p, 1 << 20));
          return out;
        }) == "ok ok ok");
  CHECK(UnderPolicy([] {
          // pthread_create: clone3 fails with ENOSYS, glibc falls back to clone() (no
          // namespace flags), which the policy allows.
          int value = 0;
          std::thread worker([&] { value = 42; });
          worker.join();
          return std::to_string(value);
        }) == "42");
  CHECK(UnderPolicy([] {
          pid_t pid = ::fork();
          if (pid == 0) ::_exit(7);
          if (pid < 0) return "fork " + Outcome(-1);
          int status = 0;
          ::waitpid(pid, &status, 0);
          return std::to_string(WEXITSTATUS(status));
        }) == "7");
  CHECK(UnderPolicy([] {
          int ep = ::epoll_create1(EPOLL_CLOEXEC);
          int ev = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
          epoll_event e{};
          e.events = EPOLLIN;
          std::string out = Outcome(ep) + " " + Outcome(ev) + " " +
                            Outcome(::epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e)) + " " +
                            Outcome(::epoll_wait(ep, &e, 1, 0));
          return out;
        }) == "ok ok ok ok");
  CHECK(UnderPolicy([] {
          timespec now;
          timespec pause = {0, 1000};
          return Outcome(::clock_gettime(CLOCK_MONOTONIC, &now)) + " " +
                 Outcome(::nanosleep(&pause, nullptr));
        }) == "ok ok");
  CHECK(UnderPolicy([] { return Outcome(::kill(::getpid(), 0)); }) == "ok");
  // A file anyone may read, opened relative to a directory descriptor taken before the child
  // drops root: in a chroot whose root directory nobody may search (a fresh build root made
  // with mkdtemp, mode 0700), every absolute path is EACCES to nobody, /dev/null included.
  char path[] = "/tmp/flint-seccomp-XXXXXX";
  int made = ::mkstemp(path);
  REQUIRE(made >= 0);
  REQUIRE(::fchmod(made, 0644) == 0);
  ::close(made);
  int tmp_dir = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(tmp_dir >= 0);
  const char* name = path + std::strlen("/tmp/");
  CHECK(UnderPolicy([tmp_dir, name] {
          int fd = ::openat(tmp_dir, name, O_RDONLY | O_CLOEXEC);
          std::string opened = Outcome(fd);  // before close() can overwrite errno
          return opened + " " + Outcome(::close(fd));
        }) == "ok ok");
  ::close(tmp_dir);
  ::unlink(path);
  CHECK(UnderPolicy([] { return Outcome(::personality(PER_LINUX)); }) == "ok");
}

TEST_CASE("The seccomp policy allows every ioctl but TIOCSTI", "[seccomp]") {
  // On a pipe: an ioctl that reaches the kernel answers, at worst, ENOTTY.
  auto on_pipe = [](unsigned long request) {
    return UnderPolicy([=] {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return "pipe2 " + Outcome(-1);
      int value = 0;
      return Outcome(::syscall(SYS_ioctl, p[0], request, &value));
    });
  };
  CHECK(on_pipe(FIONREAD) == "ok");
  CHECK(on_pipe(FIONBIO) == "ok");
  CHECK(on_pipe(TCGETS) == "ENOTTY");  // isatty()
  CHECK(on_pipe(TIOCSTI) == "EPERM");
  // The kernel reads the request as 32 bits: high bits must not smuggle TIOCSTI through.
  CHECK(on_pipe((1UL << 32) | TIOCSTI) == "EPERM");
  CHECK(on_pipe(TIOCSTI ^ 1) == "ENOTTY");
}

TEST_CASE("The seccomp policy allows sockets of the Internet and Unix families only", "[seccomp]") {
  for (int family : {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}) {
    INFO("family " << family);
    CHECK(UnderPolicy([=] {
            int type = family == AF_NETLINK ? SOCK_RAW : SOCK_STREAM;
            int s = ::socket(family, type | SOCK_CLOEXEC, 0);
            return Outcome(s);
          }) == "ok");
  }
  CHECK(UnderPolicy([] {
          int sv[2];
          return Outcome(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        }) == "ok");
  CHECK(Syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0) == "EPERM");
  CHECK(Syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0) == "EPERM");
  CHECK(Syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0) == "EPERM");
  // The family is an int: high bits must not smuggle one past the rule.
  CHECK(Syscall(SYS_socket, (1L << 32) | AF_PACKET, SOCK_RAW, 0) == "EPERM");
  CHECK(Syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, 0) == "EPERM");
}

TEST_CASE("The seccomp policy refuses the ways out of the sandbox with EPERM", "[seccomp]") {
#if !defined(__SANITIZE_ADDRESS__)  // ASan builds allow ptrace for LeakSanitizer
  CHECK(Syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */) == "EPERM");
#endif
  CHECK(Syscall(SYS_process_vm_readv) == "EPERM");
  CHECK(Syscall(SYS_process_vm_writev) == "EPERM");
  CHECK(Syscall(SYS_mount) == "EPERM");
  CHECK(Syscall(SYS_umount2) == "EPERM");
  CHECK(Syscall(SYS_pivot_root) == "EPERM");
  CHECK(Syscall(SYS_chroot) == "EPERM");
  CHECK(Syscall(SYS_unshare, CLONE_NEWUSER) == "EPERM");
  CHECK(Syscall(SYS_setns, -1, 0) == "EPERM");
  CHECK(Syscall(SYS_kexec_load) == "EPERM");
  CHECK(Syscall(SYS_init_module) == "EPERM");
  CHECK(Syscall(SYS_finit_module, -1) == "EPERM");
  CHECK(Syscall(SYS_bpf) == "EPERM");
  CHECK(Syscall(SYS_perf_event_open) == "EPERM");
  CHECK(Syscall(SYS_keyctl) == "EPERM");
  CHECK(Syscall(SYS_add_key) == "EPERM");
  CHECK(Syscall(SYS_userfaultfd) == "EPERM");
  CHECK(Syscall(SYS_io_uring_setup, 1) == "EPERM");
  CHECK(Syscall(SYS_open_by_handle_at) == "EPERM");
  CHECK(Syscall(SYS_reboot) == "EPERM");
  CHECK(Syscall(SYS_clock_settime, CLOCK_REALTIME) == "EPERM");
  CHECK(Syscall(SYS_mknodat, AT_FDCWD) == "EPERM");
  CHECK(Syscall(SYS_personality, 0xffffffffL) == "EPERM");
  CHECK(Syscall(SYS_personality, ADDR_NO_RANDOMIZE) == "EPERM");
}

TEST_CASE("The seccomp policy refuses clone with a namespace flag", "[seccomp]") {
  for (long flag : {CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID}) {
    INFO("flag " << flag);
    CHECK(UnderPolicy([=] {
            long rc = ::syscall(SYS_clone, flag | SIGCHLD, 0, 0, 0, 0);
            if (rc == 0) ::_exit(0);  // a child (the policy is broken): it must not report
            if (rc > 0) ::waitpid(static_cast<pid_t>(rc), nullptr, 0);
            return Outcome(rc);
          }) == "EPERM");
  }
}

TEST_CASE("The seccomp policy makes clone3 look unsupported, so libc falls back to clone",
          "[seccomp]") {
  CHECK(Syscall(SYS_clone3) == "ENOSYS");
}

TEST_CASE("The seccomp policy answers an unknown system call with EPERM, not a kill", "[seccomp]") {
  CHECK(Syscall(1000) == "EPERM");
}

#if defined(__x86_64__)
TEST_CASE("The seccomp policy kills a process that calls through a foreign ABI", "[seccomp]") {
  // x32 numbers (bit 30 set) would otherwise slip past rules written for x86-64 numbers. The
  // whole process goes, not only the calling thread.
  ChildEnd end = ForkUnderPolicy([] {
    std::thread sleeper([] { ::pause(); });
    sleeper.detach();
    return Outcome(::syscall(0x40000000L | SYS_getpid));
  });
  INFO("child reported: " << end.report);
  REQUIRE(WIFSIGNALED(end.status));
  CHECK(WTERMSIG(end.status) == SIGSYS);
  CHECK(end.report.empty());
}
#endif

TEST_CASE("The seccomp allow-list names no call that could leave the sandbox", "[seccomp]") {
  std::set<std::string> allowed;
  for (const char* name : SeccompAllowedSyscalls()) {
    CHECK(allowed.insert(name).second);  // each name once
  }
  // The ways out of the sandbox, and the kernel's least-trodden paths: refused outright.
  const char* const ways_out[] = {
      // clang-format off
      "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "mount", "umount2",
      "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsmount", "fspick", "move_mount",
      "open_tree", "mount_setattr", "kexec_load", "kexec_file_load", "init_module", "finit_module",
      "delete_module", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
      "io_uring_register", "keyctl", "add_key", "request_key", "open_by_handle_at",
      "name_to_handle_at", "reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "ioperm",
      "iopl", "modify_ldt", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "mknod",
      "mknodat", "sethostname", "setdomainname", "fanotify_init", "lookup_dcookie",
      // clang-format on
  };
  // Allowed only under argument rules, never as plain names.
  const char* const with_argument_rules[] = {"clone",      "clone3", "socket",
                                             "socketpair", "ioctl",  "personality"};
  for (const char* name : ways_out) {
    INFO(name);
    CHECK(allowed.count(name) == 0);
  }
  for (const char* name : with_argument_rules) {
    INFO(name);
    CHECK(allowed.count(name) == 0);
  }
#if !defined(__SANITIZE_ADDRESS__)
  CHECK(allowed.count("ptrace") == 0);
#endif
}

TEST_CASE("The build profile runs a program the way a compiler driver does", "[seccomp][build]") {
  // fork, exec, a pipe between the two and wait: what g++ does with cc1plus, as and ld.
  CHECK(UnderPolicy(
            [] {
              int p[2];
              if (::pipe2(p, O_CLOEXEC) != 0) return "pipe2 " + Outcome(-1);
              pid_t child = ::fork();
              if (child < 0) return "fork " + Outcome(-1);
              if (child == 0) {
                ::dup2(p[1], 1);
                char sh[] = "/bin/sh";
                char c[] = "-c";
                char script[] = "echo built";
                char* argv[] = {sh, c, script, nullptr};
                ::execv(sh, argv);
                ::_exit(127);
              }
              ::close(p[1]);
              char buf[32] = {};
              ssize_t n = ::read(p[0], buf, sizeof buf - 1);
              int status = 0;
              ::waitpid(child, &status, 0);
              return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) + "exit " +
                     std::to_string(WEXITSTATUS(status));
            },
            SeccompProfile::kBuild) == "built\nexit 0");
}

TEST_CASE("The build profile allows Unix sockets only, and no way to connect or listen",
          "[seccomp][build]") {
  CHECK(UnderPolicy([] { return Outcome(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)); },
                    SeccompProfile::kBuild) == "ok");
  CHECK(BuildSyscall(SYS_socket, AF_INET, SOCK_STREAM) == "EPERM");
  CHECK(BuildSyscall(SYS_socket, AF_INET6, SOCK_DGRAM) == "EPERM");
  CHECK(BuildSyscall(SYS_socket, AF_NETLINK, SOCK_RAW) == "EPERM");
  CHECK(BuildSyscall(SYS_connect, -1) == "EPERM");
  CHECK(BuildSyscall(SYS_bind, -1) == "EPERM");
  CHECK(BuildSyscall(SYS_listen, -1) == "EPERM");
  CHECK(BuildSyscall(SYS_accept4, -1) == "EPERM");
}

TEST_CASE("The build profile refuses what a compiler never needs", "[seccomp][build]") {
  CHECK(BuildSyscall(SYS_unshare, CLONE_NEWUSER) == "EPERM");
  CHECK(BuildSyscall(SYS_mount) == "EPERM");
  CHECK(BuildSyscall(SYS_setsid) == "EPERM");
  CHECK(BuildSyscall(SYS_setpgid) == "EPERM");
  CHECK(BuildSyscall(SYS_setuid, 0) == "EPERM");
  CHECK(BuildSyscall(SYS_setresuid, 0, 0, 0) == "EPERM");
  CHECK(BuildSyscall(SYS_memfd_create) == "EPERM");
  CHECK(BuildSyscall(SYS_shmget) == "EPERM");
  CHECK(BuildSyscall(SYS_seccomp) == "EPERM");
#if !defined(__SANITIZE_ADDRESS__)  // ASan builds allow ptrace for LeakSanitizer
  CHECK(BuildSyscall(SYS_ptrace, 0 /* PTRACE_TRACEME */) == "EPERM");
#endif
  CHECK(BuildSyscall(SYS_clone3) == "ENOSYS");
}

TEST_CASE("The build profile is the worker's allow-list less what builds never need",
          "[seccomp][build]") {
  std::set<std::string> worker;
  for (const char* name : SeccompAllowedSyscalls()) worker.insert(name);
  std::set<std::string> build;
  for (const char* name : SeccompAllowedSyscalls(SeccompProfile::kBuild)) {
    CHECK(worker.count(name) == 1);
    build.insert(name);
  }
  CHECK(build.size() < worker.size());
  for (const char* name : {"execve", "fork", "vfork", "wait4", "pipe2", "openat", "mmap"}) {
    INFO(name);
    CHECK(build.count(name) == 1);
  }
  for (const char* name : {"connect", "bind", "listen", "setuid", "setsid", "memfd_create"}) {
    INFO(name);
    CHECK(build.count(name) == 0);
  }
}

}  // namespace flint::runtime::sandbox
