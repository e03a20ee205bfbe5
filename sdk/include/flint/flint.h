// Flint's C++ handler SDK: write a function, export it with FLINT_HANDLER, deploy the source.
//
//   #include <flint/flint.h>
//
//   flint::Response Hello(const flint::Request& req, flint::Context& ctx) {
//     ctx.log().Info("greeting someone");
//     return flint::Response::Text("Hello, " + req.query("name").value_or("world") + "!\n");
//   }
//   FLINT_HANDLER(Hello)
//
// Header-only, C++17 or later, standard library only. FLINT_HANDLER (and the optional
// FLINT_INIT) implement the C ABI of flint/abi.h inside the function's shared object, so only
// plain C structs cross between the worker and the function: a function built with other flags
// or another standard library still loads, and an exception never crosses the boundary (it is
// caught here and reported as an error with its demangled type and what()).
//
// Threads and lifetime: the worker calls the handler on one thread, one invocation at a time.
// A Request and a Context are views valid only during the call that receives them; copy what
// must outlive it. Globals and statics persist across invocations of the same worker (one
// worker serves one function version for its whole life), so a handler may keep a cache or a
// connection; several workers of a function share nothing.
// User documentation: docs/handlers-cpp.md.
#pragma once

#include <cxxabi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "flint/abi.h"

#define FLINT_EXPORT extern "C" __attribute__((visibility("default"), used))

