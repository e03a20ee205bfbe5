#include "runtime/sandbox/build_sandbox.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/sandbox/private_root.h"
#include "runtime/sandbox/sandbox.h"
#include "runtime/sandbox/seccomp_policy.h"
#include "sdk/protocol/build_sandbox.h"

namespace flint::runtime::sandbox {
namespace {

using detail::kRoot;

Status Errno(const std::string& what) { return ErrnoStatus(what, errno); }

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Binds the host folder `source` writable at `target`, without setuid binaries, devices or
// execution.
Status BindWritable(const std::string& source, const std::string& target) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return Errno("bind " + source);
  }
  if (::mount(nullptr, target.c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return Errno("remount " + target);
  }
  return Status::Ok();
}

// In PID 1: builds the private root and enters it (see build_sandbox.h).
Status PrepareBuildRoot(const BuildSandboxSpec& spec) {
  FLINT_RETURN_IF_ERROR(detail::DetachFromHostMounts());
  // The compiler writes its output as the sandbox's user.
  if (::chown(spec.output_dir.c_str(), kSandboxUid, kSandboxGid) != 0) {
    return Errno("chown " + spec.output_dir);
  }
  if (::chmod(spec.output_dir.c_str(), 0755) != 0) return Errno("chmod " + spec.output_dir);
  FLINT_RETURN_IF_ERROR(detail::MountRootTmpfs());
  FLINT_RETURN_IF_ERROR(detail::MirrorSystemDirs());
  std::string root = kRoot;
  FLINT_RETURN_IF_ERROR(detail::MountDevices({"null", "urandom"}));
  FLINT_RETURN_IF_ERROR(detail::MountTmp(root + "/tmp", spec.max_file_bytes));
  std::string sources = root + protocol::kBuildSourceDir;
  FLINT_RETURN_IF_ERROR(detail::MakeDirs(sources));
  FLINT_RETURN_IF_ERROR(detail::BindReadOnly(spec.sources_dir, sources));
  std::string sdk = root + protocol::kBuildSdkDir + "/flint";
  FLINT_RETURN_IF_ERROR(detail::MakeDirs(sdk));
  FLINT_RETURN_IF_ERROR(detail::BindReadOnly(spec.sdk_include_dir + "/flint", sdk));
  std::string output = root + protocol::kBuildOutputDir;
  FLINT_RETURN_IF_ERROR(detail::MakeDirs(output));
  FLINT_RETURN_IF_ERROR(BindWritable(spec.output_dir, output));
  (void)::sethostname("flint-build", 11);
  FLINT_RETURN_IF_ERROR(detail::EnterRoot());
  // Nothing outside /tmp and the output folder is writable.
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return Errno("remounting the root read-only");
  }
  return Status::Ok();
}

// In the compiler's process, inside the private root: gives up every privilege and execs the
// program. Returns only on failure, with the reason.
Status ExecCompiler(const BuildSandboxSpec& spec) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct rlimit core = {0, 0};
  struct rlimit fsize = {spec.max_file_bytes, spec.max_file_bytes};
  struct rlimit nofile = {kMaxOpenFiles, kMaxOpenFiles};
  if (::setrlimit(RLIMIT_CORE, &core) != 0 || ::setrlimit(RLIMIT_FSIZE, &fsize) != 0 ||
      ::setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
    return Errno("setrlimit");
  }
  // A file past RLIMIT_FSIZE kills the tool that writes it (SIGXFSZ), which the compiler driver
  // reports as "File size limit exceeded": flintd names the output limit from that.
  ::signal(SIGXFSZ, SIG_DFL);
  ::umask(022);
  if (::setgroups(0, nullptr) != 0) return Errno("setgroups");
  if (::setresgid(kSandboxGid, kSandboxGid, kSandboxGid) != 0) return Errno("setresgid");
  if (::setresuid(kSandboxUid, kSandboxUid, kSandboxUid) != 0) return Errno("setresuid");
  if (::chdir(protocol::kBuildSourceDir) != 0) {
    return Errno(std::string("chdir ") + protocol::kBuildSourceDir);
  }
  std::vector<char*> argv;
  for (const std::string& arg : spec.command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  char path[] = "PATH=/usr/bin:/bin";
  char lang[] = "LANG=C";
  char tmpdir[] = "TMPDIR=/tmp";
  char* envp[] = {path, lang, tmpdir, nullptr};
  // Last: the filter allows execve, and what follows runs under it.
  FLINT_RETURN_IF_ERROR(InstallSeccompPolicy(SeccompProfile::kBuild));
  ::execve(argv[0], argv.data(), envp);
  return Errno("exec " + spec.command[0]);
}

// PID 1 of the build's PID namespace: builds the root, runs the compiler, reaps whatever
// else ends up as its child, and returns the exit code for the compiler's end.
int RunInit(const BuildSandboxSpec& spec) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (Status root = PrepareBuildRoot(spec); !root.ok()) {
    std::fprintf(stderr, "flint-build: cannot set up the build sandbox: %s\n",
                 root.ToString().c_str());
    return protocol::kBuildSetupFailed;
  }
  pid_t compiler = ::fork();
  if (compiler < 0) {
    std::fprintf(stderr, "flint-build: fork: %s\n", std::strerror(errno));
    return protocol::kBuildSetupFailed;
  }
  if (compiler == 0) {
    Status failed = ExecCompiler(spec);
    std::fprintf(stderr, "flint-build: cannot run the compiler: %s\n", failed.ToString().c_str());
    ::_exit(protocol::kBuildSetupFailed);
  }
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return protocol::kBuildSetupFailed;
    }
    if (pid != compiler) continue;  // an orphan of the compiler's, reaped
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
}

}  // namespace

Status ValidateBuildSandboxSpec(const BuildSandboxSpec& spec) {
  auto absolute_dir = [](const std::string& what, const std::string& path) -> Status {
    if (path.empty() || path[0] != '/') {
      return InvalidArgument(what + " must be an absolute path: '" + path + "'");
    }
    if (!IsDir(path)) return InvalidArgument(what + " is not a folder: '" + path + "'");
    return Status::Ok();
  };
  FLINT_RETURN_IF_ERROR(absolute_dir("the sources folder", spec.sources_dir));
  FLINT_RETURN_IF_ERROR(absolute_dir("the output folder", spec.output_dir));
  FLINT_RETURN_IF_ERROR(absolute_dir("the SDK folder", spec.sdk_include_dir));
  if (!IsDir(spec.sdk_include_dir + "/flint")) {
    return InvalidArgument("the SDK folder has no flint/: '" + spec.sdk_include_dir + "'");
  }
  if (spec.command.empty() || spec.command[0].empty() || spec.command[0][0] != '/') {
    return InvalidArgument("the program must be an absolute path");
  }
  if (spec.max_file_bytes == 0) return InvalidArgument("the file size limit must be positive");
  return Status::Ok();
}

Result<int> RunSandboxedBuild(const BuildSandboxSpec& spec) {
  FLINT_RETURN_IF_ERROR(ValidateBuildSandboxSpec(spec));
  if (::unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
    return Errno("unshare");
  }
  pid_t init = ::fork();
  if (init < 0) return Errno("fork");
  if (init == 0) ::_exit(RunInit(spec));
  int status = 0;
  while (::waitpid(init, &status, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid");
  }
  return status;
}

}  // namespace flint::runtime::sandbox
