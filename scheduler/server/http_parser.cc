#include "scheduler/server/http_parser.h"

#include <llhttp.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <exception>

namespace flint::scheduler {
namespace {

// What the request line adds to the target ("GET " and " HTTP/1.1\r\n"), and each header adds to
// its name and value (": " and "\r\n"), for the max_header_bytes accounting.
constexpr size_t kRequestLineOverhead = 16;
constexpr size_t kHeaderOverhead = 4;
// A body declared larger than this is not reserved up front, only once it has come this far.
constexpr size_t kMaxBodyReserve = 64 * 1024;

}  // namespace

const std::string* HttpRequest::FindHeader(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

struct HttpRequestParser::Impl {
  Impl(Limits l, Listener* li) : limits(l), listener(li) {
    llhttp_init(&parser, HTTP_REQUEST, Settings());
    parser.data = this;
  }

  static const llhttp_settings_t* Settings();
  static Impl* From(llhttp_t* p) { return static_cast<Impl*>(p->data); }
  // Every llhttp callback runs through this: no exception may cross llhttp's C frames. A throw
  // (std::bad_alloc, in practice) becomes an internal error that ends the stream.
  template <typename F>
  static int Guarded(llhttp_t* p, F&& body) noexcept {
    Impl* c = From(p);
    try {
      return body(c);
    } catch (const std::exception& e) {
      c->error = Internal(std::string("http parser: ") + e.what());
    } catch (...) {
      c->error = Internal("http parser: unknown exception");
    }
    return -1;
  }

  // Moves `field` and `value` into the request; non-zero when that breaks a limit.
  int CommitHeader();
  int Reject(Status status) {
    error = std::move(status);
    return -1;
  }
  int HeadersTooLarge() {
    return Reject(Status(
        Code::kHeadersTooLarge,
        "request line and headers exceed " + std::to_string(limits.max_header_bytes) + " bytes"));
  }

  Limits limits;
  Listener* listener;
  llhttp_t parser;
  HttpRequest request;
  std::string field, value;
  bool field_complete = false;  // `field` holds a whole name whose header is not committed
  size_t header_bytes = 0;
  size_t body_limit = 0;
  uint64_t declared_body = 0;  // Content-Length of the request (0: none or chunked), <= body_limit
  bool request_ready = false;
  bool keep_alive = true;
  bool http10 = false;
  bool is_head = false;
  bool failed = false;  // after an error, nothing more is parsed
  Status error;         // set by a callback that rejects the request
};

const llhttp_settings_t* HttpRequestParser::Impl::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t* p) noexcept {
      return Guarded(p, [](Impl* c) {
        c->request = HttpRequest{};
        c->request.headers.reserve(16);
        c->field.clear();
        c->value.clear();
        c->field_complete = false;
        c->header_bytes = kRequestLineOverhead;
        c->listener->OnRequestBegin();
        return 0;
      });
    };
    s.on_url = [](llhttp_t* p, const char* at, size_t len) noexcept {
      return Guarded(p, [at, len](Impl* c) {
        c->header_bytes += len;
        if (c->header_bytes > c->limits.max_header_bytes) return c->HeadersTooLarge();
        c->request.target.append(at, len);
        return 0;
      });
    };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t len) noexcept {
      return Guarded(p, [at, len](Impl* c) {
        // A previous header whose value-complete callback did not come (defensive).
        if (c->field_complete) {
          if (int rc = c->CommitHeader(); rc != 0) return rc;
        }
        c->header_bytes += len;
        if (c->header_bytes > c->limits.max_header_bytes) return c->HeadersTooLarge();
        c->field.append(at, len);
        return 0;
      });
    };
    s.on_header_field_complete = [](llhttp_t* p) noexcept {
      From(p)->field_complete = true;
      return 0;
    };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t len) noexcept {
      return Guarded(p, [at, len](Impl* c) {
        c->header_bytes += len;
        if (c->header_bytes > c->limits.max_header_bytes) return c->HeadersTooLarge();
        c->value.append(at, len);
        return 0;
      });
    };
    s.on_header_value_complete = [](llhttp_t* p) noexcept {
      return Guarded(p, [](Impl* c) { return c->field_complete ? c->CommitHeader() : 0; });
    };
    s.on_headers_complete = [](llhttp_t* p) noexcept {
      return Guarded(p, [p](Impl* c) {
        if (c->field_complete) {
          if (int rc = c->CommitHeader(); rc != 0) return rc;
        }
        HttpRequest& r = c->request;
        if (p->http_major != 1) {
          return c->Reject(InvalidArgument("HTTP version " + std::to_string(p->http_major) + "." +
                                           std::to_string(p->http_minor) +
                                           " is not supported (use HTTP/1.1 or HTTP/1.0)"));
        }
        r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
        size_t q = r.target.find('?');
        if (q == std::string::npos) {
          r.path = r.target;
        } else {
          r.path.assign(r.target, 0, q);
          r.query.assign(r.target, q + 1);
        }
        c->http10 = p->http_minor == 0;
        c->is_head = p->method == HTTP_HEAD;
        Result<size_t> limit = c->listener->BodyLimit(r);
        if (!limit.ok()) return c->Reject(limit.status());
        c->body_limit = *limit;
        bool declared = (p->flags & F_CONTENT_LENGTH) != 0;
        if (declared && p->content_length > c->body_limit) {
          return c->Reject(Status(Code::kPayloadTooLarge,
                                  "request body of " + std::to_string(p->content_length) +
                                      " bytes exceeds the limit of " +
                                      std::to_string(c->body_limit) + " bytes"));
        }
        bool has_body = (p->flags & F_CHUNKED) != 0 || (declared && p->content_length > 0);
        bool send_continue = false;
        if (const std::string* expect = r.FindHeader("expect")) {
          if (strcasecmp(expect->c_str(), "100-continue") != 0) {
            return c->Reject(InvalidArgument("unsupported expectation: Expect: " + *expect));
          }
          send_continue = !c->http10 && has_body;
        }
        c->declared_body = declared ? p->content_length : 0;
        if (declared && has_body) {
          r.body.reserve(std::min<uint64_t>(p->content_length, kMaxBodyReserve));
        }
        c->listener->OnHeadersAccepted(has_body, send_continue);
        return 0;
      });
    };
    s.on_body = [](llhttp_t* p, const char* at, size_t len) noexcept {
      return Guarded(p, [at, len](Impl* c) {
        if (c->request.body.size() + len > c->body_limit) {
          return c->Reject(Status(
              Code::kPayloadTooLarge,
              "request body exceeds the limit of " + std::to_string(c->body_limit) + " bytes"));
        }
        // A large declared body is reserved whole once it outgrows the first reserve, not grown
        // by doubling (which would hold up to twice a deploy's hundreds of megabytes at once).
        std::string& body = c->request.body;
        if (body.size() + len > body.capacity() && c->declared_body > body.capacity()) {
          body.reserve(c->declared_body);
        }
        body.append(at, len);
        return 0;
      });
    };
    s.on_message_complete = [](llhttp_t* p) noexcept {
      Impl* c = From(p);
      c->keep_alive = llhttp_should_keep_alive(p) != 0;
      // Flint speaks no other protocol: an Upgrade (or CONNECT) request gets an ordinary
      // response, after which the bytes that follow cannot be trusted to be HTTP/1.
      if (p->upgrade) c->keep_alive = false;
      c->request_ready = true;
      // Pause: the next pipelined request is parsed only after this one is answered.
      return static_cast<int>(HPE_PAUSED);
    };
    return s;
  }();
  return &settings;
}

