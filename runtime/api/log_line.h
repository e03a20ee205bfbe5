// One console line as the worker sends it in a LOG frame: at most kMaxLogLineBytes. Pure (no
// V8), shared by both JavaScript runtimes (the Node.js worker compiles it in, runtime/node/).
#pragma once

#include <cstddef>
#include <string>

namespace flint::runtime {

// The maximum length in bytes of one console line; longer lines are cut and marked.
inline constexpr size_t kMaxLogLineBytes = 64 * 1024;
// Cuts `text` to kMaxLogLineBytes on a UTF-8 boundary, appending a marker saying how much.
void TruncateLogLine(std::string* text);

}  // namespace flint::runtime