namespace flint {

using Header = std::pair<std::string, std::string>;

namespace detail {

inline std::string_view View(flint_str s) {
  return s.size == 0 ? std::string_view() : std::string_view(s.data, s.size);
}

inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace detail

// Decodes a query-string component: '+' is a space, %XX a byte; a malformed escape is kept.
inline std::string UrlDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && detail::HexValue(in[i + 1]) >= 0 &&
               detail::HexValue(in[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(detail::HexValue(in[i + 1]) * 16 + detail::HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Splits "a=1&b=x+y&c" into decoded pairs, in order ("c" has an empty value).
inline std::vector<Header> ParseQuery(std::string_view query) {
  std::vector<Header> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(UrlDecode(part), std::string());
    } else {
      out.emplace_back(UrlDecode(part.substr(0, eq)), UrlDecode(part.substr(eq + 1)));
    }
  }
  return out;
}

// One invocation's input: an HTTP request to /fn/NAME[/path], or an async event (is_event()).
class Request {
 public:
  explicit Request(const flint_request* raw) : raw_(raw) {}

  bool is_event() const { return raw_->kind == FLINT_KIND_EVENT; }
  std::string_view method() const { return detail::View(raw_->method); }
  // The path after /fn/NAME, always starting with "/".
  std::string_view path() const { return detail::View(raw_->path); }
  // The raw query string without "?", undecoded.
  std::string_view raw_query() const { return detail::View(raw_->query); }
  // Every query parameter, decoded, in order (parsed on first use).
  const std::vector<Header>& query_params() const {
    if (!query_parsed_) {
      query_ = ParseQuery(raw_query());
      query_parsed_ = true;
    }
    return query_;
  }
  // The first value of query parameter `name`, decoded.
  std::optional<std::string> query(std::string_view name) const {
    for (const auto& [k, v] : query_params()) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
  // The first value of header `name` (any case).
  std::optional<std::string_view> header(std::string_view name) const {
    for (size_t i = 0; i < raw_->header_count; ++i) {
      if (detail::EqualsIgnoreCase(detail::View(raw_->headers[i].name), name)) {
        return detail::View(raw_->headers[i].value);
      }
    }
    return std::nullopt;
  }
  // Every header (names lower-case), in arrival order.
  std::vector<std::pair<std::string_view, std::string_view>> headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    out.reserve(raw_->header_count);
    for (size_t i = 0; i < raw_->header_count; ++i) {
      out.emplace_back(detail::View(raw_->headers[i].name), detail::View(raw_->headers[i].value));
    }
    return out;
  }
  std::string_view source_ip() const { return detail::View(raw_->source_ip); }
  // The body as text (the bytes as they came; Flint does not check the encoding).
  std::string_view body() const { return detail::View(raw_->body); }
  // The body as bytes.
  const unsigned char* body_data() const {
    return reinterpret_cast<const unsigned char*>(raw_->body.data);
  }
  size_t body_size() const { return raw_->body.size; }
  // For an event (is_event()): the event's JSON; empty for an HTTP request.
  std::string_view event_json() const { return is_event() ? body() : std::string_view(); }

 private:
  const flint_request* raw_;
  mutable bool query_parsed_ = false;
  mutable std::vector<Header> query_;
};

// What the handler returns. status 200, no headers and an empty body by default.
struct Response {
  int status = 200;
  std::vector<Header> headers;  // sent in order; content-length is computed by Flint
  std::string body;

  // text/plain; charset=utf-8
  static Response Text(std::string text, int status = 200) {
    return Make(status, "text/plain; charset=utf-8", std::move(text));
  }
  // application/json; `json` must already be serialized JSON text.
  static Response Json(std::string json, int status = 200) {
    return Make(status, "application/json", std::move(json));
  }
  // Any bytes with their content type.
  static Response Binary(std::string bytes, std::string content_type = "application/octet-stream",
                         int status = 200) {
    return Make(status, std::move(content_type), std::move(bytes));
  }
  // Replaces every header called `name` (any case) by one with `value`.
  Response& SetHeader(std::string name, std::string value) {
    std::vector<Header> kept;
    for (auto& h : headers) {
      if (!detail::EqualsIgnoreCase(h.first, name)) kept.push_back(std::move(h));
    }
    kept.emplace_back(std::move(name), std::move(value));
    headers = std::move(kept);
    return *this;
  }
  Response& AddHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }

 private:
  static Response Make(int status, std::string content_type, std::string body) {
    Response r;
    r.status = status;
    r.headers.emplace_back("content-type", std::move(content_type));
    r.body = std::move(body);
    return r;
  }
};

enum class LogLevel : uint32_t {
  kDebug = FLINT_LOG_DEBUG,
  kInfo = FLINT_LOG_INFO,
  kWarn = FLINT_LOG_WARN,
  kError = FLINT_LOG_ERROR,
};

// Writes lines to the invocation's logs (`flint logs NAME`), tagged with its request id; during
// init, to the function's load logs. A line is sent as one record; newlines stay inside it.
class Logger {
 public:
  explicit Logger(const flint_context* raw) : raw_(raw) {}
  void Log(LogLevel level, std::string_view text) const {
    raw_->log(raw_->host, static_cast<uint32_t>(level), text.data(), text.size());
  }
  void Debug(std::string_view text) const { Log(LogLevel::kDebug, text); }
  void Info(std::string_view text) const { Log(LogLevel::kInfo, text); }
  void Warn(std::string_view text) const { Log(LogLevel::kWarn, text); }
  void Error(std::string_view text) const { Log(LogLevel::kError, text); }

 private:
  const flint_context* raw_;
};

// The invocation's context (or, in an init hook, the worker's: no request id, no deadline).
class Context {
 public:
  explicit Context(const flint_context* raw) : raw_(raw), logger_(raw) {}

  std::string_view request_id() const { return detail::View(raw_->request_id); }
  std::string_view function_name() const { return detail::View(raw_->function_name); }
  uint32_t function_version() const { return raw_->function_version; }
  uint32_t memory_limit_mb() const { return raw_->memory_limit_mb; }
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(raw_->timeout_ms); }
  // When the invocation must end (wall clock); the epoch during init.
  std::chrono::system_clock::time_point deadline() const {
    return std::chrono::system_clock::time_point(
        std::chrono::milliseconds(raw_->deadline_epoch_ms));
  }
  // Time left before flintd stops the worker (native code cannot be interrupted: at the
  // deadline the worker is killed and the caller gets a 504).
  std::chrono::milliseconds remaining_time() const {
    return std::chrono::milliseconds(raw_->remaining_ms(raw_->host));
  }
  const Logger& log() const { return logger_; }

