#include "sdk/client/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace flint::client {
namespace {

// libcurl's global state, set up once per process before the first handle.
void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// strerror's text with a lower-case first letter: "connection refused".
std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      !(text.size() > 1 && text[1] >= 'A' && text[1] <= 'Z')) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::strchr("()<>@,;:\\\"/[]?={}", c) != nullptr) return false;
  }
  return true;
}

bool HasFramingBytes(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// What one exchange collects; the callbacks below write into it.
struct Exchange {
  HttpResponse response;
  size_t max_body = 0;
  bool body_too_large = false;
  const ProgressFn* progress = nullptr;
};

// Trampolines: libcurl calls them on this thread during curl_easy_perform. No exception may
// cross back into C.
size_t OnBody(char* data, size_t size, size_t count, void* user) noexcept {
  auto* x = static_cast<Exchange*>(user);
  size_t n = size * count;
  if (x->response.body.size() + n > x->max_body) {
    x->body_too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  try {
    x->response.body.append(data, n);
  } catch (...) {
    return 0;
  }
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) noexcept {
  auto* x = static_cast<Exchange*>(user);
  size_t n = size * count;
  try {
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after a 100 Continue, say) starts the headers over.
      x->response.headers.clear();
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      x->response.reason = sp2 == std::string_view::npos ? "" : std::string(line.substr(sp2 + 1));
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      x->response.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
    }
  } catch (...) {
    return 0;
  }
  return n;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow) noexcept {
  auto* x = static_cast<Exchange*>(user);
  try {
    if (x->progress != nullptr && *x->progress) {
      (*x->progress)({static_cast<uint64_t>(ultotal), static_cast<uint64_t>(ulnow),
                      static_cast<uint64_t>(dltotal), static_cast<uint64_t>(dlnow)});
    }
  } catch (...) {
  }
  return 0;
}

// A curl_slist freed at scope exit.
struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  bool Add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

// The proxy exceptions: the environment's, plus the loopback names (flintd is usually there).
std::string NoProxy() {
  std::string out = "localhost,127.0.0.1,::1";
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      out += ",";
      out += v;
      break;
    }
  }
  return out;
}

}  // namespace

struct HttpClient::Handle {
  CURL* easy = nullptr;
  ~Handle() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

std::string HttpUrl::ToString() const {
  std::string out = tls ? "https://" : "http://";
  if (host.find(':') != std::string::npos) {
    out += "[" + host + "]";
  } else {
    out += host;
  }
  out += ":" + std::to_string(port);
  out += path_prefix;
  return out;
}

Result<HttpUrl> ParseHttpUrl(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string shown(text.substr(0, 200));
  auto bad = [&](std::string why) {
    return InvalidArgument("invalid URL '" + shown + "': " + why);
  };
  HttpUrl url;
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  if (text.size() >= kHttp.size() && EqualsIgnoreCase(text.substr(0, kHttp.size()), kHttp)) {
    text.remove_prefix(kHttp.size());
  } else if (text.size() >= kHttps.size() &&
             EqualsIgnoreCase(text.substr(0, kHttps.size()), kHttps)) {
    text.remove_prefix(kHttps.size());
    url.tls = true;
    url.port = 443;
  } else {
    return bad("expected http://HOST:PORT or https://HOST:PORT");
  }
  size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : text.substr(slash);
  if (path.find_first_of("?# \t") != std::string_view::npos) {
    return bad("no query, fragment or spaces allowed");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated '['");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
      authority = authority.substr(0, colon);
    }
    url.host = std::string(authority);
  }
  if (url.host.empty()) return bad("missing host");
  for (char c : url.host) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '[' || c == ']') return bad("bad host");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || value > 65535) return bad("bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad("port out of range");
    url.port = static_cast<uint16_t>(value);
  }
  url.path_prefix = std::string(path);
  return url;
}

std::string PercentEncode(std::string_view text) {
  GlobalInit();
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return "";
  std::string out = escaped;
  curl_free(escaped);
  return out;
}

std::string BuildTarget(std::initializer_list<std::string_view> segments,
                        const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (std::string_view segment : segments) {
    out += '/';
    out += PercentEncode(segment);
  }
  if (out.empty()) out = "/";
  char sep = '?';
  for (const auto& [key, value] : query) {
    if (value.empty()) continue;
    out += sep;
    out += PercentEncode(key);
    out += '=';
    out += PercentEncode(value);
    sep = '&';
  }
  return out;
}

Status ValidateRequest(const HttpRequest& request) {
  if (!IsToken(request.method)) {
    return InvalidArgument("invalid HTTP method '" + request.method.substr(0, 40) + "'");
  }
  bool bad_target = request.target.empty() || request.target.front() != '/';
  for (char c : request.target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) bad_target = true;
  }
  if (bad_target) {
    return InvalidArgument("invalid request path '" + request.target.substr(0, 80) +
                           "': it must start with '/' and contain no spaces");
  }
  for (const auto& h : request.headers) {
    if (!IsToken(h.name)) {
      return InvalidArgument("invalid header name '" + h.name.substr(0, 40) + "'");
    }
    if (HasFramingBytes(h.value)) {
      return InvalidArgument("invalid value for header '" + h.name + "': no CR, LF or NUL");
    }
    if (EqualsIgnoreCase(h.name, "host") || EqualsIgnoreCase(h.name, "content-length") ||
        EqualsIgnoreCase(h.name, "connection") || EqualsIgnoreCase(h.name, "transfer-encoding")) {
      return InvalidArgument("header '" + h.name + "' is set by the client itself");
    }
  }
  return Status::Ok();
}

