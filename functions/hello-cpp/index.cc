// hello-cpp: greets the caller, as functions/hello does in JavaScript. Try /fn/hello-cpp?name=Ada
#include <flint/flint.h>

#include <string>

flint::Response Hello(const flint::Request& req, flint::Context&) {
  return flint::Response::Text("Hello, " + req.query("name").value_or("world") + "!\n");
}

FLINT_HANDLER(Hello)
