// The worker's sandbox. Everything but one bind mount happens at start-up, before a function is
// chosen (the worker is pre-warmed), and the worker is unprivileged from then on:
//
//   EnterNamespaces(code_root)  at start-up (flintd passes --sandbox): new mount, PID, network,
//                      IPC and UTS namespaces. The process forks twice: PID 1 of the new PID
//                      namespace builds the private root -- a tmpfs showing only the system
//                      libraries (/usr, /lib*, read-only), /proc of the new namespace, a few
//                      devices, a private size-limited /tmp, the runtime's own directories
//                      (the Node.js binary and Flint's bootstrap for it) read-only at their
//                      usual paths, and the code store staged read-only below a directory
//                      only root may enter -- enters it
//                      (pivot_root) and forks the worker proper, PID 2, which inherits it. The
//                      original process and PID 1 then wait and pass the worker's exit status
//                      on to flintd; PID 1 first serves the worker's one request (Enter).
//   DropPrivileges()   at start-up, before any thread exists: rlimits, no supplementary groups,
//                      uid and gid nobody, no_new_privs and the seccomp allow-list (inherited by
//                      every thread started later). Single-threaded, so neither glibc's id
//                      change nor the filter has to reach other threads.
//   Enter(code_dir)    at LOAD, before any function code is read or run: PID 1, still root,
//                      binds the function's directory of the staged store read-only at its
//                      usual path and remounts the root read-only, then closes the socket the
//                      request came through for good. One request, before the function runs;
//                      the worker could not mount anything itself.
//
// docs/security.md describes what each layer stops and its limits. Needs root (flintd starts
// workers as root). Main thread, single-threaded for EnterNamespaces and DropPrivileges.
#pragma once

#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::runtime::sandbox {

inline constexpr unsigned kSandboxUid = 65534;                    // nobody
inline constexpr unsigned kSandboxGid = 65534;                    // nogroup
inline constexpr unsigned long long kTmpBytes = 64ull << 20;      // the private /tmp
inline constexpr unsigned long long kMaxFileBytes = 64ull << 20;  // RLIMIT_FSIZE
inline constexpr unsigned long long kMaxOpenFiles = 1024;         // RLIMIT_NOFILE

// Returns only in the worker proper (PID 2 of the new PID namespace), inside its private root;
// the original process exits with the worker's status (or its signal). `code_root`: the code
// store, whose directories LOAD names (absolute). `runtime_dirs`: absolute directories the
// worker needs beside the system's (/usr, /lib*), shown read-only. Call before any thread exists.
Status EnterNamespaces(const std::string& code_root,
                       const std::vector<std::string>& runtime_dirs = {});
// Drops every privilege for good (see above). Call after EnterNamespaces and before any thread
// exists. On error the caller must exit.
Status DropPrivileges();
// Shows the function whose code is in `code_dir`, which must be a directory right below the
// code root, at its usual path, read-only; the rest of the store stays out of reach. Requires
// DropPrivileges; at most once. On error the caller must exit.
Status Enter(const std::string& code_dir);
// For a worker that execs another runtime after DropPrivileges (the Node.js worker): hands over
// the socket to PID 1, clearing its close-on-exec flag, so that the runtime makes the one
// request itself (code_request.h). Returns -1 when there is none (no sandbox, or already used);
// Enter() is then no longer available in this process.
int ReleaseCodeRequestFd();

}  // namespace flint::runtime::sandbox
