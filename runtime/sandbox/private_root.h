// The building blocks of a private root, shared by the worker's sandbox (sandbox.h) and the
// build sandbox (build_sandbox.h): a tmpfs at kRoot populated with read-only binds of what the
// process may see, then entered in place of the host's root.
//
// Order of use, in a process that has just unshared its mount namespace (and, to mount a /proc
// of its own, is PID 1 of a new PID namespace): DetachFromHostMounts, MountRootTmpfs, the
// Mirror/Bind/Mount calls for the view, EnterRoot. Root only; single-threaded (they change the
// calling process's mounts, working directory and root).
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>

#include "sdk/core/status.h"

namespace flint::runtime::sandbox::detail {

// The mount point of the private root inside the process's own mount namespace. The
// directory itself is shared with the host (and stays, empty); what is mounted on it is private
// to each namespace.
inline constexpr const char* kRunDir = "/run/flint";
inline constexpr const char* kRoot = "/run/flint/root";

// mkdir, where an existing directory is fine.
Status MakeDir(const std::string& path, mode_t mode = 0755);
// mkdir -p, for paths inside the private root.
Status MakeDirs(const std::string& path);
// Binds `source` onto `target` (which must exist) read-only, without setuid binaries or device
// files.
Status BindReadOnly(const std::string& source, const std::string& target);
// Binds the file `source` read-only at `target`, creating an empty file there first.
Status BindFileReadOnly(const std::string& source, const std::string& target);

// Makes every mount of the namespace private, so that nothing mounted afterwards reaches the
// host. Under chroot "/" is not a mount point and cannot be made private: going on is then
// safe only if no mount the process can see is shared, which this checks (Unavailable if one
// is).
Status DetachFromHostMounts();
// Mounts an empty tmpfs (mode 0755) at kRoot, creating kRoot as needed.
Status MountRootTmpfs();
// Mirrors the host's system directories (/usr, /lib, /lib64, /lib32, /libx32, /bin, /sbin)
// into kRoot: a symlink stays a symlink (merged /usr), a directory is bound read-only, a
// missing one is skipped.
Status MirrorSystemDirs();
// Creates kRoot/dev as a small tmpfs holding only the named devices of the host (e.g. "null"),
// each bound from /dev.
Status MountDevices(std::initializer_list<const char*> devices);
// Mounts a private tmpfs of `bytes` bytes, mode 1777, at `path` (created as needed).
Status MountTmp(const std::string& path, unsigned long long bytes);
// Enters kRoot: it becomes "/" and the working directory. pivot_root, then the old root is
// detached; under chroot, where pivot_root is refused, kRoot is moved over "/" and chrooted into
// instead (the host's tree stays beneath, out of reach of a process without privileges).
Status EnterRoot();

}  // namespace flint::runtime::sandbox::detail
