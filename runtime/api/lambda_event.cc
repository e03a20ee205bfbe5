#include "runtime/api/lambda_event.h"

#include <time.h>

#include <utility>
#include <vector>

#include "sdk/encoding/base64.h"

namespace flint::runtime {
namespace {

using Pairs = HttpEventParts::Pairs;

// Adds name=value, joining the value of a repeated name with ",", keeping first-seen order.
void AddJoined(Pairs* pairs, std::string name, std::string_view value) {
  for (auto& [n, v] : *pairs) {
    if (n == name) {
      v.push_back(',');
      v.append(value);
      return;
    }
  }
  pairs->emplace_back(std::move(name), std::string(value));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void AppendObject(std::string* out, const Pairs& pairs) {
  out->push_back('{');
  bool first = true;
  for (const auto& [name, value] : pairs) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, name);
    out->push_back(':');
    AppendJsonString(out, value);
  }
  out->push_back('}');
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  AppendJsonString(out, name);
  out->push_back(':');
  AppendJsonString(out, value);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string PercentDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string FormatLambdaTime(uint64_t epoch_ms) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Every request of the same second has the same text: format it once per second and thread.
  thread_local uint64_t cached_second = ~uint64_t{0};
  thread_local std::string cached;
  if (epoch_ms / 1000 == cached_second) return cached;
  time_t seconds = static_cast<time_t>(epoch_ms / 1000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char buf[64];
  snprintf(buf, sizeof(buf), "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, kMonths[tm.tm_mon],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  cached_second = epoch_ms / 1000;
  cached = buf;
  return cached;
}

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

HttpEventParts ParseHttpEvent(const protocol::InvokeRequest& request) {
  HttpEventParts parts;
  std::string_view host;
  parts.headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) {
    if (name == "cookie") {
      std::string_view rest = value;
      while (!rest.empty()) {
        size_t semi = rest.find(';');
        std::string_view piece = Trim(rest.substr(0, semi));
        if (!piece.empty()) parts.cookies.emplace_back(piece);
        if (semi == std::string_view::npos) break;
        rest.remove_prefix(semi + 1);
      }
      continue;
    }
    if (name == "user-agent") parts.user_agent = value;
    if (name == "host") host = value;
    AddJoined(&parts.headers, name, value);
  }

  std::string_view rest = request.raw_query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view piece = rest.substr(0, amp);
    if (!piece.empty()) {
      size_t eq = piece.find('=');
      std::string key = PercentDecode(piece.substr(0, eq), true);
      std::string value =
          eq == std::string_view::npos ? std::string() : PercentDecode(piece.substr(eq + 1), true);
      AddJoined(&parts.query, std::move(key), value);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }

  parts.domain = host.empty() ? std::string("localhost") : std::string(host);
  if (size_t colon = parts.domain.rfind(':');
      colon != std::string::npos && parts.domain.find(']') == std::string::npos) {
    parts.domain.resize(colon);  // drop the port
  }
  parts.prefix = parts.domain.substr(0, parts.domain.find('.'));
  parts.body_base64 = !request.body.empty() && !IsValidUtf8(request.body);
  return parts;
}

std::string BuildHttpEventJson(const protocol::InvokeRequest& request,
                               std::string_view function_name) {
  HttpEventParts parts = ParseHttpEvent(request);
  std::string out;
  out.reserve(512 + request.body.size() * 4 / 3 + request.raw_path.size() * 2);
  out.append("{\"version\":\"2.0\",\"routeKey\":\"$default\",");
  AppendField(&out, "rawPath", request.raw_path);
  out.push_back(',');
  AppendField(&out, "rawQueryString", request.raw_query);
  if (!parts.cookies.empty()) {
    out.append(",\"cookies\":[");
    for (size_t i = 0; i < parts.cookies.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(&out, parts.cookies[i]);
    }
    out.push_back(']');
  }
  out.append(",\"headers\":");
  AppendObject(&out, parts.headers);
  if (!parts.query.empty()) {
    out.append(",\"queryStringParameters\":");
    AppendObject(&out, parts.query);
  }
  out.append(",\"requestContext\":{\"accountId\":\"anonymous\",");
  AppendField(&out, "apiId", function_name);
  out.push_back(',');
  AppendField(&out, "domainName", parts.domain);
  out.push_back(',');
  AppendField(&out, "domainPrefix", parts.prefix);
  out.append(",\"http\":{");
  AppendField(&out, "method", request.method);
  out.push_back(',');
  AppendField(&out, "path", request.raw_path);
  out.append(",\"protocol\":\"HTTP/1.1\",");
  AppendField(&out, "sourceIp", request.source_ip);
  out.push_back(',');
  AppendField(&out, "userAgent", parts.user_agent);
  out.append("},");
  AppendField(&out, "requestId", request.request_id);
  out.append(",\"routeKey\":\"$default\",\"stage\":\"$default\",");
  AppendField(&out, "time", FormatLambdaTime(request.time_epoch_ms));
  out.append(",\"timeEpoch\":");
  out.append(std::to_string(request.time_epoch_ms));
  out.push_back('}');
  if (!request.body.empty()) {
    out.push_back(',');
    AppendField(&out, "body", parts.body_base64 ? Base64Encode(request.body) : request.body);
  }
  out.append(parts.body_base64 ? ",\"isBase64Encoded\":true}" : ",\"isBase64Encoded\":false}");
  return out;
}

}  // namespace flint::runtime
