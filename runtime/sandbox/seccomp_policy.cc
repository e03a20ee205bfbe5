#include "runtime/sandbox/seccomp_policy.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace flint::runtime::sandbox {
namespace {

// Left out on purpose (EPERM), among others: ptrace, process_vm_readv/writev, kcmp,
// pidfd_getfd; mount, umount2, pivot_root, chroot, unshare, setns and the new mount API
// (fsopen, move_mount, ...); kexec_*, init_module, finit_module, delete_module; bpf,
// perf_event_open, userfaultfd, io_uring_*; keyctl, add_key, request_key; open_by_handle_at,
// name_to_handle_at; reboot, swapon, swapoff, syslog, acct, quotactl, ioperm, iopl,
// modify_ldt; settimeofday, clock_settime, clock_adjtime, adjtimex; mknod, mknodat;
// sethostname, setdomainname; fanotify_init, lookup_dcookie; setxattr and co.
constexpr const char* kAllowed[] = {
    // Memory. pkey_* and memfd_create: V8's code space and WebAssembly memory.
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "msync",
    "mincore",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "membarrier",
    "memfd_create",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",

    // Descriptors and files (the private root decides what they can name).
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "close_range",
    "lseek",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "umask",
    "truncate",
    "ftruncate",
    "fallocate",
    "fadvise64",
    "readahead",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "sync_file_range",
    "flock",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "sendfile",
    "splice",
    "tee",
    "vmsplice",
    "copy_file_range",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",

    // Time and timers.
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "gettimeofday",
    "time",
    "nanosleep",
    "times",
    "alarm",
    "getitimer",
    "setitimer",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",

    // Waiting: futexes, the event loop.
    "futex",
    "futex_waitv",
    "set_robust_list",
    "rseq",
    "restart_syscall",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",

    // Signals. kill and tgkill reach only the worker's own PID namespace (itself, its children
    // and its waiting PID 1), so they need no argument rule.
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "pause",
    "kill",
    "tkill",
    "tgkill",

    // Processes and threads (clone, with its argument rule, is added apart). The uid and gid
    // calls only ever succeed for the ids the worker already has: it holds no capability.
    "fork",
    "vfork",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "set_tid_address",
    "arch_prctl",
    "prctl",
    "getpid",
    "getppid",
    "gettid",
    "getpgid",
    "getpgrp",
    "setpgid",
    "getsid",
    "setsid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "capget",
    "capset",
    "getrlimit",
    "setrlimit",
    "prlimit64",
    "getrusage",
    "getpriority",
    "setpriority",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_setparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_getattr",
    "sched_setattr",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "ioprio_get",
    "ioprio_set",
    "getcpu",
    // A function may tighten the filter further (a filter can only be added, never removed).
    "seccomp",

    // Sockets: the network namespace decides what they reach (socket and socketpair have
    // argument rules, below).
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",

    // System V and POSIX IPC: private to the worker's IPC namespace.
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",

    // The system, read-only.
    "uname",
    "sysinfo",
    "getrandom",

#if defined(__SANITIZE_ADDRESS__)
    // LeakSanitizer stops the world with ptrace when the process exits (ASan builds only; the
    // PID namespace still hides every other process).
    "ptrace",
#endif
};

// Left out of the build profile (see seccomp_policy.h): a compiler needs none of them.
constexpr const char* kNotForBuilds[] = {
    // clang-format off
    "bind", "listen", "accept", "accept4", "connect",
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
    "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
    "memfd_create", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "mlock", "mlock2", "munlock", "mlockall", "munlockall",
    "sched_setaffinity", "sched_setparam", "sched_setscheduler", "sched_setattr", "setpriority",
    "ioprio_set",
    "setsid", "setpgid",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset",
    "seccomp",
    // clang-format on
};

bool NotForBuilds(const char* name) {
  for (const char* excluded : kNotForBuilds) {
    if (std::strcmp(name, excluded) == 0) return true;
  }
  return false;
}

// The namespace flags clone() may not carry. (CLONE_NEWTIME has no room among clone()'s flags;
// only unshare and clone3 take it, and both are refused.)
constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

// Adds the rules with argument conditions. Several rules on one call are OR'ed.
int AddArgumentRules(scmp_filter_ctx ctx, SeccompProfile profile) {
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0));
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  for (int family : {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}) {
    if (rc != 0) break;
    if (profile == SeccompProfile::kBuild && family != AF_UNIX) continue;
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                          SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(family)));
  }
  if (rc == 0) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
                          SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(AF_UNIX)));
  }
  // ioctl, except TIOCSTI (push input into a terminal): the worker shares flintd's session and
  // stderr, so under an interactive flintd a function could type into the operator's shell.
  // The kernel reads the request as 32 bits, so a 64-bit "not equal" could be dodged with high
  // bits; and libseccomp takes one comparison per argument per rule. Hence one rule per low
  // bit, OR'ed: "this bit differs from TIOCSTI's", whatever the high bits.
  for (int bit = 0; bit < 32 && rc == 0; ++bit) {
    uint64_t mask = uint64_t{1} << bit;
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, mask, ~uint64_t{TIOCSTI} & mask));
  }
  if (rc == 0) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                          SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(PER_LINUX)));
  }
  return rc;
}

}  // namespace

std::span<const char* const> SeccompAllowedSyscalls() { return kAllowed; }

std::vector<const char*> SeccompAllowedSyscalls(SeccompProfile profile) {
  std::vector<const char*> names;
  for (const char* name : kAllowed) {
    if (profile == SeccompProfile::kBuild && NotForBuilds(name)) continue;
    names.push_back(name);
  }
  return names;
}

namespace {

// The policy in libseccomp's form, ready to load or compile; the caller releases it.
Status BuildPolicy(SeccompProfile profile, scmp_filter_ctx* out) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (ctx == nullptr) return Internal("seccomp_init failed");
  int rc = 0;
  for (const char* name : SeccompAllowedSyscalls(profile)) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) {
      seccomp_release(ctx);
      return Internal(std::string("seccomp: allowing ") + name + ": " + std::strerror(-rc));
    }
  }
  rc = AddArgumentRules(ctx, profile);
  // A call through a foreign ABI (i386 int 0x80, x32) is not decoded by these rules, and
  // nothing Flint runs makes one: the whole process goes (libseccomp's default would kill only
  // the calling thread, leaving a worker with a thread missing).
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  // Every thread, should the caller have any (the worker installs it before starting its
  // threads). libseccomp sets no_new_privs itself (SCMP_FLTATR_CTL_NNP is on by default).
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  // The same rules as a binary tree rather than a list: the kernel runs the filter once per
  // system call number when it loads it (to cache which calls are always allowed), and a
  // shorter path halves the load (360 -> 165 us here) and each call's check.
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc != 0) {
    seccomp_release(ctx);
    return Internal(std::string("seccomp: ") + std::strerror(-rc));
  }
  *out = ctx;
  return Status::Ok();
}

}  // namespace

Status InstallSeccompPolicy(SeccompProfile profile) {
  scmp_filter_ctx ctx = nullptr;
  FLINT_RETURN_IF_ERROR(BuildPolicy(profile, &ctx));
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) return Internal(std::string("seccomp: ") + std::strerror(-rc));
  return Status::Ok();
}

}  // namespace flint::runtime::sandbox
