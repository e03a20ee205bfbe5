// Flint's JS globals: console, timers, queueMicrotask, TextEncoder/TextDecoder, atob/btoa,
// crypto.randomUUID/getRandomValues, structuredClone, performance.now, process.env, URL,
// URLSearchParams and DOMException.
//
// Most are written in JavaScript (api/js/*.js, embedded as strings) on top of a small set of
// native functions defined here; what must touch the host (logging, timers) goes through the
// ApiHost interface. The JS files get the native functions as a private `host` object that user
// code cannot reach, and export helpers for the function host through `internal`.
//
// Thread rules: the isolate's thread only. The ApiHost must outlive the context.
#pragma once

#include <v8.h>

#include <string>

#include "runtime/api/log_line.h"
#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

// What the globals need from the function host.
class ApiHost {
 public:
  virtual ~ApiHost() = default;
  // A console line (already formatted), attributed to the current invocation by the host.
  virtual void Log(protocol::LogLevel level, std::string text) = 0;
  // Schedules `callback(...args)` after `delay_ms` (then every delay_ms if `repeat`); returns
  // the timer id (> 0), or an error for the user (too many pending timers), which setTimeout
  // and setInterval throw as a RangeError.
  virtual Result<double> AddTimer(v8::Local<v8::Function> callback, double delay_ms, bool repeat,
                                  v8::Local<v8::Array> args) = 0;
  virtual void ClearTimer(double id) = 0;
};

// Installs every global into `context` and returns the `internal` object of the JS side:
//   internal.setFunction(name, version, memoryMb, envObject)  at LOAD (fills process.env)
//   internal.makeContext(requestId, timeoutMs)               the handler's context argument
//   internal.format(...args)                                 console's formatting
// Needs a HandleScope and the entered context.
Result<v8::Local<v8::Object>> InstallGlobals(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                             ApiHost* host);

}  // namespace flint::runtime
