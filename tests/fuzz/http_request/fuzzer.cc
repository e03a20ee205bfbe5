// Fuzzes HttpRequestParser (scheduler/server/http_parser.h), the first code that reads what a
// client sends to flintd. Input: one byte of settings, then the bytes a connection receives.
// The settings byte picks the read size the stream is cut into (as TCP may cut it) and small or
// default limits; the harness checks what every request that parses must satisfy.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "scheduler/server/http_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using flint::Code;
using flint::scheduler::HttpRequest;
using flint::scheduler::HttpRequestParser;

class Listener final : public HttpRequestParser::Listener {
 public:
  explicit Listener(size_t body_limit) : body_limit_(body_limit) {}
  void OnRequestBegin() override {
    FUZZ_CHECK(!in_request_);
    in_request_ = true;
    headers_accepted_ = false;
  }
  flint::Result<size_t> BodyLimit(HttpRequest& request) override {
    FUZZ_CHECK(in_request_);
    request.peer_ip = "127.0.0.1";
    return body_limit_;
  }
  void OnHeadersAccepted(bool /*has_body*/, bool /*send_continue*/) override {
    FUZZ_CHECK(in_request_ && !headers_accepted_);
    headers_accepted_ = true;
  }
  void RequestDone() {
    FUZZ_CHECK(in_request_ && headers_accepted_);
    in_request_ = false;
  }
  size_t body_limit() const { return body_limit_; }

 private:
  size_t body_limit_;
  bool in_request_ = false;
  bool headers_accepted_ = false;
};

void CheckRequest(const HttpRequest& r, const HttpRequestParser::Limits& limits,
                  size_t body_limit) {
  FUZZ_CHECK(!r.method.empty());
  FUZZ_CHECK(r.target.size() <= limits.max_header_bytes);
  FUZZ_CHECK(r.path.size() <= r.target.size());
  FUZZ_CHECK(r.target.compare(0, r.path.size(), r.path) == 0);
  FUZZ_CHECK(r.path.find('?') == std::string::npos);
  if (r.path.size() < r.target.size()) {
    FUZZ_CHECK(r.target[r.path.size()] == '?');
    FUZZ_CHECK(r.target.substr(r.path.size() + 1) == r.query);
  } else {
    FUZZ_CHECK(r.query.empty());
  }
  FUZZ_CHECK(r.headers.size() <= limits.max_headers);
  for (const auto& [name, value] : r.headers) {
    for (char c : name) FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
    if (!value.empty()) {
      FUZZ_CHECK(value.front() != ' ' && value.front() != '\t');
      FUZZ_CHECK(value.back() != ' ' && value.back() != '\t');
    }
  }
  FUZZ_CHECK(r.body.size() <= body_limit);
  FUZZ_CHECK(r.peer_ip == "127.0.0.1");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t settings = data[0];
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  // Reads of 1, 2, 3, 7, 16, 64, 512 bytes or everything at once.
  static constexpr size_t kReadSizes[] = {1, 2, 3, 7, 16, 64, 512, SIZE_MAX};
  size_t read_size = kReadSizes[settings & 7];
  HttpRequestParser::Limits limits;
  if (settings & 8) {
    limits.max_header_bytes = 256;
    limits.max_headers = 4;
  }
  Listener listener((settings & 16) ? 16 : 6 * 1024 * 1024);
  HttpRequestParser parser(limits, &listener);
  while (left > 0) {
    size_t chunk = left < read_size ? left : read_size;
    size_t used = 0;
    while (used < chunk) {
      HttpRequestParser::Step step = parser.Execute(bytes + used, chunk - used);
      FUZZ_CHECK(step.consumed <= chunk - used);
      if (step.event == HttpRequestParser::Event::kError) {
        const flint::Status& error = parser.error();
        FUZZ_CHECK(!error.ok());
        FUZZ_CHECK(error.code() == Code::kInvalidArgument ||
                   error.code() == Code::kHeadersTooLarge ||
                   error.code() == Code::kPayloadTooLarge);
        // Nothing more is parsed once the stream is broken.
        FUZZ_CHECK(parser.Execute("GET / HTTP/1.1\r\n\r\n", 18).event ==
                   HttpRequestParser::Event::kError);
        return 0;
      }
      used += step.consumed;
      if (step.event == HttpRequestParser::Event::kRequest) {
        listener.RequestDone();
        HttpRequest request = std::move(parser.request());
        CheckRequest(request, limits, listener.body_limit());
      } else {
        FUZZ_CHECK(used == chunk);
      }
    }
    bytes += chunk;
    left -= chunk;
  }
  return 0;
}
