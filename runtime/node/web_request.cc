#include "runtime/node/web_request.h"

#include <string_view>

namespace flint::runtime::node {
namespace {

std::string_view HeaderValue(const protocol::InvokeRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return {};
}

}  // namespace

std::string RequestUrl(const protocol::InvokeRequest& request) {
  std::string_view proto = HeaderValue(request, "x-forwarded-proto");
  std::string url = proto == "https" ? "https://" : "http://";
  std::string_view host = HeaderValue(request, "host");
  url.append(host.empty() ? std::string_view("localhost") : host);
  url.append(request.raw_path.empty() ? std::string_view("/") : request.raw_path);
  if (!request.raw_query.empty()) {
    url.push_back('?');
    url.append(request.raw_query);
  }
  return url;
}

}  // namespace flint::runtime::node
