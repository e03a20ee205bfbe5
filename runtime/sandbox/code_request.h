// The worker's one request to the sandbox's PID 1 (see sandbox.h): "show the function whose
// code is in this directory". Apart from sandbox.cc so that a runtime which the sandboxed worker
// execs (the Node.js worker, runtime/node/) can make the request over the socket it inherited,
// without libseccomp or the rest of the sandbox.
//
// Any thread; blocks until PID 1 answers (a bind mount: well under a millisecond).
#pragma once

#include <string>

#include "sdk/core/status.h"

namespace flint::runtime::sandbox {

// Sends the name of `code_dir`, which must be a directory right below `code_root`, to PID 1
// over `fd` (a SOCK_SEQPACKET socket), waits for the answer and closes `fd` whatever happens:
// there is one request per worker. Ok once the code is mounted read-only at `code_dir`.
Status RequestCode(int fd, const std::string& code_root, const std::string& code_dir);

}  // namespace flint::runtime::sandbox
