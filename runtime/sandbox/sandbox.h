// The worker's sandbox, set up in three steps so that the expensive parts happen before a
// function is chosen (the worker is pre-warmed) and only the cheap ones at LOAD:
//
//   EnterNamespaces()  at start-up (flintd passes --sandbox): new mount, PID, network, IPC and
//                      UTS namespaces; the process forks twice so the worker proper is PID 2
//                      of its own PID namespace (PID 1 and the original process only wait and
//                      pass the worker's exit status on to flintd).
//   PrepareRoot(code_root)  at start-up: a private root on tmpfs showing only the system
//                      libraries (/usr, /lib*, read-only), /proc of the new PID namespace, a few
//                      devices, a private size-limited /tmp, and the code store staged
//                      read-only at a hidden path; then pivot_root into it (detaching the
//                      host's tree costs milliseconds, so it happens here).
//   PrepareEnter()     at start-up, before any thread exists: what Enter can do without
//                      knowing the function -- drop the supplementary groups and the gid
//                      (single-threaded, glibc need not signal every thread) and compile the
//                      seccomp filter (about 1.5 ms).
//   Enter(code_dir)    at LOAD, before any function code is read or run: bind the function's
//                      directory of the code store at its usual path, cover the staged store
//                      with an empty tmpfs, remount the root read-only, rlimits, drop to an
//                      unprivileged uid/gid, no_new_privs and a seccomp filter (every thread).
//
// docs/security.md describes what each layer stops and its limits. Needs root (flintd runs
// workers as root only up to Enter). Main thread, single-threaded for EnterNamespaces.
#pragma once

#include <string>

#include "sdk/core/status.h"

namespace flint::runtime::sandbox {

inline constexpr unsigned kSandboxUid = 65534;                    // nobody
inline constexpr unsigned kSandboxGid = 65534;                    // nogroup
inline constexpr unsigned long long kTmpBytes = 64ull << 20;      // the private /tmp
inline constexpr unsigned long long kMaxFileBytes = 64ull << 20;  // RLIMIT_FSIZE
inline constexpr unsigned long long kMaxOpenFiles = 1024;         // RLIMIT_NOFILE

// Returns only in the worker proper (PID 2 of the new PID namespace); the original process exits
// with the worker's status (or its signal). Call before any thread exists.
Status EnterNamespaces();
// Builds the private root (see above) inside the new mount namespace and enters it.
// `code_root`: the code store, whose directories LOAD names (absolute).
Status PrepareRoot(const std::string& code_root);
// Does Enter's function-independent work ahead (see above); optional, Enter does what it did
// not. Call after PrepareRoot and before any thread exists. On error the caller must exit.
Status PrepareEnter();
// Locks the process into the sandbox for the function whose code is in `code_dir`, which must
// be a directory right below the code root. After this returns, the process is unprivileged
// for good; on error the caller must exit.
Status Enter(const std::string& code_dir);

}  // namespace flint::runtime::sandbox
