// The order summary of functions/json-transform/lib/orders.mjs, with JavaScript's number rules
// where they show in the output: Math.round, and integral numbers printed without ".0".
#pragma once

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace orders {

using Json = nlohmann::ordered_json;

// Math.round(x * 100) / 100, as a JSON number that prints as JavaScript prints it.
inline Json Round2(double x) {
  double r = std::floor(x * 100 + 0.5) / 100;
  if (r == std::trunc(r) && std::fabs(r) < 9007199254740992.0) {
    return Json(static_cast<int64_t>(r));
  }
  return Json(r);
}

inline double Number(const Json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

// String(value) for the values an order holds.
inline std::string ToText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "null";
  return v.dump();
}

inline Json Summarize(const Json& order) {
  double total = 0;
  Json items = Json::array();
  for (const Json& it : order["items"]) {
    double sub = Number(it.value("price", Json())) * Number(it.value("qty", Json()));
    total += sub;
    std::string name = ToText(it.value("name", Json()));
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Json item;
    if (it.contains("id")) item["id"] = it["id"];
    item["name"] = name;
    item["subtotal"] = Round2(sub);
    item["tags"] = it.contains("tags") && it["tags"].is_array() ? it["tags"].size() : 0;
    items.push_back(std::move(item));
  }
  Json out;
  if (order.contains("order")) out["order"] = order["order"];
  if (order.contains("customer") && order["customer"].is_object() &&
      order["customer"].contains("id")) {
    out["customer"] = order["customer"]["id"];
  }
  out["count"] = items.size();
  out["total"] = Round2(total);
  out["items"] = std::move(items);
  return out;
}

}  // namespace orders
