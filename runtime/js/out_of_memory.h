// What the process does when V8 itself runs out of memory: an allocation that no step beyond
// the heap limit could satisfy (JsIsolate grants small ones), such as a single array of
// hundreds of megabytes in a small function. V8 cannot continue then. By default it prints a
// message and aborts; flint-worker asks instead for an exit with its out-of-memory code, which
// flintd answers as the function's memory-limit error. No V8 in this header.
#pragma once

namespace flint::runtime {

// From now on, isolates created afterwards end the process with `exit_code` (after one line on
// stderr) on a fatal out-of-memory. Call before creating them; any thread.
void ExitOnFatalOutOfMemory(int exit_code);

}  // namespace flint::runtime
