// A shared object that claims a future C ABI version: the worker must refuse it.
#include <flint/abi.h>

extern "C" __attribute__((visibility("default"))) uint32_t flint_abi_version(void) { return 99; }
extern "C" __attribute__((visibility("default"))) int flint_handle(const flint_request*,
                                                                   const flint_context*,
                                                                   const flint_response_writer*) {
  return 0;
}
