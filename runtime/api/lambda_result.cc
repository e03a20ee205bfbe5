#include "runtime/api/lambda_result.h"

#include <cctype>

#include "runtime/js/js_util.h"
#include "sdk/encoding/base64.h"

namespace flint::runtime {
namespace {

constexpr const char* kInvalidResponse = "InvalidResponse";

protocol::InvokeResult Invalid(std::string message) {
  protocol::InvokeResult result;
  result.outcome = protocol::Outcome::kError;
  result.status = 500;
  result.error_type = kInvalidResponse;
  result.error_message = std::move(message);
  return result;
}

protocol::InvokeResult Thrown(v8::Isolate* isolate, v8::Local<v8::Context> context,
                              const v8::TryCatch& try_catch) {
  ExceptionInfo info = DescribeException(isolate, context, try_catch.Exception(), {});
  protocol::InvokeResult result;
  result.outcome = protocol::Outcome::kError;
  result.status = 500;
  result.error_type = info.type;
  result.error_message = info.message;
  return result;
}

bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) ||
          std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos)) {
      return false;
    }
  }
  return true;
}

bool IsValidHeaderValue(std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// JSON.stringify(value) as a 200 application/json response; nullopt if terminated.
std::optional<protocol::InvokeResult> JsonResponse(v8::Isolate* isolate,
                                                   v8::Local<v8::Context> context,
                                                   v8::Local<v8::Value> value) {
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::String> json;
  if (!v8::JSON::Stringify(context, value).ToLocal(&json)) {
    if (try_catch.HasTerminated()) return std::nullopt;
    protocol::InvokeResult result = Thrown(isolate, context, try_catch);
    result.error_message =
        "the handler's result cannot be converted to JSON: " + result.error_message;
    return result;
  }
  protocol::InvokeResult result;
  result.headers.emplace_back("content-type", "application/json");
  result.body = StringToUtf8(isolate, json);
  return result;
}

}  // namespace

ResultKeys::ResultKeys(v8::Isolate* isolate) {
  v8::HandleScope scope(isolate);
  status_code_.Set(isolate, NewInternalizedString(isolate, "statusCode"));
  headers_.Set(isolate, NewInternalizedString(isolate, "headers"));
  cookies_.Set(isolate, NewInternalizedString(isolate, "cookies"));
  body_.Set(isolate, NewInternalizedString(isolate, "body"));
  is_base64_.Set(isolate, NewInternalizedString(isolate, "isBase64Encoded"));
}

std::optional<protocol::InvokeResult> MapHandlerResult(v8::Isolate* isolate,
                                                       v8::Local<v8::Context> context,
                                                       v8::Local<v8::Value> value,
                                                       const ResultKeys& keys) {
  if (value->IsUndefined()) return protocol::InvokeResult{};
  if (value->IsString()) {
    protocol::InvokeResult result;
    result.headers.emplace_back("content-type", "application/json");
    result.body = StringToUtf8(isolate, value.As<v8::String>());
    return result;
  }
  if (!value->IsObject() || value->IsArray() || value->IsFunction()) {
    return JsonResponse(isolate, context, value);
  }
  v8::Local<v8::Object> object = value.As<v8::Object>();
  v8::TryCatch try_catch(isolate);
  auto get = [&](v8::Local<v8::String> name, v8::Local<v8::Value>* out) {
    return object->Get(context, name).ToLocal(out);
  };
  auto failed = [&]() -> std::optional<protocol::InvokeResult> {
    if (try_catch.HasTerminated()) return std::nullopt;
    return Thrown(isolate, context, try_catch);
  };
  bool has_status = false;
  if (!object->HasOwnProperty(context, keys.status_code(isolate)).To(&has_status) || !has_status) {
    if (try_catch.HasCaught()) return failed();
    return JsonResponse(isolate, context, value);
  }

  protocol::InvokeResult result;
  v8::Local<v8::Value> status;
  if (!get(keys.status_code(isolate), &status)) return failed();
  double code = status->IsNumber() ? status.As<v8::Number>()->Value() : -1;
  if (!(code >= 100 && code <= 599) || code != static_cast<int>(code)) {
    return Invalid("statusCode must be an integer from 100 to 599, not " + ToUtf8(isolate, status));
  }
  result.status = static_cast<uint16_t>(code);

  v8::Local<v8::Value> headers;
  if (!get(keys.headers(isolate), &headers)) return failed();
  if (headers->IsObject() && !headers->IsArray()) {
    v8::Local<v8::Array> names;
    if (!headers.As<v8::Object>()->GetOwnPropertyNames(context).ToLocal(&names)) return failed();
    for (uint32_t i = 0; i < names->Length(); ++i) {
      v8::Local<v8::Value> name;
      v8::Local<v8::Value> header_value;
      if (!names->Get(context, i).ToLocal(&name) ||
          !headers.As<v8::Object>()->Get(context, name).ToLocal(&header_value)) {
        return failed();
      }
      if (header_value->IsUndefined() || header_value->IsNull()) continue;
      std::string n = Lower(ToUtf8(isolate, name));
      v8::Local<v8::String> text;
      if (!header_value->ToString(context).ToLocal(&text)) return failed();
      std::string v = StringToUtf8(isolate, text);
      if (!IsToken(n)) return Invalid("invalid response header name '" + n + "'");
      if (!IsValidHeaderValue(v)) {
        return Invalid("the value of response header '" + n + "' contains a control character");
      }
      result.headers.emplace_back(std::move(n), std::move(v));
    }
  } else if (!headers->IsUndefined() && !headers->IsNull()) {
    return Invalid("headers must be an object of header names to values");
  }

  v8::Local<v8::Value> cookies;
  if (!get(keys.cookies(isolate), &cookies)) return failed();
  if (cookies->IsArray()) {
    v8::Local<v8::Array> list = cookies.As<v8::Array>();
    for (uint32_t i = 0; i < list->Length(); ++i) {
      v8::Local<v8::Value> cookie;
      if (!list->Get(context, i).ToLocal(&cookie)) return failed();
      std::string c = ToUtf8(isolate, cookie);
      if (!IsValidHeaderValue(c)) return Invalid("a cookie contains a control character");
      result.headers.emplace_back("set-cookie", std::move(c));
    }
  } else if (!cookies->IsUndefined() && !cookies->IsNull()) {
    return Invalid("cookies must be an array of strings");
  }

  v8::Local<v8::Value> body;
  v8::Local<v8::Value> base64;
  if (!get(keys.body(isolate), &body) || !get(keys.is_base64(isolate), &base64)) return failed();
  if (body->IsString()) {
    result.body = StringToUtf8(isolate, body.As<v8::String>());
    if (base64->BooleanValue(isolate)) {
      Result<std::string> bytes = Base64Decode(result.body);
      if (!bytes.ok()) return Invalid("isBase64Encoded is true but body is not valid base64");
      result.body = std::move(*bytes);
    }
  } else if (!body->IsUndefined() && !body->IsNull()) {
    return Invalid("body must be a string (use JSON.stringify for objects), not " +
                   std::string(body->IsObject() ? "an object"
                                                : "a " + ToUtf8(isolate, body->TypeOf(isolate))));
  }
  return result;
}

}  // namespace flint::runtime
