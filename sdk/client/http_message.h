// Plain HTTP/1.1 message types of the client: a request to send and a response received.
//
// Values only, no I/O. Header names keep the case they were given or received in; lookups are
// case-insensitive. Bodies are raw bytes in a std::string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flint::client {

struct Header {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "GET";
  // Origin-form target: "/fn/hello?name=Ada". Must start with '/' and hold no spaces or CR/LF.
  std::string target = "/";
  // Host, Content-Length and Connection are added by the client; do not set them here.
  std::vector<Header> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<Header> headers;
  std::string body;

  // The first header named `name` (case-insensitive), or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

// ASCII case-insensitive equality, for header names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace flint::client
