// The URL a Web-standard function's Request gets (runtime/node/web_request.h).
#include "runtime/node/web_request.h"

#include <catch2/catch.hpp>

namespace flint::runtime::node {
namespace {

protocol::InvokeRequest Request(std::vector<protocol::Header> headers, std::string path,
                                std::string query) {
  protocol::InvokeRequest r;
  r.headers = std::move(headers);
  r.raw_path = std::move(path);
  r.raw_query = std::move(query);
  return r;
}

TEST_CASE("RequestUrl joins scheme, host, path and query", "[node]") {
  CHECK(RequestUrl(Request({{"host", "api.example.com:8080"}}, "/users/1", "a=b")) ==
        "http://api.example.com:8080/users/1?a=b");
  CHECK(RequestUrl(Request({{"host", "h"}, {"x-forwarded-proto", "https"}}, "/", "")) ==
        "https://h/");
  CHECK(RequestUrl(Request({{"x-forwarded-proto", "gopher"}}, "", "")) == "http://localhost/");
}

}  // namespace
}  // namespace flint::runtime::node
