#include "runtime/js/js_util.h"

namespace flint::runtime {

namespace {

v8::Local<v8::String> MakeString(v8::Isolate* isolate, std::string_view utf8,
                                 v8::NewStringType type) {
  v8::Local<v8::String> s;
  if (utf8.size() > static_cast<size_t>(v8::String::kMaxLength) ||
      !v8::String::NewFromUtf8(isolate, utf8.data(), type, static_cast<int>(utf8.size()))
           .ToLocal(&s)) {
    return v8::String::Empty(isolate);
  }
  return s;
}

}  // namespace

v8::Local<v8::String> NewString(v8::Isolate* isolate, std::string_view utf8) {
  return MakeString(isolate, utf8, v8::NewStringType::kNormal);
}

v8::Local<v8::String> NewInternalizedString(v8::Isolate* isolate, std::string_view utf8) {
  return MakeString(isolate, utf8, v8::NewStringType::kInternalized);
}

std::string StringToUtf8(v8::Isolate* isolate, v8::Local<v8::String> value) {
  std::string out;
  int length = value->Utf8Length(isolate);
  out.resize(static_cast<size_t>(length));
  value->WriteUtf8(isolate, out.data(), length, nullptr, v8::String::NO_NULL_TERMINATION);
  return out;
}

std::string ToUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  if (value.IsEmpty()) return {};
  if (value->IsString()) return StringToUtf8(isolate, value.As<v8::String>());
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::String> s;
  if (!value->ToString(isolate->GetCurrentContext()).ToLocal(&s)) return {};
  return StringToUtf8(isolate, s);
}

namespace {

// A string property of `object`, or "" when absent, not a string, or a getter throws.
std::string StringProperty(v8::Isolate* isolate, v8::Local<v8::Context> context,
                           v8::Local<v8::Object> object, const char* name) {
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> v;
  if (!object->Get(context, NewString(isolate, name)).ToLocal(&v) || !v->IsString()) return {};
  return StringToUtf8(isolate, v.As<v8::String>());
}

}  // namespace

ExceptionInfo DescribeException(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                v8::Local<v8::Value> exception, v8::Local<v8::Message> message) {
  ExceptionInfo info;
  if (!message.IsEmpty()) {
    info.file = ToUtf8(isolate, message->GetScriptResourceName());
    info.line = message->GetLineNumber(context).FromMaybe(0);
  }
  if (!exception.IsEmpty() && exception->IsNativeError()) {
    v8::Local<v8::Object> error = exception.As<v8::Object>();
    info.type = StringProperty(isolate, context, error, "name");
    // A subclass that kept the inherited name "Error" is better described by its constructor.
    if (info.type.empty() || info.type == "Error") {
      std::string ctor = ToUtf8(isolate, error->GetConstructorName());
      if (!ctor.empty() && ctor != "Object") info.type = ctor;
    }
    if (info.type.empty()) info.type = "Error";
    info.message = StringProperty(isolate, context, error, "message");
    info.stack = StringProperty(isolate, context, error, "stack");
  } else {
    info.type = "Error";
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::String> json;
    if (!exception.IsEmpty() && exception->IsObject() && !exception->IsFunction() &&
        v8::JSON::Stringify(context, exception).ToLocal(&json)) {
      info.message = StringToUtf8(isolate, json);
    } else {
      info.message = ToUtf8(isolate, exception);
    }
  }
  if (info.stack.empty()) {
    info.stack = info.message.empty() ? info.type : info.type + ": " + info.message;
  }
  return info;
}

std::string FormatLocated(const ExceptionInfo& info) {
  std::string out;
  if (!info.file.empty()) {
    out = info.file;
    if (info.line > 0) out += ":" + std::to_string(info.line);
    out += ": ";
  }
  out += info.type;
  if (!info.message.empty()) out += ": " + info.message;
  return out;
}

}  // namespace flint::runtime
