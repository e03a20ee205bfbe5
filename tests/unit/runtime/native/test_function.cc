// A C++ function for the native host's tests, built as a shared object against the SDK.
// The path selects the behaviour under test.
#include <flint/flint.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace {

int init_count = 0;
int call_count = 0;

void Init(flint::Context& ctx) {
  ++init_count;
  ctx.log().Info("init ran for " + std::string(ctx.function_name()));
}

flint::Response Handle(const flint::Request& req, flint::Context& ctx) {
  ++call_count;
  std::string path(req.path());
  if (path == "/echo") {
    std::string out;
    out += "method=" + std::string(req.method()) + "\n";
    out += "a=" + req.query("a").value_or("-") + "\n";
    out += "b=" + req.query("b").value_or("-") + "\n";
    out += "x-test=" + std::string(req.header("X-Test").value_or("-")) + "\n";
    out += "body=" + std::string(req.body()) + "\n";
    out += "request_id=" + std::string(ctx.request_id()) + "\n";
    out += "function=" + std::string(ctx.function_name()) + "@" +
           std::to_string(ctx.function_version()) + "\n";
    out += "memory=" + std::to_string(ctx.memory_limit_mb()) + "\n";
    out += "remaining_positive=" + std::to_string(ctx.remaining_time().count() > 0) + "\n";
    return flint::Response::Text(out, 201).AddHeader("x-extra", "1");
  }
  if (path == "/throw") throw std::out_of_range("index 7 is out of range");
  if (path == "/throw-int") throw 42;
  if (path == "/log") {
    ctx.log().Info("hello from C++");
    ctx.log().Warn("careful");
    return flint::Response::Text("logged");
  }
  if (path == "/count") {
    return flint::Response::Text("init=" + std::to_string(init_count) +
                                 " calls=" + std::to_string(call_count));
  }
  if (path == "/bad-status") {
    flint::Response r;
    r.status = 999;
    return r;
  }
  if (path == "/binary") return flint::Response::Binary(std::string("a\0b", 3), "image/x-test");
  if (path == "/event") return flint::Response::Json(std::string(req.event_json()));
  if (path == "/env")
    return flint::Response::Text(std::getenv("GREETING") ? std::getenv("GREETING") : "-");
  return flint::Response::Text("not found", 404);
}

}  // namespace

FLINT_INIT(Init)
FLINT_HANDLER(Handle)
