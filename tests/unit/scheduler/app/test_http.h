// TestHttp: a real HttpServer on the test's libuv loop, and requests to it from non-blocking
// client sockets read between turns of the loop, so a test drives flintd's request path in one
// thread: Send() a request, play the workers, then Wait() for its response.
//
// Every wait is bounded (10 s). Loop thread only; the loop must outlive the TestHttp.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/server/http_server.h"
#include "sdk/client/http_message.h"

namespace flint::scheduler::testing {

// Runs `loop` until `done` returns true or `timeout_ms` passes; false on timeout.
bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done, uint64_t timeout_ms = 10'000);

class TestHttp {
 public:
  TestHttp(uv_loop_t* loop, HttpServer::Handler handler);
  ~TestHttp();

  // Sends `method target` (with `body` and `headers`) on a new connection; returns its number.
  int Send(const std::string& method, const std::string& target, const std::string& body = "",
           const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Runs the loop until the response to `call` is complete; nullopt on timeout.
  std::optional<client::HttpResponse> Wait(int call);
  // Reads what arrived without running the loop: true once `call` has its whole response.
  bool Answered(int call);

 private:
  struct Call;
  uv_loop_t* loop_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::unique_ptr<Call>> calls_;
};

}  // namespace flint::scheduler::testing