 private:
  const flint_context* raw_;
  Logger logger_;
};

namespace detail {

// The demangled name of a type_info ("std::runtime_error").
inline std::string TypeName(const std::type_info* type) {
  if (type == nullptr) return "unknown";
  int status = 0;
  char* demangled = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string out = status == 0 && demangled != nullptr ? demangled : type->name();
  std::free(demangled);
  return out;
}

inline void Fail(const flint_response_writer* w, const std::string& type,
                 const std::string& message) noexcept {
  w->fail(w->host, type.data(), type.size(), message.data(), message.size());
}

// Runs `body`, turning any exception into writer->fail. Returns the ABI's 0/1.
template <class Body>
int Guard(const flint_response_writer* w, Body&& body) noexcept {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    try {
      Fail(w, TypeName(&typeid(e)), e.what());
    } catch (...) {
      Fail(w, "std::bad_alloc", "out of memory while reporting an exception");
    }
  } catch (...) {
    try {
      Fail(w, TypeName(abi::__cxa_current_exception_type()),
           "a value that is not a std::exception was thrown");
    } catch (...) {
      Fail(w, "std::bad_alloc", "out of memory while reporting an exception");
    }
  }
  return 1;
}

template <class Fn>
int Handle(Fn&& fn, const flint_request* r, const flint_context* c,
           const flint_response_writer* w) noexcept {
  return Guard(w, [&] {
    Request request(r);
    Context context(c);
    Response response;
    if constexpr (std::is_invocable_v<Fn, const Request&, Context&>) {
      response = fn(request, context);
    } else {
      static_assert(std::is_invocable_v<Fn, const Request&>,
                    "FLINT_HANDLER: the handler must be callable as "
                    "Response(const flint::Request&, flint::Context&) or "
                    "Response(const flint::Request&)");
      response = fn(request);
    }
    w->set_status(w->host, static_cast<uint32_t>(response.status));
    for (const auto& [name, value] : response.headers) {
      w->add_header(w->host, name.data(), name.size(), value.data(), value.size());
    }
    w->set_body(w->host, response.body.data(), response.body.size());
  });
}

template <class Fn>
int Init(Fn&& fn, const flint_context* c, const flint_response_writer* w) noexcept {
  return Guard(w, [&] {
    Context context(c);
    if constexpr (std::is_invocable_v<Fn, Context&>) {
      fn(context);
    } else {
      static_assert(std::is_invocable_v<Fn>,
                    "FLINT_INIT: the init hook must be callable as void(flint::Context&) or "
                    "void()");
      fn();
    }
  });
}

}  // namespace detail
}  // namespace flint

// Exports `fn` as the function's handler: Response fn(const flint::Request&, flint::Context&)
// (or without the Context). Use once per function, at namespace scope.
#define FLINT_HANDLER(fn)                                                       \
  FLINT_EXPORT uint32_t flint_abi_version(void) { return FLINT_ABI_VERSION; }   \
  FLINT_EXPORT int flint_handle(const flint_request* r, const flint_context* c, \
                                const flint_response_writer* w) {               \
    return ::flint::detail::Handle(fn, r, c, w);                                \
  }

// Optional: exports `fn` as the init hook, run once per worker after the function loads and
// before its first invocation: void fn(flint::Context&) (or void fn()). Its time is reported as
// the worker's init duration; an exception fails the load (and the deploy) with its message.
#define FLINT_INIT(fn)                                                                  \
  FLINT_EXPORT int flint_init(const flint_context* c, const flint_response_writer* w) { \
    return ::flint::detail::Init(fn, c, w);                                             \
  }
