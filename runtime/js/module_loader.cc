#include "runtime/js/module_loader.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/js/js_util.h"

namespace flint::runtime {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Reads a whole regular file.
Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("not a regular file");
  }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

ModuleLoader* LoaderOf(v8::Isolate* isolate) {
  return static_cast<ModuleLoader*>(isolate->GetData(ModuleLoader::kIsolateDataSlot));
}

}  // namespace

ModuleLoader::ModuleLoader(v8::Isolate* isolate, std::string root_dir)
    : isolate_(isolate), root_dir_(std::move(root_dir)) {}

ModuleLoader::~ModuleLoader() {
  Clear();
  if (isolate_->GetData(kIsolateDataSlot) == this) isolate_->SetData(kIsolateDataSlot, nullptr);
}

void ModuleLoader::Clear() {
  by_path_.clear();
  path_by_hash_.clear();
}

Status ModuleLoader::Install() {
  char real[PATH_MAX];
  if (root_dir_.empty() || root_dir_[0] != '/') {
    return InvalidArgument("code directory must be an absolute path: '" + root_dir_ + "'");
  }
  if (::realpath(root_dir_.c_str(), real) == nullptr) {
    return ErrnoStatus("code directory " + root_dir_, errno);
  }
  root_real_ = real;
  isolate_->SetData(kIsolateDataSlot, this);
  isolate_->SetHostImportModuleDynamicallyCallback(&ModuleLoader::ImportDynamic);
  isolate_->SetHostInitializeImportMetaObjectCallback(&ModuleLoader::InitializeImportMeta);
  return Status::Ok();
}

Result<std::string> ModuleLoader::Resolve(std::string_view referrer,
                                          std::string_view specifier) const {
  std::string quoted = "'" + std::string(specifier) + "'";
  if (!StartsWith(specifier, "./") && !StartsWith(specifier, "../")) {
    if (StartsWith(specifier, "/") || StartsWith(specifier, "file:")) {
      return InvalidArgument("cannot import " + quoted +
                             ": absolute paths are not allowed; import files of the function "
                             "with a relative path such as './util.mjs'");
    }
    return InvalidArgument("cannot import " + quoted +
                           ": Node.js built-in modules and packages are not available in Flint; "
                           "import files of the function with a relative path such as "
                           "'./util.mjs' (bundle dependencies into the function)");
  }
  namespace fs = std::filesystem;
  fs::path joined =
      (fs::path(std::string(referrer)).parent_path() / std::string(specifier)).lexically_normal();
  std::string rel = joined.generic_string();
  if (rel.empty() || rel == "." || StartsWith(rel, "../") || rel == "..") {
    return InvalidArgument("cannot import " + quoted +
                           ": it resolves outside the function's directory");
  }
  std::string full = root_real_ + "/" + rel;
  char real[PATH_MAX];
  if (::realpath(full.c_str(), real) == nullptr) {
    return NotFound("cannot import " + quoted + ": no file '" + rel + "' in the function");
  }
  if (!StartsWith(real, root_real_ + "/")) {
    return InvalidArgument("cannot import " + quoted +
                           ": it resolves outside the function's directory");
  }
  return rel;
}

Result<v8::Local<v8::Module>> ModuleLoader::Compile(v8::Local<v8::Context> context,
                                                    const std::string& path) {
  auto it = by_path_.find(path);
  if (it != by_path_.end()) return it->second.module.Get(isolate_);
  Result<std::string> code = ReadFile(root_real_ + "/" + path);
  if (!code.ok())
    return InvalidArgument(path + ": cannot read the file: " + code.status().message());
  v8::Local<v8::String> name = NewString(isolate_, path);
  v8::ScriptOrigin origin(isolate_, name, 0, 0, false, -1, v8::Local<v8::Value>(), false, false,
                          /*is_module=*/true);
  v8::ScriptCompiler::Source source(NewString(isolate_, *code), origin);
  v8::TryCatch try_catch(isolate_);
  v8::Local<v8::Module> module;
  if (!v8::ScriptCompiler::CompileModule(isolate_, &source).ToLocal(&module)) {
    if (try_catch.HasTerminated()) return Internal(path + ": compilation was terminated");
    ExceptionInfo info =
        DescribeException(isolate_, context, try_catch.Exception(), try_catch.Message());
    if (info.file.empty()) info.file = path;
    return InvalidArgument(FormatLocated(info));
  }
  Entry& entry = by_path_[path];
  entry.module.Reset(isolate_, module);
  entry.path = path;
  path_by_hash_.emplace(module->GetIdentityHash(), path);
  return module;
}

std::string ModuleLoader::PathOf(v8::Local<v8::Module> module) const {
  auto range = path_by_hash_.equal_range(module->GetIdentityHash());
  for (auto it = range.first; it != range.second; ++it) {
    auto found = by_path_.find(it->second);
    if (found != by_path_.end() && found->second.module.Get(isolate_) == module) {
      return it->second;
    }
  }
  return {};
}

