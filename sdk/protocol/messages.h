// Payloads of the worker protocol's messages (see frame.h for the frame around them).
//
// Payload fields are written in declaration order: integers little-endian with their stated
// width, strings as a uint32 byte length followed by the bytes, lists as a uint32 count followed
// by the items. Decode() rejects a truncated payload, trailing bytes, and counts or lengths
// beyond the payload, with a Status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sdk/core/status.h"

namespace flint::protocol {

using Header = std::pair<std::string, std::string>;

// HELLO, worker -> flintd, the first frame a worker sends.
struct Hello {
  uint32_t protocol_version = 0;
  uint32_t pid = 0;
  std::string runtime;  // "js", "cpp" or "node": what this worker can load
  // The exact build of the runtime, e.g. "node 22.23.5, V8 12.4.254.21-node.57": a code cache
  // (CodeCache) is only ever given back to a worker that says the same ("" when it keeps none).
  std::string runtime_version;

  std::string Encode() const;
  static Result<Hello> Decode(std::string_view payload);
};

// LOAD, flintd -> worker: specialise this generic worker for one function version, forever.
struct LoadRequest {
  std::string function_name;
  uint32_t function_version = 0;
  std::string runtime;   // "js" or "cpp"
  std::string code_dir;  // absolute directory holding the function's files (read-only)
  std::string entry;     // the entry file, relative to code_dir (e.g. "index.mjs")
  uint32_t memory_mb = 128;
  uint32_t timeout_ms = 3000;
  std::vector<Header> env;  // the function's environment variables
  // A CodeCache payload an earlier worker of this function version sent, for a worker whose
  // HELLO had the same runtime_version; empty when there is none. Opaque to flintd.
  std::string code_cache;

  std::string Encode() const;
  static Result<LoadRequest> Decode(std::string_view payload);
};

// LOADED, worker -> flintd.
struct Loaded {
  uint64_t init_duration_us = 0;  // compiling and evaluating the module, running init hooks

  std::string Encode() const;
  static Result<Loaded> Decode(std::string_view payload);
};

// LOAD_FAILED, worker -> flintd. The worker exits after sending it.
struct LoadFailed {
  // A user-facing message that names the file and line where it can, e.g.
  // "index.mjs:3: SyntaxError: Unexpected token '}'".
  std::string message;

  std::string Encode() const;
  static Result<LoadFailed> Decode(std::string_view payload);
};

enum class InvokeKind : uint8_t {
  kHttp = 0,   // an HTTP request: the worker builds a Lambda function-URL event (format 2.0)
  kEvent = 1,  // an async event: `body` is the event's JSON, passed to the handler as `event`
};

// INVOKE, flintd -> worker. The frame's invocation_id names the invocation.
struct InvokeRequest {
  InvokeKind kind = InvokeKind::kHttp;
  uint32_t timeout_ms = 3000;  // time left for the handler, measured from receipt
  uint64_t time_epoch_ms = 0;  // when flintd received the request
  std::string request_id;      // context.requestId and requestContext.requestId
  std::string method;          // "GET", ...
  std::string raw_path;        // the path after /fn/NAME, always starting with "/"
  std::string raw_query;       // without the "?"
  std::string source_ip;
  std::vector<Header> headers;  // names lower-cased, in arrival order
  std::string body;             // raw bytes

  std::string Encode() const;
  static Result<InvokeRequest> Decode(std::string_view payload);
};

enum class Outcome : uint8_t {
  kOk = 0,           // the handler returned; status/headers/body hold its response
  kError = 1,        // the handler threw or rejected; error_type/error_message say what
  kTimeout = 2,      // the handler ran past its timeout and was terminated
  kOutOfMemory = 3,  // the handler hit its heap limit and was terminated
};

// RESULT, worker -> flintd. The frame's invocation_id names the invocation.
struct InvokeResult {
  Outcome outcome = Outcome::kOk;
  uint16_t status = 200;
  std::vector<Header> headers;
  std::string body;           // raw bytes (a base64 result body is already decoded)
  std::string error_type;     // e.g. "TypeError" (kError)
  std::string error_message;  // user-facing message (kError, kTimeout, kOutOfMemory)
  uint64_t duration_us = 0;   // execution time measured in the worker around the handler
  uint64_t cpu_us = 0;        // CPU time of the worker thread during the invocation
  // The worker exits right after this RESULT (out of memory, the function called
  // process.exit): flintd must send it nothing more, even before it sees the socket close.
  bool worker_exiting = false;

  std::string Encode() const;
  static Result<InvokeResult> Decode(std::string_view payload);
};

enum class LogLevel : uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// LOG, worker -> flintd: one line of the function's console output.
struct LogLine {
  LogLevel level = LogLevel::kInfo;
  std::string text;

  std::string Encode() const;
  static Result<LogLine> Decode(std::string_view payload);
};

// STATS, worker -> flintd, after LOADED and after each batch of RESULTs written together (a
// Node.js worker: at most every 100 ms, its reading costs more than a small invocation).
struct Stats {
  uint64_t heap_used_bytes = 0;
  uint64_t heap_limit_bytes = 0;
  uint64_t rss_bytes = 0;

  std::string Encode() const;
  static Result<Stats> Decode(std::string_view payload);
};

// CODE_CACHE, worker -> flintd: V8's code cache for the function's files, produced after its
// first invocation (so it covers the functions that ran, not only those compiled eagerly), by
// a worker whose LOAD came without a usable one. flintd keeps it for the function version and
// the worker's runtime_version and hands it to later LOADs of that version, where it spares
// the cold start the compilation of large bundles. It comes from a worker that ran the
// function's code, so it is never given to another function (nor another version).
struct CodeCache {
  static constexpr size_t kMaxBytes = 16u << 20;  // a worker never sends more
  std::vector<Header> files;                      // (path in the code, V8's cached data)

  std::string Encode() const;
  static Result<CodeCache> Decode(std::string_view payload);
};

}  // namespace flint::protocol
