#include "runtime/js/platform.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <memory>
#include <mutex>

namespace flint::runtime {

void InitializeV8() {
  static std::once_flag once;
  std::call_once(once, [] {
    // ICU comes from the system (libicu72), so no data file location is needed.
    v8::V8::InitializeICU();
    // Intentionally leaked: the platform must outlive every isolate, including ones destroyed
    // by static destructors, and V8 cannot be initialised again anyway.
    v8::Platform* platform = v8::platform::NewDefaultPlatform().release();
    v8::V8::InitializePlatform(platform);
    v8::V8::Initialize();
  });
}

}  // namespace flint::runtime
