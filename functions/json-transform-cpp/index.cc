// json-transform-cpp: the computation of functions/json-transform in C++. POST an order (see
// functions/json-transform/sample.json); get the same summary back, byte for byte:
// upper-cased item names, per-item subtotals and the order total rounded to cents.
//
// JSON comes from nlohmann/json, installed system-wide on Flint servers (nlohmann-json3-dev)
// and so on the compiler's default include path. ordered_json keeps keys in insertion order,
// as JavaScript objects do.
#include <flint/flint.h>

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "orders.h"

using Json = nlohmann::ordered_json;

namespace {

flint::Response Error(int status, const std::string& message) {
  return flint::Response::Json(Json{{"error", message}}.dump(), status);
}

flint::Response Transform(const flint::Request& req, flint::Context&) {
  if (req.body().empty()) return Error(400, "POST an order as JSON");
  Json order = Json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (order.is_discarded()) return Error(400, "invalid JSON");
  if (!order.is_object() || !order.contains("items") || !order["items"].is_array()) {
    return Error(422, "'items' must be an array");
  }
  return flint::Response::Json(orders::Summarize(order).dump());
}

}  // namespace

FLINT_HANDLER(Transform)
