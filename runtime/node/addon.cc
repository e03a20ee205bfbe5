// flint_node.node: the Flint addon that Flint's bootstrap (runtime/node/js/bootstrap.js) loads
// into Node.js. Its exports are the bootstrap's only way to the worker protocol; each checks
// its arguments and throws a TypeError on misuse (a bug in the bootstrap).
//
//   start(callbacks, fd, codeRequestFd, codeRoot)   sends HELLO (NodeWorker::Start)
//   setEntryFile(file)                               the entry's file, for load errors
//   loaded(shape)                                    'lambda' | 'fetch'
//   loadFailed(message)
//   finish(id, value)                                a Lambda result
//   finishResponse(id, status, headers, body)        headers [name, value, ...]; body bytes
//   finishException(id, error)
//   finishError(id, status, type, message)
//   log(id, level, text)                             level: 0 debug, 1 info, 2 warn, 3 error
//   processExiting(code)
//   createCodeCache(fn) -> bytes                      V8's cache for a compiled CommonJS module
//   sendCodeCache([path, bytes, ...])                CODE_CACHE (once)
//   moduleSyntaxError(source, filename) -> [line, message] | undefined
//   heapBudget(memoryMb)                             HeapGuard::BudgetBytes, for tests
#include <node.h>
#include <node_buffer.h>
#include <v8.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/js/js_util.h"
#include "runtime/node/heap_guard.h"
#include "runtime/node/node_worker.h"

namespace flint::runtime::node {
namespace {

using Info = v8::FunctionCallbackInfo<v8::Value>;

void Throw(v8::Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::TypeError(NewString(isolate, message)));
}

// The started worker, or null after throwing.
NodeWorker* Worker(const Info& info) {
  NodeWorker* worker = NodeWorker::Get();
  if (worker == nullptr) Throw(info.GetIsolate(), "the Flint worker is not started");
  return worker;
}

bool GetId(const Info& info, int index, uint64_t* id) {
  if (!info[index]->IsNumber()) {
    Throw(info.GetIsolate(), "an invocation id must be a number");
    return false;
  }
  double v = info[index].As<v8::Number>()->Value();
  *id = v >= 0 && v <= 9007199254740992.0 ? static_cast<uint64_t>(v) : 0;
  return true;
}

// The bytes of a string (UTF-8) or of an ArrayBuffer view.
bool GetBytes(const Info& info, int index, std::string* out) {
  v8::Local<v8::Value> v = info[index];
  if (v->IsString()) {
    *out = StringToUtf8(info.GetIsolate(), v.As<v8::String>());
    return true;
  }
  if (v->IsArrayBufferView()) {
    auto view = v.As<v8::ArrayBufferView>();
    out->resize(view->ByteLength());
    view->CopyContents(out->data(), out->size());
    return true;
  }
  if (v->IsUndefined() || v->IsNull()) {
    out->clear();
    return true;
  }
  Throw(info.GetIsolate(), "a body must be a string or bytes");
  return false;
}

void Start(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsObject() || !info[1]->IsInt32() || !info[2]->IsInt32() || !info[3]->IsString()) {
    return Throw(isolate, "start(callbacks, fd, codeRequestFd, codeRoot)");
  }
  NodeWorkerOptions options;
  options.fd = info[1].As<v8::Int32>()->Value();
  options.code_request_fd = info[2].As<v8::Int32>()->Value();
  options.code_root = StringToUtf8(isolate, info[3].As<v8::String>());
  Result<NodeWorker*> started = NodeWorker::Start(isolate, isolate->GetCurrentContext(),
                                                  info[0].As<v8::Object>(), std::move(options));
  if (!started.ok()) return Throw(isolate, started.status().ToString());
}

void SetEntryFile(const Info& info) {
  NodeWorker* worker = Worker(info);
  if (worker != nullptr) worker->SetEntryFile(ToUtf8(info.GetIsolate(), info[0]));
}

