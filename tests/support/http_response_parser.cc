#include "tests/support/http_response_parser.h"

#include <llhttp.h>

#include <string>

namespace flint::testing {

struct HttpResponseParser::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;
  HttpResponseParser* owner = nullptr;
  size_t max_body_bytes = 0;
  bool head_request = false;
  bool complete = false;
  bool keep_alive = false;
  bool body_too_large = false;
  // True while the last header callback was a value, so the next field starts a new header.
  bool in_value = false;

  static Impl* From(llhttp_t* p) { return static_cast<Impl*>(p->data); }
};

HttpResponseParser::HttpResponseParser(size_t max_body_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
  impl_->max_body_bytes = max_body_bytes;
  llhttp_settings_init(&impl_->settings);
  auto& s = impl_->settings;
  s.on_status = [](llhttp_t* p, const char* at, size_t len) {
    Impl::From(p)->owner->response_.reason.append(at, len);
    return 0;
  };
  s.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
    Impl* impl = Impl::From(p);
    auto& headers = impl->owner->response_.headers;
    if (headers.empty() || impl->in_value) headers.emplace_back();
    impl->in_value = false;
    headers.back().name.append(at, len);
    return 0;
  };
  s.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
    Impl* impl = Impl::From(p);
    auto& headers = impl->owner->response_.headers;
    if (headers.empty()) headers.emplace_back();  // llhttp never does this; be safe anyway
    impl->in_value = true;
    headers.back().value.append(at, len);
    return 0;
  };
  s.on_headers_complete = [](llhttp_t* p) {
    Impl* impl = Impl::From(p);
    impl->owner->response_.status = p->status_code;
    impl->keep_alive = llhttp_should_keep_alive(p) != 0;
    // Invariant: a HEAD response has headers only, whatever its Content-Length says.
    return impl->head_request ? 1 : 0;
  };
  s.on_body = [](llhttp_t* p, const char* at, size_t len) {
    Impl* impl = Impl::From(p);
    std::string& body = impl->owner->response_.body;
    if (body.size() + len > impl->max_body_bytes) {
      impl->body_too_large = true;
      return -1;
    }
    body.append(at, len);
    return 0;
  };
  s.on_message_complete = [](llhttp_t* p) {
    Impl* impl = Impl::From(p);
    HttpResponse& r = impl->owner->response_;
    if (r.status >= 100 && r.status < 200 && r.status != 101) {
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      r = HttpResponse();
      impl->in_value = false;
      return 0;
    }
    impl->keep_alive = impl->keep_alive && llhttp_should_keep_alive(p) != 0;
    impl->complete = true;
    return static_cast<int>(HPE_PAUSED);
  };
  Reset();
}

HttpResponseParser::~HttpResponseParser() = default;

void HttpResponseParser::Reset(bool head_request) {
  llhttp_init(&impl_->parser, HTTP_RESPONSE, &impl_->settings);
  impl_->parser.data = impl_.get();
  impl_->head_request = head_request;
  impl_->complete = false;
  impl_->keep_alive = false;
  impl_->body_too_large = false;
  impl_->in_value = false;
  response_ = HttpResponse();
  started_ = false;
}

Status HttpResponseParser::Feed(std::string_view bytes, bool* complete) {
  *complete = impl_->complete;
  if (impl_->complete || bytes.empty()) return Status::Ok();
  started_ = true;
  llhttp_errno_t err = llhttp_execute(&impl_->parser, bytes.data(), bytes.size());
  if (err == HPE_PAUSED && impl_->complete) {
    *complete = true;
    return Status::Ok();
  }
  if (err == HPE_OK) return Status::Ok();
  if (impl_->body_too_large) {
    return Status(Code::kPayloadTooLarge,
                  "response body over " + std::to_string(impl_->max_body_bytes) + " bytes");
  }
  const char* reason = llhttp_get_error_reason(&impl_->parser);
  return Status(Code::kIo, std::string("malformed HTTP response: ") + llhttp_errno_name(err) +
                               (reason ? std::string(" (") + reason + ")" : std::string()));
}

Status HttpResponseParser::Finish(bool* complete) {
  *complete = impl_->complete;
  if (impl_->complete) return Status::Ok();
  if (!started_) return Status(Code::kIo, "connection closed before any response");
  llhttp_errno_t err = llhttp_finish(&impl_->parser);
  if ((err == HPE_OK || err == HPE_PAUSED) && impl_->complete) {
    *complete = true;
    return Status::Ok();
  }
  return Status(Code::kIo, "connection closed before the response was complete");
}

bool HttpResponseParser::keep_alive() const { return impl_->complete && impl_->keep_alive; }

}  // namespace flint::testing
