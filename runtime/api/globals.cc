#include "runtime/api/globals.h"

#include <sys/random.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "runtime/api/lambda_event.h"
#include "runtime/js/js_util.h"
#include "sdk/encoding/base64.h"

namespace flint::runtime {
namespace detail {
extern const char kJs_console[];
extern const char kJs_globals[];
extern const char kJs_url[];
}  // namespace detail

namespace {

using Info = v8::FunctionCallbackInfo<v8::Value>;

ApiHost* HostOf(const Info& info) {
  return static_cast<ApiHost*>(info.Data().As<v8::External>()->Value());
}

void ThrowTypeError(v8::Isolate* isolate, const char* message) {
  isolate->ThrowException(v8::Exception::TypeError(NewString(isolate, message)));
}

// The bytes a typed array or DataView covers (valid until JS runs again).
bool ViewBytes(v8::Local<v8::Value> value, unsigned char** data, size_t* size) {
  if (!value->IsArrayBufferView()) return false;
  v8::Local<v8::ArrayBufferView> view = value.As<v8::ArrayBufferView>();
  *size = view->ByteLength();
  if (*size == 0) {
    *data = nullptr;
    return true;
  }
  std::shared_ptr<v8::BackingStore> store = view->Buffer()->GetBackingStore();
  *data = static_cast<unsigned char*>(store->Data()) + view->ByteOffset();
  return true;
}

// host.log(level, text)
void NativeLog(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  int level = info[0]->IsInt32() ? info[0].As<v8::Int32>()->Value() : 1;
  if (level < 0 || level > 3) level = 1;
  std::string text = ToUtf8(isolate, info[1]);
  TruncateLogLine(&text);
  HostOf(info)->Log(static_cast<protocol::LogLevel>(level), std::move(text));
}

// host.setTimer(callback, delayMs, repeat, argsArray) -> id
void NativeSetTimer(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsFunction() || !info[3]->IsArray()) return ThrowTypeError(isolate, "bad timer");
  double delay = info[1]->IsNumber() ? info[1].As<v8::Number>()->Value() : 0;
  Result<double> id = HostOf(info)->AddTimer(info[0].As<v8::Function>(), delay, info[2]->IsTrue(),
                                             info[3].As<v8::Array>());
  if (!id.ok()) {
    // A termination (timeout, out of memory) under way is not to be replaced by an exception.
    if (isolate->IsExecutionTerminating()) return;
    isolate->ThrowException(v8::Exception::RangeError(NewString(isolate, id.status().message())));
    return;
  }
  info.GetReturnValue().Set(*id);
}

// host.clearTimer(id)
void NativeClearTimer(const Info& info) {
  if (info[0]->IsNumber()) HostOf(info)->ClearTimer(info[0].As<v8::Number>()->Value());
}

// host.enqueueMicrotask(fn)
void NativeEnqueueMicrotask(const Info& info) {
  if (!info[0]->IsFunction()) return ThrowTypeError(info.GetIsolate(), "not a function");
  info.GetIsolate()->EnqueueMicrotask(info[0].As<v8::Function>());
}

// host.utf8Length(string) -> bytes needed by utf8Write (lone surrogates become U+FFFD)
void NativeUtf8Length(const Info& info) {
  if (!info[0]->IsString()) return ThrowTypeError(info.GetIsolate(), "not a string");
  info.GetReturnValue().Set(info[0].As<v8::String>()->Utf8Length(info.GetIsolate()));
}

// host.utf8Write(string, uint8array) -> bytes written (whole characters only)
void NativeUtf8Write(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  unsigned char* data;
  size_t size;
  if (!info[0]->IsString() || !ViewBytes(info[1], &data, &size)) {
    return ThrowTypeError(isolate, "bad arguments");
  }
  int read = 0;
  int written = info[0].As<v8::String>()->WriteUtf8(
      isolate, reinterpret_cast<char*>(data), static_cast<int>(size), &read,
      v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  v8::Local<v8::Array> out = v8::Array::New(isolate, 2);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  out->Set(context, 0, v8::Integer::New(isolate, read)).IsJust();
  out->Set(context, 1, v8::Integer::New(isolate, written)).IsJust();
  info.GetReturnValue().Set(out);
}

// host.utf8Decode(view, fatal, ignoreBOM) -> string, or null when fatal and malformed
void NativeUtf8Decode(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  unsigned char* data;
  size_t size;
  if (!ViewBytes(info[0], &data, &size)) return ThrowTypeError(isolate, "not a view");
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (!info[2]->IsTrue() && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  if (info[1]->IsTrue() && !IsValidUtf8(bytes)) {
    info.GetReturnValue().SetNull();
    return;
  }
  v8::Local<v8::String> s;
  if (!v8::String::NewFromUtf8(isolate, bytes.data(), v8::NewStringType::kNormal,
                               static_cast<int>(bytes.size()))
           .ToLocal(&s)) {
    return;  // string too long: V8 threw
  }
  info.GetReturnValue().Set(s);
}

// host.btoa(string) -> base64, or null when a character is above U+00FF
void NativeBtoa(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsString()) return ThrowTypeError(isolate, "not a string");
  v8::Local<v8::String> s = info[0].As<v8::String>();
  std::vector<uint16_t> units(static_cast<size_t>(s->Length()));
  s->Write(isolate, units.data(), 0, s->Length(), v8::String::NO_NULL_TERMINATION);
  std::string bytes;
  bytes.reserve(units.size());
  for (uint16_t u : units) {
    if (u > 0xFF) {
      info.GetReturnValue().SetNull();
      return;
    }
    bytes.push_back(static_cast<char>(u));
  }
  std::string encoded = Base64Encode(bytes);
  info.GetReturnValue().Set(NewString(isolate, encoded));
}

// host.atob(string) -> binary string (forgiving base64), or null when the input is invalid
void NativeAtob(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsString()) return ThrowTypeError(isolate, "not a string");
  v8::Local<v8::String> s = info[0].As<v8::String>();
  std::vector<uint16_t> units(static_cast<size_t>(s->Length()));
  s->Write(isolate, units.data(), 0, s->Length(), v8::String::NO_NULL_TERMINATION);
  std::string text;
  text.reserve(units.size());
  for (uint16_t u : units) {
    if (u == ' ' || u == '\t' || u == '\n' || u == '\f' || u == '\r') continue;
    if (u > 0x7F) {
      info.GetReturnValue().SetNull();
      return;
    }
    text.push_back(static_cast<char>(u));
  }
  if (text.size() % 4 == 0) {
    for (int i = 0; i < 2 && !text.empty() && text.back() == '='; ++i) text.pop_back();
  }
  if (text.size() % 4 == 1) {
    info.GetReturnValue().SetNull();
    return;
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      info.GetReturnValue().SetNull();
      return;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  v8::Local<v8::String> result;
  if (!v8::String::NewFromOneByte(isolate, reinterpret_cast<const uint8_t*>(out.data()),
                                  v8::NewStringType::kNormal, static_cast<int>(out.size()))
           .ToLocal(&result)) {
    return;
  }
  info.GetReturnValue().Set(result);
}

// host.randomFill(view): fills the view's bytes from the kernel's CSPRNG.
void NativeRandomFill(const Info& info) {
  unsigned char* data;
  size_t size;
  if (!ViewBytes(info[0], &data, &size)) return ThrowTypeError(info.GetIsolate(), "not a view");
  size_t done = 0;
  while (done < size) {
    ssize_t n = getrandom(data + done, size - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ThrowTypeError(info.GetIsolate(), "getrandom failed");
    }
    done += static_cast<size_t>(n);
  }
}

class CloneDelegate final : public v8::ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(v8::Isolate* isolate) : isolate_(isolate) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override {
    isolate_->ThrowException(v8::Exception::Error(message));
  }

 private:
  v8::Isolate* isolate_;
};

// host.clone(value) -> a structured clone; throws an Error whose message says what failed.
void NativeClone(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  CloneDelegate delegate(isolate);
  v8::ValueSerializer serializer(isolate, &delegate);
  serializer.WriteHeader();
  if (serializer.WriteValue(context, info[0]).IsNothing()) return;  // exception pending
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  v8::Local<v8::Value> result;
  {
    v8::ValueDeserializer deserializer(isolate, buffer.first, buffer.second);
    if (deserializer.ReadHeader(context).FromMaybe(false)) {
      if (deserializer.ReadValue(context).ToLocal(&result)) info.GetReturnValue().Set(result);
    }
  }
  std::free(buffer.first);
}

const auto kTimeOrigin = std::chrono::steady_clock::now();
const double kTimeOriginEpochMs =
    std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
        .count();

// host.now() -> milliseconds since the time origin, microsecond resolution
void NativeNow(const Info& info) {
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - kTimeOrigin)
          .count();
  info.GetReturnValue().Set(ms);
}

}  // namespace

