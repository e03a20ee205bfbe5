// InitializeV8: the process-wide V8 start-up (ICU, the default platform, V8 itself).
//
// V8 can be initialised only once per process and never re-initialised after disposal, so the
// platform lives for the whole process and is never torn down. Thread-safe and idempotent:
// every caller may call it; only the first does the work.
#pragma once

namespace flint::runtime {

void InitializeV8();

}  // namespace flint::runtime