HttpClient::HttpClient(HttpUrl url, HttpClientOptions options)
    : url_(std::move(url)), options_(options), handle_(std::make_unique<Handle>()) {}

HttpClient::~HttpClient() = default;

void HttpClient::Close() {
  if (handle_->easy != nullptr) {
    curl_easy_cleanup(handle_->easy);
    handle_->easy = nullptr;
  }
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  FLINT_RETURN_IF_ERROR(ValidateRequest(request));
  GlobalInit();
  if (handle_->easy == nullptr) {
    handle_->easy = curl_easy_init();
    if (handle_->easy == nullptr) return Status(Code::kInternal, "cannot create an HTTP handle");
  }
  CURL* easy = handle_->easy;
  // Options start over for each request; the connection and the DNS cache are kept.
  curl_easy_reset(easy);

  Exchange x;
  x.max_body = options_.max_response_body_bytes;
  x.progress = &progress_;
  std::string url = url_.ToString() + request.target;
  char error[CURL_ERROR_SIZE] = {0};

  HeaderList headers;
  bool has_content_type = false;
  for (const Header& h : request.headers) {
    if (EqualsIgnoreCase(h.name, "content-type")) has_content_type = true;
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
    if (!headers.Add(h.value.empty() ? h.name + ";" : h.name + ": " + h.value)) {
      return Status(Code::kInternal, "out of memory");
    }
  }
  // No "Expect: 100-continue" before large bodies, and no form content type libcurl would
  // otherwise add to a body the caller did not label.
  if (!headers.Add("Expect:") || (!has_content_type && !headers.Add("Content-Type:"))) {
    return Status(Code::kInternal, "out of memory");
  }
  if (!options_.keep_alive && !headers.Add("Connection: close")) {
    return Status(Code::kInternal, "out of memory");
  }

  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // send the target as given, dots included
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "flint");
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>((options_.io_timeout_ms + 999) / 1000));
  if (IsLoopback(url_.host)) {
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  } else {
    std::string no_proxy = NoProxy();
    curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy.c_str());  // copied by libcurl
  }
  if (!options_.keep_alive) curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.list);

  const std::string& method = request.method;
  bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && request.body.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else {
    if (!request.body.empty() || body_method) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &x);
  if (progress_) {
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  }

  CURLcode rc = curl_easy_perform(easy);
  long os_errno = 0;
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  // The handle must not point at this frame's buffers after we return.
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  std::string detail = error[0] != '\0' ? error : curl_easy_strerror(rc);

  if (rc != CURLE_OK) {
    Close();  // whatever is left of that connection is of no further use
    switch (rc) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return Status(Code::kUnavailable, "cannot resolve host '" + url_.host + "'");
      case CURLE_COULDNT_CONNECT:
        return Status(Code::kUnavailable,
                      os_errno != 0 ? ErrnoText(static_cast<int>(os_errno)) : detail);
      case CURLE_OPERATION_TIMEDOUT:
        // The connect timeout, or the low-speed limit ("Operation too slow") once connected.
        if (detail.find("too slow") == std::string::npos) {
          return Status(
              Code::kUnavailable,
              "connect timed out after " + std::to_string(options_.connect_timeout_ms) + " ms");
        }
        return Status(Code::kRequestTimeout,
                      "no response within " + std::to_string(options_.io_timeout_ms) + " ms");
      case CURLE_GOT_NOTHING:
        return Status(Code::kIo, "connection closed before any response");
      case CURLE_WRITE_ERROR:
        if (x.body_too_large) {
          return Status(Code::kIo, "the response is larger than " +
                                       std::to_string(options_.max_response_body_bytes) + " bytes");
        }
        return Status(Code::kIo, "reading the response: " + detail);
      case CURLE_URL_MALFORMAT:
        return InvalidArgument("invalid request URL '" + url.substr(0, 120) + "'");
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        return Status(Code::kUnavailable, "TLS: " + detail);
      default:
        return Status(Code::kIo, detail);
    }
  }
  x.response.status = static_cast<int>(status);
  if (!options_.keep_alive) Close();
  return std::move(x.response);
}

Result<HttpResponse> HttpClient::Get(std::string target) {
  HttpRequest request;
  request.target = std::move(target);
  return Send(request);
}

Result<HttpResponse> HttpClient::Post(std::string target, std::string body,
                                      std::string content_type) {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = std::move(body);
  request.headers.push_back({"Content-Type", std::move(content_type)});
  return Send(request);
}

}  // namespace flint::client
