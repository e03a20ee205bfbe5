// ModuleLoader: compiles a function's ES modules from one directory and links their imports.
//
// Every file is an ES module (.js and .mjs alike), named by its path relative to the root
// ("index.mjs", "lib/orders.mjs"): that name appears in stack traces and error messages.
// Imports must be relative ("./x.mjs", "../lib/y.js") and resolve to a file inside the root,
// also after following symlinks; bare specifiers ("lodash"), Node built-ins ("node:fs", "fs")
// and absolute paths are refused with a message naming the importing file and line. Each file
// is compiled once per loader. Dynamic import() goes through the same rules; import.meta.url
// is the file's file:// URL.
//
// Thread rules: the isolate's thread only. One loader per isolate at a time: Install() makes
// it the isolate's loader (static V8 callbacks find it through isolate data slot
// kIsolateDataSlot). The loader holds v8::Global handles, so it must be destroyed (or Clear()ed)
// before its isolate.
#pragma once

#include <v8.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/core/status.h"

namespace flint::runtime {

class ModuleLoader {
 public:
  static constexpr uint32_t kIsolateDataSlot = 0;

  // `root_dir` is the function's absolute code directory.
  ModuleLoader(v8::Isolate* isolate, std::string root_dir);
  ~ModuleLoader();
  ModuleLoader(const ModuleLoader&) = delete;
  ModuleLoader& operator=(const ModuleLoader&) = delete;

  // Checks the root and registers this loader with the isolate (for import() and import.meta).
  Status Install();
  // Compiles `entry` and everything it imports statically, and instantiates the graph. The
  // error message is user-facing: "index.mjs:3: SyntaxError: Unexpected token '}'".
  // Needs a HandleScope and the entered context.
  Result<v8::Local<v8::Module>> LoadEntry(v8::Local<v8::Context> context, std::string_view entry);
  // Drops every compiled module (resets the Globals).
  void Clear();

 private:
  struct Entry {
    v8::Global<v8::Module> module;
    std::string path;  // relative to the root
  };

  // Resolves `specifier` imported from the file `referrer` (relative path) to a relative path.
  Result<std::string> Resolve(std::string_view referrer, std::string_view specifier) const;
  // Compiles one file (cached by path).
  Result<v8::Local<v8::Module>> Compile(v8::Local<v8::Context> context, const std::string& path);
  // The relative path of a module this loader compiled, or "" if unknown.
  std::string PathOf(v8::Local<v8::Module> module) const;

  static v8::MaybeLocal<v8::Module> ResolveStatic(v8::Local<v8::Context> context,
                                                  v8::Local<v8::String> specifier,
                                                  v8::Local<v8::FixedArray> import_assertions,
                                                  v8::Local<v8::Module> referrer);
  static v8::MaybeLocal<v8::Promise> ImportDynamic(v8::Local<v8::Context> context,
                                                   v8::Local<v8::Data> host_defined_options,
                                                   v8::Local<v8::Value> resource_name,
                                                   v8::Local<v8::String> specifier,
                                                   v8::Local<v8::FixedArray> import_assertions);
  static void InitializeImportMeta(v8::Local<v8::Context> context, v8::Local<v8::Module> module,
                                   v8::Local<v8::Object> meta);

  v8::Isolate* isolate_;
  std::string root_dir_;   // as given
  std::string root_real_;  // realpath of the root
  std::map<std::string, Entry> by_path_;
  std::multimap<int, std::string> path_by_hash_;  // module identity hash -> path
  std::string pending_error_;                     // set by ResolveStatic for LoadEntry to report
};

}  // namespace flint::runtime
