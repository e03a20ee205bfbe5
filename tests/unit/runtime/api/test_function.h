// TestFunction: a FunctionHost with a temporary code directory and a recording delegate, for
// tests that run JavaScript in-process. Runs timers itself (no libuv), bounded by a generous
// wall-clock limit so a bug cannot hang the test run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/api/function_host.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime::testing {

struct LoggedLine {
  uint64_t invocation_id;
  protocol::LogLevel level;
  std::string text;
};

class TestFunction : public FunctionHost::Delegate {
 public:
  TestFunction();
  ~TestFunction() override;

  // Writes `content` to `path` (relative, parents created) in the function's directory.
  void Write(const std::string& path, const std::string& content);
  const std::string& dir() const { return dir_; }

  // Loads `entry` with the given limits. Env: FLINT_TEST=yes.
  Result<uint64_t> Load(const std::string& entry = "index.mjs", uint32_t timeout_ms = 3000,
                        uint32_t memory_mb = 128);
  // Writes index.mjs with `code` and loads it; fails the test if loading fails.
  void LoadCode(const std::string& code, uint32_t timeout_ms = 3000, uint32_t memory_mb = 128);

  // Starts an invocation without waiting.
  void Start(uint64_t id, const protocol::InvokeRequest& request);
  // Runs timers until invocation `id` has a result (or 30 s pass: then the test fails).
  protocol::InvokeResult Wait(uint64_t id);
  // Start + Wait with a fresh id.
  protocol::InvokeResult Invoke(const protocol::InvokeRequest& request);
  protocol::InvokeResult Http(const std::string& method, const std::string& path,
                              const std::string& query = "",
                              std::vector<protocol::Header> headers = {},
                              const std::string& body = "", uint32_t timeout_ms = 3000);
  protocol::InvokeResult Event(const std::string& json, uint32_t timeout_ms = 3000);
  // Runs timers for about `ms` milliseconds.
  void Pump(uint32_t ms);

  FunctionHost& host() { return *host_; }
  const std::vector<LoggedLine>& logs() const { return logs_; }
  // Log lines of one invocation, joined with '\n'.
  std::string LogsOf(uint64_t id) const;
  size_t result_count(uint64_t id) const { return results_.count(id); }
  uint64_t last_id() const { return next_id_ - 1; }

  void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) override;
  void OnResult(uint64_t invocation_id, protocol::InvokeResult result) override;

 private:
  std::string dir_;
  std::unique_ptr<FunctionHost> host_;
  std::vector<LoggedLine> logs_;
  std::multimap<uint64_t, protocol::InvokeResult> results_;
  uint64_t next_id_ = 1;
};

// A function whose handler evaluates `event.code` (indirect eval, global scope) and returns
// the awaited value: one loaded host can then check many snippets.
class Evaluator {
 public:
  Evaluator();
  // The response body for the snippet's value (JSON text, or a string as it is); on error
  // "<ErrorType>: <message>".
  std::string Eval(const std::string& code);
  TestFunction& function() { return fn_; }

 private:
  TestFunction fn_;
};

}  // namespace flint::runtime::testing
