#include "sdk/protocol/messages.h"

#include "sdk/protocol/payload.h"

namespace flint::protocol {
namespace {

using detail::PayloadReader;
using detail::PayloadWriter;

void PutHeaders(PayloadWriter& w, const std::vector<Header>& headers) {
  w.U32(static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    w.Str(name);
    w.Str(value);
  }
}

std::vector<Header> GetHeaders(PayloadReader& r) {
  std::vector<Header> headers;
  uint32_t n = r.Count(8);
  headers.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.Str();
    std::string value = r.Str();
    headers.emplace_back(std::move(name), std::move(value));
  }
  return headers;
}

template <typename T>
Result<T> Finish(const PayloadReader& r, T value, const char* what) {
  if (!r.done()) return InvalidArgument(std::string("malformed ") + what + " payload");
  return value;
}

}  // namespace

std::string Hello::Encode() const {
  PayloadWriter w;
  w.U32(protocol_version);
  w.U32(pid);
  w.Str(runtime);
  w.Str(runtime_version);
  return w.Take();
}

Result<Hello> Hello::Decode(std::string_view payload) {
  PayloadReader r(payload);
  Hello m;
  m.protocol_version = r.U32();
  m.pid = r.U32();
  m.runtime = r.Str();
  m.runtime_version = r.Str();
  return Finish(r, std::move(m), "HELLO");
}

std::string LoadRequest::Encode() const {
  PayloadWriter w;
  w.Str(function_name);
  w.U32(function_version);
  w.Str(runtime);
  w.Str(code_dir);
  w.Str(entry);
  w.U32(memory_mb);
  w.U32(timeout_ms);
  PutHeaders(w, env);
  w.Str(code_cache);
  return w.Take();
}

Result<LoadRequest> LoadRequest::Decode(std::string_view payload) {
  PayloadReader r(payload);
  LoadRequest m;
  m.function_name = r.Str();
  m.function_version = r.U32();
  m.runtime = r.Str();
  m.code_dir = r.Str();
  m.entry = r.Str();
  m.memory_mb = r.U32();
  m.timeout_ms = r.U32();
  m.env = GetHeaders(r);
  m.code_cache = r.Str();
  return Finish(r, std::move(m), "LOAD");
}

std::string Loaded::Encode() const {
  PayloadWriter w;
  w.U64(init_duration_us);
  return w.Take();
}

Result<Loaded> Loaded::Decode(std::string_view payload) {
  PayloadReader r(payload);
  Loaded m;
  m.init_duration_us = r.U64();
  return Finish(r, std::move(m), "LOADED");
}

std::string LoadFailed::Encode() const {
  PayloadWriter w;
  w.Str(message);
  return w.Take();
}

Result<LoadFailed> LoadFailed::Decode(std::string_view payload) {
  PayloadReader r(payload);
  LoadFailed m;
  m.message = r.Str();
  return Finish(r, std::move(m), "LOAD_FAILED");
}

std::string InvokeRequest::Encode() const {
  PayloadWriter w;
  w.U8(static_cast<uint8_t>(kind));
  w.U32(timeout_ms);
  w.U64(time_epoch_ms);
  w.Str(request_id);
  w.Str(method);
  w.Str(raw_path);
  w.Str(raw_query);
  w.Str(source_ip);
  PutHeaders(w, headers);
  w.Str(body);
  return w.Take();
}

Result<InvokeRequest> InvokeRequest::Decode(std::string_view payload) {
  PayloadReader r(payload);
  InvokeRequest m;
  uint8_t kind = r.U8();
  if (kind > static_cast<uint8_t>(InvokeKind::kEvent))
    return InvalidArgument("unknown INVOKE kind");
  m.kind = static_cast<InvokeKind>(kind);
  m.timeout_ms = r.U32();
  m.time_epoch_ms = r.U64();
  m.request_id = r.Str();
  m.method = r.Str();
  m.raw_path = r.Str();
  m.raw_query = r.Str();
  m.source_ip = r.Str();
  m.headers = GetHeaders(r);
  m.body = r.Str();
  return Finish(r, std::move(m), "INVOKE");
}

std::string InvokeResult::Encode() const {
  PayloadWriter w;
  w.U8(static_cast<uint8_t>(outcome));
  w.U16(status);
  PutHeaders(w, headers);
  w.Str(body);
  w.Str(error_type);
  w.Str(error_message);
  w.U64(duration_us);
  w.U64(cpu_us);
  w.U8(worker_exiting ? 1 : 0);
  return w.Take();
}

Result<InvokeResult> InvokeResult::Decode(std::string_view payload) {
  PayloadReader r(payload);
  InvokeResult m;
  uint8_t outcome = r.U8();
  if (outcome > static_cast<uint8_t>(Outcome::kOutOfMemory)) {
    return InvalidArgument("unknown RESULT outcome");
  }
  m.outcome = static_cast<Outcome>(outcome);
  m.status = r.U16();
  m.headers = GetHeaders(r);
  m.body = r.Str();
  m.error_type = r.Str();
  m.error_message = r.Str();
  m.duration_us = r.U64();
  m.cpu_us = r.U64();
  uint8_t exiting = r.U8();
  if (exiting > 1) return InvalidArgument("malformed RESULT payload");
  m.worker_exiting = exiting == 1;
  return Finish(r, std::move(m), "RESULT");
}

std::string LogLine::Encode() const {
  PayloadWriter w;
  w.U8(static_cast<uint8_t>(level));
  w.Str(text);
  return w.Take();
}

Result<LogLine> LogLine::Decode(std::string_view payload) {
  PayloadReader r(payload);
  LogLine m;
  uint8_t level = r.U8();
  if (level > static_cast<uint8_t>(LogLevel::kError)) return InvalidArgument("unknown LOG level");
  m.level = static_cast<LogLevel>(level);
  m.text = r.Str();
  return Finish(r, std::move(m), "LOG");
}

std::string Stats::Encode() const {
  PayloadWriter w;
  w.U64(heap_used_bytes);
  w.U64(heap_limit_bytes);
  w.U64(rss_bytes);
  return w.Take();
}

Result<Stats> Stats::Decode(std::string_view payload) {
  PayloadReader r(payload);
  Stats m;
  m.heap_used_bytes = r.U64();
  m.heap_limit_bytes = r.U64();
  m.rss_bytes = r.U64();
  return Finish(r, std::move(m), "STATS");
}

std::string CodeCache::Encode() const {
  PayloadWriter w;
  PutHeaders(w, files);
  return w.Take();
}

Result<CodeCache> CodeCache::Decode(std::string_view payload) {
  PayloadReader r(payload);
  CodeCache m;
  m.files = GetHeaders(r);
  return Finish(r, std::move(m), "CODE_CACHE");
}

}  // namespace flint::protocol