void Loaded(const Info& info) {
  NodeWorker* worker = Worker(info);
  if (worker == nullptr) return;
  std::string shape = ToUtf8(info.GetIsolate(), info[0]);
  if (shape != "lambda" && shape != "fetch") return Throw(info.GetIsolate(), "unknown shape");
  worker->Loaded(shape == "fetch" ? NodeWorker::Shape::kFetch : NodeWorker::Shape::kLambda);
}

void LoadFailed(const Info& info) {
  NodeWorker* worker = Worker(info);
  if (worker != nullptr) worker->LoadFailed(ToUtf8(info.GetIsolate(), info[0]));
}

void Finish(const Info& info) {
  NodeWorker* worker = Worker(info);
  uint64_t id;
  if (worker != nullptr && GetId(info, 0, &id)) worker->FinishValue(id, info[1]);
}

void FinishResponse(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  NodeWorker* worker = Worker(info);
  uint64_t id;
  if (worker == nullptr || !GetId(info, 0, &id)) return;
  if (!info[1]->IsUint32() || !info[2]->IsArray()) {
    return Throw(isolate, "finishResponse(id, status, headers, body)");
  }
  uint32_t status = info[1].As<v8::Uint32>()->Value();
  if (status < 100 || status > 599) return Throw(isolate, "a status must be from 100 to 599");
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Array> list = info[2].As<v8::Array>();
  std::vector<protocol::Header> headers;
  for (uint32_t i = 0; i + 1 < list->Length(); i += 2) {
    v8::Local<v8::Value> name;
    v8::Local<v8::Value> value;
    if (!list->Get(context, i).ToLocal(&name) || !list->Get(context, i + 1).ToLocal(&value)) {
      return;
    }
    headers.emplace_back(ToUtf8(isolate, name), ToUtf8(isolate, value));
  }
  std::string body;
  if (!GetBytes(info, 3, &body)) return;
  worker->FinishResponse(id, static_cast<uint16_t>(status), std::move(headers), std::move(body));
}

void FinishException(const Info& info) {
  NodeWorker* worker = Worker(info);
  uint64_t id;
  if (worker != nullptr && GetId(info, 0, &id)) worker->FinishException(id, info[1]);
}

void FinishError(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  NodeWorker* worker = Worker(info);
  uint64_t id;
  if (worker == nullptr || !GetId(info, 0, &id)) return;
  uint32_t status = info[1]->IsUint32() ? info[1].As<v8::Uint32>()->Value() : 500;
  if (status < 100 || status > 599) status = 500;
  worker->FinishError(id, static_cast<uint16_t>(status), ToUtf8(isolate, info[2]),
                      ToUtf8(isolate, info[3]));
}

void Log(const Info& info) {
  NodeWorker* worker = Worker(info);
  uint64_t id;
  if (worker == nullptr || !GetId(info, 0, &id)) return;
  int level = info[1]->IsInt32() ? info[1].As<v8::Int32>()->Value() : 1;
  if (level < 0 || level > static_cast<int>(protocol::LogLevel::kError)) level = 1;
  worker->Log(id, static_cast<protocol::LogLevel>(level), ToUtf8(info.GetIsolate(), info[2]));
}

void ProcessExiting(const Info& info) {
  NodeWorker* worker = NodeWorker::Get();
  int code = info[0]->IsInt32() ? info[0].As<v8::Int32>()->Value() : 0;
  if (worker != nullptr) worker->ProcessExiting(code);
}

void CreateCodeCache(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsFunction()) return Throw(isolate, "createCodeCache(fn)");
  std::unique_ptr<v8::ScriptCompiler::CachedData> data(
      v8::ScriptCompiler::CreateCodeCacheForFunction(info[0].As<v8::Function>()));
  if (data == nullptr) return;
  v8::Local<v8::Object> bytes;
  if (::node::Buffer::Copy(isolate, reinterpret_cast<const char*>(data->data),
                           static_cast<size_t>(data->length))
          .ToLocal(&bytes)) {
    info.GetReturnValue().Set(bytes);
  }
}

