// FakeServer: a tiny scripted HTTP server on 127.0.0.1:<ephemeral> for client unit tests.
//
// One background thread accepts connections and serves each on a thread of its own: it reads a
// request (headers and a Content-Length body), records it, and writes the raw bytes the handler
// returns. The handler also says whether to close the connection afterwards. Stops and joins in the
// destructor. Tests read `requests()` only after their client call returned.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flint::testing {

struct RecordedRequest {
  std::string head;  // request line and headers, CRLFs included
  std::string body;
  int connection = 0;  // 1 for the first accepted connection, 2 for the next...

  std::string Method() const { return head.substr(0, head.find(' ')); }
  std::string Target() const;
  // The value of the first header `name` (case-insensitive), or "".
  std::string Header(const std::string& name) const;
};

struct FakeReply {
  std::string bytes;   // written as is
  bool close = false;  // close the connection after writing
};

class FakeServer {
 public:
  using Handler = std::function<FakeReply(const RecordedRequest&)>;
  explicit FakeServer(Handler handler);
  ~FakeServer();

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests() const;
  int connections() const { return connections_.load(); }

  // A complete response with Content-Length.
  static std::string Response(int status, const std::string& body,
                              const std::string& content_type = "application/json",
                              const std::string& extra_headers = "");

 private:
  void Run();
  void Serve(int fd, int connection);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;  // guards requests_ and serving_
  std::vector<RecordedRequest> requests_;
  std::vector<std::thread> serving_;  // guarded by mu_; joined when the accept loop ends
  std::thread thread_;
};

}  // namespace flint::testing
