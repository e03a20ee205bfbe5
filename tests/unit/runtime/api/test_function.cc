#include "tests/unit/runtime/api/test_function.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace flint::runtime::testing {

namespace fs = std::filesystem;

TestFunction::TestFunction() {
  char tmpl[] = "/tmp/flint-runtime-test-XXXXXX";
  char* made = ::mkdtemp(tmpl);
  REQUIRE(made != nullptr);
  dir_ = made;
  Result<std::unique_ptr<FunctionHost>> host = FunctionHost::Create(this);
  REQUIRE(host.ok());
  host_ = std::move(*host);
}

TestFunction::~TestFunction() {
  host_.reset();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void TestFunction::Write(const std::string& path, const std::string& content) {
  fs::path full = fs::path(dir_) / path;
  fs::create_directories(full.parent_path());
  std::ofstream out(full, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

Result<uint64_t> TestFunction::Load(const std::string& entry, uint32_t timeout_ms,
                                    uint32_t memory_mb) {
  protocol::LoadRequest request;
  request.function_name = "test-fn";
  request.function_version = 7;
  request.runtime = "v8";
  request.code_dir = dir_;
  request.entry = entry;
  request.memory_mb = memory_mb;
  request.timeout_ms = timeout_ms;
  request.env = {{"FLINT_TEST", "yes"}};
  return host_->Load(request);
}

void TestFunction::LoadCode(const std::string& code, uint32_t timeout_ms, uint32_t memory_mb) {
  Write("index.mjs", code);
  Result<uint64_t> loaded = Load("index.mjs", timeout_ms, memory_mb);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
}

void TestFunction::Start(uint64_t id, const protocol::InvokeRequest& request) {
  if (id >= next_id_) next_id_ = id + 1;
  host_->Invoke(id, request);
}

void TestFunction::Pump(uint32_t ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    std::optional<uint64_t> wait = host_->NextWakeupMs();
    auto left = end - std::chrono::steady_clock::now();
    auto step =
        wait ? std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(*wait), left)
             : left;
    if (step > std::chrono::steady_clock::duration::zero()) std::this_thread::sleep_for(step);
    host_->RunDue();
  }
}

protocol::InvokeResult TestFunction::Wait(uint64_t id) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (results_.count(id) == 0) {
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    std::optional<uint64_t> wait = host_->NextWakeupMs();
    INFO("invocation " << id << " has no result and nothing is scheduled");
    REQUIRE(wait.has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(*wait));
    host_->RunDue();
  }
  return results_.find(id)->second;
}

protocol::InvokeResult TestFunction::Invoke(const protocol::InvokeRequest& request) {
  uint64_t id = next_id_++;
  host_->Invoke(id, request);
  return Wait(id);
}

protocol::InvokeResult TestFunction::Http(const std::string& method, const std::string& path,
                                          const std::string& query,
                                          std::vector<protocol::Header> headers,
                                          const std::string& body, uint32_t timeout_ms) {
  protocol::InvokeRequest request;
  request.kind = protocol::InvokeKind::kHttp;
  request.timeout_ms = timeout_ms;
  request.time_epoch_ms = 1710270238000;  // 2024-03-12T19:03:58Z
  request.request_id = "req-" + std::to_string(next_id_);
  request.method = method;
  request.raw_path = path;
  request.raw_query = query;
  request.source_ip = "203.0.113.9";
  request.headers = std::move(headers);
  request.body = body;
  return Invoke(request);
}

protocol::InvokeResult TestFunction::Event(const std::string& json, uint32_t timeout_ms) {
  protocol::InvokeRequest request;
  request.kind = protocol::InvokeKind::kEvent;
  request.timeout_ms = timeout_ms;
  request.request_id = "evt-" + std::to_string(next_id_);
  request.body = json;
  return Invoke(request);
}

std::string TestFunction::LogsOf(uint64_t id) const {
  std::string out;
  for (const LoggedLine& line : logs_) {
    if (line.invocation_id != id) continue;
    if (!out.empty()) out += '\n';
    out += line.text;
  }
  return out;
}

void TestFunction::OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) {
  logs_.push_back({invocation_id, level, std::string(text)});
}

void TestFunction::OnResult(uint64_t invocation_id, protocol::InvokeResult result) {
  results_.emplace(invocation_id, std::move(result));
}

Evaluator::Evaluator() {
  fn_.LoadCode("export const handler = async (event) => await (0, eval)(event.code);\n");
}

std::string Evaluator::Eval(const std::string& code) {
  protocol::InvokeResult result = fn_.Event(nlohmann::json({{"code", code}}).dump());
  if (result.outcome != protocol::Outcome::kOk) {
    return result.error_type + ": " + result.error_message;
  }
  return result.body;
}

}  // namespace flint::runtime::testing
