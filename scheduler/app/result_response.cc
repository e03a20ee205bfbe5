#include "scheduler/app/result_response.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace flint::scheduler {
namespace {

bool IsHopByHop(const std::string& name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection" ||
         name == "keep-alive" || name == "upgrade" || name == "date";
}

std::string Lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

HttpResponse ErrorWithType(Code code, const std::string& type, const std::string& message) {
  HttpResponse response;
  response.status = CodeHttpStatus(code);
  nlohmann::json body = {{"error", {{"code", CodeName(code)}, {"message", message}}}};
  if (!type.empty()) body["error"]["type"] = type;
  response.headers.emplace_back("content-type", "application/json");
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse ResponseFromResult(protocol::InvokeResult&& result) {
  switch (result.outcome) {
    case protocol::Outcome::kOk: {
      HttpResponse response;
      response.status = result.status;
      response.headers.reserve(result.headers.size() + 1);
      for (auto& [name, value] : result.headers) {
        std::string lower = Lowered(name);
        if (IsHopByHop(lower)) continue;
        response.headers.emplace_back(std::move(lower), std::move(value));
      }
      response.body = std::move(result.body);
      return response;
    }
    case protocol::Outcome::kError:
      return ErrorWithType(Code::kFunctionError, result.error_type, result.error_message);
    case protocol::Outcome::kTimeout:
      return ErrorWithType(Code::kFunctionTimeout, "", result.error_message);
    case protocol::Outcome::kOutOfMemory:
      return ErrorWithType(Code::kFunctionCrashed, "OutOfMemory", result.error_message);
  }
  return ErrorResponse(Internal("unknown outcome"));
}

meter::Outcome MeterOutcome(protocol::Outcome outcome) {
  switch (outcome) {
    case protocol::Outcome::kOk:
      return meter::Outcome::kOk;
    case protocol::Outcome::kTimeout:
      return meter::Outcome::kTimeout;
    case protocol::Outcome::kOutOfMemory:
      return meter::Outcome::kOom;
    case protocol::Outcome::kError:
      return meter::Outcome::kError;
  }
  return meter::Outcome::kError;
}

}  // namespace flint::scheduler