int HttpRequestParser::Impl::CommitHeader() {
  field_complete = false;
  header_bytes += kHeaderOverhead;
  if (header_bytes > limits.max_header_bytes) return HeadersTooLarge();
  if (request.headers.size() >= limits.max_headers) {
    return Reject(Status(Code::kHeadersTooLarge,
                         "more than " + std::to_string(limits.max_headers) + " headers"));
  }
  for (char& ch : field) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  // llhttp drops leading whitespace but keeps trailing whitespace.
  size_t end = value.find_last_not_of(" \t");
  value.resize(end == std::string::npos ? 0 : end + 1);
  size_t begin = value.find_first_not_of(" \t");
  if (begin != 0 && begin != std::string::npos) value.erase(0, begin);
  request.headers.emplace_back(std::move(field), std::move(value));
  field.clear();
  value.clear();
  return 0;
}

HttpRequestParser::HttpRequestParser(Limits limits, Listener* listener)
    : impl_(std::make_unique<Impl>(limits, listener)) {}

HttpRequestParser::~HttpRequestParser() = default;

HttpRequestParser::Step HttpRequestParser::Execute(const char* data, size_t size) {
  Impl& c = *impl_;
  if (c.failed) return {Event::kError, size};
  llhttp_errno_t err = llhttp_execute(&c.parser, data, size);
  if (err == HPE_OK) return {Event::kNeedMore, size};
  if (err == HPE_PAUSED && c.request_ready) {
    c.request_ready = false;
    size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&c.parser) - data);
    llhttp_resume(&c.parser);
    return {Event::kRequest, consumed};
  }
  c.failed = true;
  if (c.error.ok()) {
    // Not a callback's rejection (those come as HPE_USER or the callback's own code): llhttp's.
    c.error = InvalidArgument(std::string("malformed HTTP request: ") +
                              llhttp_get_error_reason(&c.parser));
  }
  return {Event::kError, size};
}

HttpRequest& HttpRequestParser::request() { return impl_->request; }
const Status& HttpRequestParser::error() const { return impl_->error; }
bool HttpRequestParser::http10() const { return impl_->http10; }
bool HttpRequestParser::is_head() const { return impl_->is_head; }
bool HttpRequestParser::keep_alive() const { return impl_->keep_alive; }

}  // namespace flint::scheduler
