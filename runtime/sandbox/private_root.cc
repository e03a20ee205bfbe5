#include "runtime/sandbox/private_root.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <string>

namespace flint::runtime::sandbox::detail {
namespace {

Status Errno(const std::string& what) { return ErrnoStatus(what, errno); }

// Fails if /proc/self/mountinfo shows a shared mount (optional field "shared:N"): a mount made
// below it would appear in the host's namespace too.
Status RequireNoSharedMounts() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Errno("reading /proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t end = line.find(" - ");
    if (line.find(" shared:") < end) {
      return Unavailable(
          "the sandbox cannot make / private (running under chroot?) and this mount "
          "is shared with the host: " +
          line);
    }
  }
  return Status::Ok();
}

// See MirrorSystemDirs.
Status MirrorSystemDir(const char* dir) {
  struct stat st;
  if (::lstat(dir, &st) != 0) return Status::Ok();
  std::string target = std::string(kRoot) + dir;
  if (S_ISLNK(st.st_mode)) {
    char link[PATH_MAX];
    ssize_t n = ::readlink(dir, link, sizeof link - 1);
    if (n < 0) return Errno(std::string("readlink ") + dir);
    link[n] = '\0';
    if (::symlink(link, target.c_str()) != 0 && errno != EEXIST) return Errno("symlink " + target);
    return Status::Ok();
  }
  if (!S_ISDIR(st.st_mode)) return Status::Ok();
  FLINT_RETURN_IF_ERROR(MakeDir(target));
  return BindReadOnly(dir, target);
}

}  // namespace

Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return Errno("mkdir " + path);
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    FLINT_RETURN_IF_ERROR(MakeDir(path.substr(0, slash)));
  }
  return MakeDir(path);
}

Status BindReadOnly(const std::string& source, const std::string& target) {
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Errno("bind " + source);
  }
  if (::mount(nullptr, target.c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return Errno("remount read-only " + target);
  }
  return Status::Ok();
}

Status BindFileReadOnly(const std::string& source, const std::string& target) {
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("creating " + target);
  ::close(fd);
  return BindReadOnly(source, target);
}

Status DetachFromHostMounts() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    if (errno != EINVAL) return Errno("making / private");
    FLINT_RETURN_IF_ERROR(RequireNoSharedMounts());
  }
  return Status::Ok();
}

Status MountRootTmpfs() {
  FLINT_RETURN_IF_ERROR(MakeDir(kRunDir));
  FLINT_RETURN_IF_ERROR(MakeDir(kRoot));
  if (::mount("tmpfs", kRoot, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") != 0) {
    return Errno("mounting the private root");
  }
  return Status::Ok();
}

Status MirrorSystemDirs() {
  for (const char* dir : {"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"}) {
    FLINT_RETURN_IF_ERROR(MirrorSystemDir(dir));
  }
  return Status::Ok();
}

Status MountDevices(std::initializer_list<const char*> devices) {
  std::string dev_dir = std::string(kRoot) + "/dev";
  FLINT_RETURN_IF_ERROR(MakeDir(dev_dir));
  if (::mount("tmpfs", dev_dir.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755") !=
      0) {
    return Errno("mounting /dev");
  }
  for (const char* dev : devices) {
    std::string source = std::string("/dev/") + dev;
    std::string target = dev_dir + "/" + dev;
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return Errno("creating " + target);
    ::close(fd);
    if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Errno("bind " + source);
    }
  }
  return Status::Ok();
}

Status MountTmp(const std::string& path, unsigned long long bytes) {
  FLINT_RETURN_IF_ERROR(MakeDirs(path));
  std::string options = "size=" + std::to_string(bytes) + ",mode=1777";
  if (::mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return Errno("mounting " + path);
  }
  return Status::Ok();
}

Status EnterRoot() {
  // Detaching the host's mount tree costs milliseconds (the kernel waits for an RCU grace
  // period); it is done here, at start-up, never on a request's path.
  if (::chdir(kRoot) != 0) return Errno("chdir to the private root");
  // pivot_root(".", "."): the old root ends up stacked under the new one; detach it. Under
  // chroot pivot_root is refused (EINVAL); move the private root over "/" and chroot into it
  // instead.
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    if (::umount2(".", MNT_DETACH) != 0) return Errno("detaching the old root");
  } else {
    if (errno != EINVAL) return Errno("pivot_root");
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return Errno("moving the private root");
    if (::chroot(".") != 0) return Errno("chroot into the private root");
  }
  if (::chdir("/") != 0) return Errno("chdir /");
  return Status::Ok();
}

}  // namespace flint::runtime::sandbox::detail
