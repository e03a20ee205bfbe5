// The header-only parts of the C++ SDK (sdk/include/flint/flint.h).
#include <flint/flint.h>

#include <catch2/catch.hpp>

namespace {

TEST_CASE("flint::ParseQuery decodes pairs in order", "[sdk]") {
  auto q = flint::ParseQuery("a=1&b=x+y&c&&d=%41%2f&e=%zz");
  REQUIRE(q.size() == 5);
  CHECK(q[0] == flint::Header{"a", "1"});
  CHECK(q[1] == flint::Header{"b", "x y"});
  CHECK(q[2] == flint::Header{"c", ""});
  CHECK(q[3] == flint::Header{"d", "A/"});
  CHECK(q[4] == flint::Header{"e", "%zz"});  // a malformed escape is kept as is
  CHECK(flint::ParseQuery("").empty());
}

TEST_CASE("flint::Response helpers set status, content type and body", "[sdk]") {
  auto text = flint::Response::Text("hi", 202);
  CHECK(text.status == 202);
  CHECK(text.headers == std::vector<flint::Header>{{"content-type", "text/plain; charset=utf-8"}});
  CHECK(text.body == "hi");
  auto json = flint::Response::Json("{}");
  CHECK(json.headers[0].second == "application/json");
  auto bin = flint::Response::Binary(std::string("\0\1", 2));
  CHECK(bin.headers[0].second == "application/octet-stream");
  CHECK(bin.body.size() == 2);
  bin.SetHeader("Content-Type", "image/png");
  CHECK(bin.headers == std::vector<flint::Header>{{"Content-Type", "image/png"}});
}

TEST_CASE("flint::Request looks headers up in any case and query params by name", "[sdk]") {
  flint_header headers[] = {{{"x-a", 3}, {"1", 1}}, {{"x-b", 3}, {"2", 1}}};
  flint_request raw{};
  raw.struct_size = sizeof(raw);
  raw.kind = FLINT_KIND_HTTP;
  raw.method = {"GET", 3};
  raw.path = {"/p", 2};
  raw.query = {"n=Ada&n=Bob", 11};
  raw.headers = headers;
  raw.header_count = 2;
  flint::Request req(&raw);
  CHECK(req.header("X-B") == std::optional<std::string_view>("2"));
  CHECK_FALSE(req.header("x-c").has_value());
  CHECK(req.query("n") == std::optional<std::string>("Ada"));
  CHECK(req.query_params().size() == 2);
  CHECK(req.headers().size() == 2);
  CHECK(req.body().empty());
  CHECK_FALSE(req.is_event());
  CHECK(req.event_json().empty());
}

}  // namespace
