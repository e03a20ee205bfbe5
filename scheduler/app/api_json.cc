#include "scheduler/app/api_json.h"

#include <cstdio>
#include <ctime>

namespace flint::scheduler {

std::string Rfc3339(int64_t epoch_ms) {
  time_t secs = static_cast<time_t>(epoch_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[80];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(epoch_ms % 1000));
  return buf;
}

nlohmann::json AsJson(const std::string& text) {
  nlohmann::json v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return v.is_discarded() ? nlohmann::json(text) : v;
}

HttpResponse Json(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("content-type", "application/json");
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse MethodNotAllowed(const std::string& method, const std::string& path,
                              const std::string& allow) {
  HttpResponse response =
      ErrorResponse(Status(Code::kMethodNotAllowed, "method " + method + " is not allowed on " +
                                                        path + " (allowed: " + allow + ")"));
  response.headers.emplace_back("allow", allow);
  return response;
}

}  // namespace flint::scheduler