void SendCodeCache(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  NodeWorker* worker = Worker(info);
  if (worker == nullptr) return;
  if (!info[0]->IsArray()) return Throw(isolate, "sendCodeCache([path, bytes, ...])");
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Array> list = info[0].As<v8::Array>();
  protocol::CodeCache cache;
  size_t total = 0;
  for (uint32_t i = 0; i + 1 < list->Length(); i += 2) {
    v8::Local<v8::Value> name;
    v8::Local<v8::Value> data;
    if (!list->Get(context, i).ToLocal(&name) || !list->Get(context, i + 1).ToLocal(&data) ||
        !data->IsArrayBufferView()) {
      return Throw(isolate, "sendCodeCache([path, bytes, ...])");
    }
    auto view = data.As<v8::ArrayBufferView>();
    std::string path = ToUtf8(isolate, name);
    // Files past the limit are left out: they compile as without a cache.
    if (total + path.size() + view->ByteLength() + 8 > protocol::CodeCache::kMaxBytes - 64) break;
    total += path.size() + view->ByteLength() + 8;
    std::string bytes(view->ByteLength(), '\0');
    view->CopyContents(bytes.data(), bytes.size());
    cache.files.emplace_back(std::move(path), std::move(bytes));
  }
  worker->SendCodeCache(std::move(cache));
}

// The line and message of the syntax error in ES module `source`, or undefined when it
// compiles. Compiles only: nothing is instantiated or run.
void ModuleSyntaxError(const Info& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsString() || !info[1]->IsString()) {
    return Throw(isolate, "moduleSyntaxError(source, filename)");
  }
  v8::ScriptOrigin origin(info[1].As<v8::String>(), 0, 0, false, -1, v8::Local<v8::Value>(), false,
                          false, /*is_module=*/true);
  v8::ScriptCompiler::Source source(info[0].As<v8::String>(), origin);
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Module> module;
  if (v8::ScriptCompiler::CompileModule(isolate, &source).ToLocal(&module)) return;
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Message> message = try_catch.Message();
  if (message.IsEmpty()) return;
  v8::Local<v8::Array> out = v8::Array::New(isolate, 2);
  out->Set(context, 0, v8::Integer::New(isolate, message->GetLineNumber(context).FromMaybe(0)))
      .IsJust();
  out->Set(context, 1, message->Get()).IsJust();
  info.GetReturnValue().Set(out);
}

void HeapBudget(const Info& info) {
  uint32_t mb = info[0]->IsUint32() ? info[0].As<v8::Uint32>()->Value() : 128;
  info.GetReturnValue().Set(static_cast<double>(HeapGuard::BudgetBytes(mb)));
}

}  // namespace
}  // namespace flint::runtime::node

NODE_MODULE_INIT(/* exports, module, context */) {
  using namespace flint::runtime::node;
  v8::Isolate* isolate = context->GetIsolate();
  struct Export {
    const char* name;
    v8::FunctionCallback callback;
  };
  static constexpr Export kExports[] = {
      {"start", Start},
      {"setEntryFile", SetEntryFile},
      {"loaded", Loaded},
      {"loadFailed", LoadFailed},
      {"finish", Finish},
      {"finishResponse", FinishResponse},
      {"finishException", FinishException},
      {"finishError", FinishError},
      {"log", Log},
      {"processExiting", ProcessExiting},
      {"createCodeCache", CreateCodeCache},
      {"sendCodeCache", SendCodeCache},
      {"moduleSyntaxError", ModuleSyntaxError},
      {"heapBudget", HeapBudget},
  };
  for (const Export& e : kExports) {
    v8::Local<v8::Function> fn;
    if (!v8::Function::New(context, e.callback).ToLocal(&fn)) return;
    exports->Set(context, flint::runtime::NewString(isolate, e.name), fn).IsJust();
  }
}
