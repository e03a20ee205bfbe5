// JSON answers of flintd's API, shared by the management routes and the event routes, so every
// route formats times and bodies the same way. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "scheduler/server/http_server.h"

namespace flint::scheduler {

// "2026-11-30T05:11:02.123Z": UTC, millisecond precision.
std::string Rfc3339(int64_t epoch_ms);

// A JSON value stored as text (an event's payload, result or error): parsed when it is JSON,
// else the text itself as a JSON string.
nlohmann::json AsJson(const std::string& text);

// A response with `status` and `body` as compact JSON; invalid UTF-8 in strings is replaced,
// never thrown.
HttpResponse Json(int status, const nlohmann::json& body);

// 405 naming the method and path, with an Allow header listing `allow` (e.g. "GET, POST").
HttpResponse MethodNotAllowed(const std::string& method, const std::string& path,
                              const std::string& allow);

}  // namespace flint::scheduler