Result<v8::Local<v8::Object>> InstallGlobals(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                             ApiHost* api_host) {
  v8::EscapableHandleScope scope(isolate);
  v8::Local<v8::External> data = v8::External::New(isolate, api_host);
  v8::Local<v8::Object> host = v8::Object::New(isolate);
  struct Native {
    const char* name;
    v8::FunctionCallback callback;
  };
  static constexpr Native kNatives[] = {
      {"log", NativeLog},
      {"setTimer", NativeSetTimer},
      {"clearTimer", NativeClearTimer},
      {"enqueueMicrotask", NativeEnqueueMicrotask},
      {"utf8Length", NativeUtf8Length},
      {"utf8Write", NativeUtf8Write},
      {"utf8Decode", NativeUtf8Decode},
      {"btoa", NativeBtoa},
      {"atob", NativeAtob},
      {"randomFill", NativeRandomFill},
      {"clone", NativeClone},
      {"now", NativeNow},
  };
  for (const Native& native : kNatives) {
    v8::Local<v8::Function> fn;
    if (!v8::FunctionTemplate::New(isolate, native.callback, data)
             ->GetFunction(context)
             .ToLocal(&fn) ||
        host->Set(context, NewString(isolate, native.name), fn).IsNothing()) {
      return Internal(std::string("cannot install native ") + native.name);
    }
  }
  host->Set(context, NewString(isolate, "timeOrigin"), v8::Number::New(isolate, kTimeOriginEpochMs))
      .IsJust();
  host->Set(context, NewString(isolate, "v8Version"), NewString(isolate, v8::V8::GetVersion()))
      .IsJust();

  v8::Local<v8::Object> internal = v8::Object::New(isolate);
  struct Source {
    const char* name;
    const char* code;
  };
  const Source kSources[] = {
      {"flint:console.js", detail::kJs_console},
      {"flint:globals.js", detail::kJs_globals},
      {"flint:url.js", detail::kJs_url},
  };
  for (const Source& source : kSources) {
    v8::TryCatch try_catch(isolate);
    v8::ScriptOrigin origin(isolate, NewString(isolate, source.name));
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> fn;
    v8::Local<v8::Value> args[] = {host, internal, context->Global()};
    if (!v8::Script::Compile(context, NewString(isolate, source.code), &origin).ToLocal(&script) ||
        !script->Run(context).ToLocal(&fn) || !fn->IsFunction() ||
        fn.As<v8::Function>()->Call(context, v8::Undefined(isolate), 3, args).IsEmpty()) {
      ExceptionInfo error =
          DescribeException(isolate, context, try_catch.Exception(), try_catch.Message());
      return Internal("installing " + std::string(source.name) + ": " + FormatLocated(error));
    }
  }
  return scope.Escape(internal);
}

}  // namespace flint::runtime