Result<v8::Local<v8::Module>> ModuleLoader::LoadEntry(v8::Local<v8::Context> context,
                                                      std::string_view entry) {
  namespace fs = std::filesystem;
  std::string rel = fs::path(std::string(entry)).lexically_normal().generic_string();
  if (rel.empty() || StartsWith(rel, "/") || StartsWith(rel, "..")) {
    return InvalidArgument("entry '" + std::string(entry) +
                           "' must be a file inside the function's directory");
  }
  std::string full = root_real_ + "/" + rel;
  if (::access(full.c_str(), R_OK) != 0) {
    return NotFound(rel + ": no such file in the function");
  }
  Result<v8::Local<v8::Module>> module = Compile(context, rel);
  if (!module.ok()) return module;
  pending_error_.clear();
  v8::TryCatch try_catch(isolate_);
  if ((*module)->InstantiateModule(context, &ModuleLoader::ResolveStatic).IsNothing()) {
    if (!pending_error_.empty()) return InvalidArgument(std::move(pending_error_));
    if (try_catch.HasTerminated()) return Internal(rel + ": linking was terminated");
    ExceptionInfo info =
        DescribeException(isolate_, context, try_catch.Exception(), try_catch.Message());
    if (info.file.empty()) info.file = rel;
    return InvalidArgument(FormatLocated(info));
  }
  return *module;
}

v8::MaybeLocal<v8::Module> ModuleLoader::ResolveStatic(v8::Local<v8::Context> context,
                                                       v8::Local<v8::String> specifier,
                                                       v8::Local<v8::FixedArray>,
                                                       v8::Local<v8::Module> referrer) {
  v8::Isolate* isolate = context->GetIsolate();
  ModuleLoader* self = LoaderOf(isolate);
  if (self == nullptr) return {};
  std::string spec = StringToUtf8(isolate, specifier);
  std::string from = self->PathOf(referrer);
  // The line of the import statement, for the error message.
  int line = 0;
  v8::Local<v8::FixedArray> requests = referrer->GetModuleRequests();
  for (int i = 0; i < requests->Length(); ++i) {
    v8::Local<v8::ModuleRequest> request = requests->Get(context, i).As<v8::ModuleRequest>();
    if (request->GetSpecifier()->StrictEquals(specifier)) {
      line = referrer->SourceOffsetToLocation(request->GetSourceOffset()).GetLineNumber() + 1;
      break;
    }
  }
  std::string where = from + (line > 0 ? ":" + std::to_string(line) : "") + ": ";
  Result<std::string> path = self->Resolve(from, spec);
  Result<v8::Local<v8::Module>> module =
      path.ok() ? self->Compile(context, *path) : Result<v8::Local<v8::Module>>(path.status());
  if (!module.ok()) {
    // A compile error already names its own file and line.
    std::string message = path.ok() ? module.status().message() : where + path.status().message();
    if (self->pending_error_.empty()) self->pending_error_ = message;
    isolate->ThrowException(v8::Exception::Error(NewString(isolate, message)));
    return {};
  }
  return *module;
}

v8::MaybeLocal<v8::Promise> ModuleLoader::ImportDynamic(v8::Local<v8::Context> context,
                                                        v8::Local<v8::Data>,
                                                        v8::Local<v8::Value> resource_name,
                                                        v8::Local<v8::String> specifier,
                                                        v8::Local<v8::FixedArray>) {
  v8::Isolate* isolate = context->GetIsolate();
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return {};
  ModuleLoader* self = LoaderOf(isolate);
  auto reject = [&](const std::string& message) -> v8::MaybeLocal<v8::Promise> {
    resolver->Reject(context, v8::Exception::Error(NewString(isolate, message))).IsJust();
    return resolver->GetPromise();
  };
  if (self == nullptr) return reject("import() is not available here");
  std::string from = ToUtf8(isolate, resource_name);
  std::string spec = StringToUtf8(isolate, specifier);
  Result<std::string> path = self->Resolve(from, spec);
  if (!path.ok()) return reject(from + ": " + path.status().message());
  Result<v8::Local<v8::Module>> loaded = self->Compile(context, *path);
  if (!loaded.ok()) return reject(loaded.status().message());
  v8::Local<v8::Module> module = *loaded;
  if (module->GetStatus() == v8::Module::kUninstantiated) {
    self->pending_error_.clear();
    v8::TryCatch try_catch(isolate);
    if (module->InstantiateModule(context, &ModuleLoader::ResolveStatic).IsNothing()) {
      if (try_catch.HasTerminated()) {
        try_catch.ReThrow();
        return {};
      }
      std::string message = self->pending_error_;
      if (message.empty()) message = ToUtf8(isolate, try_catch.Exception());
      return reject(message);
    }
  }
  if (module->GetStatus() == v8::Module::kErrored) {
    resolver->Reject(context, module->GetException()).IsJust();
    return resolver->GetPromise();
  }
  v8::Local<v8::Value> evaluated;
  if (!module->Evaluate(context).ToLocal(&evaluated)) return {};  // terminated: propagate
  v8::Local<v8::Function> to_namespace;
  if (!v8::Function::New(
           context,
           [](const v8::FunctionCallbackInfo<v8::Value>& info) {
             info.GetReturnValue().Set(info.Data());
           },
           module->GetModuleNamespace())
           .ToLocal(&to_namespace)) {
    return {};
  }
  return evaluated.As<v8::Promise>()->Then(context, to_namespace);
}

void ModuleLoader::InitializeImportMeta(v8::Local<v8::Context> context,
                                        v8::Local<v8::Module> module, v8::Local<v8::Object> meta) {
  v8::Isolate* isolate = context->GetIsolate();
  ModuleLoader* self = LoaderOf(isolate);
  if (self == nullptr) return;
  std::string url = "file://" + self->root_real_ + "/" + self->PathOf(module);
  meta->CreateDataProperty(context, NewString(isolate, "url"), NewString(isolate, url)).IsJust();
}

}  // namespace flint::runtime
