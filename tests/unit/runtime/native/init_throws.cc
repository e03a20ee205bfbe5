// A Flint function whose init hook throws: its load must fail with the exception's message.
#include <flint/flint.h>

#include <stdexcept>

namespace {
void Init() { throw std::runtime_error("no configuration found"); }
flint::Response Handle(const flint::Request&) { return flint::Response::Text("unreachable"); }
}  // namespace

FLINT_INIT(Init)
FLINT_HANDLER(Handle)
