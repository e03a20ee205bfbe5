#include "scheduler/store/function_version.h"

#include <catch2/catch.hpp>

using namespace flint;
using namespace flint::scheduler;

namespace {
std::string MessageOf(const FunctionConfig& config) {
  Status status = ValidateFunctionConfig(config);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == Code::kInvalidArgument);
  return status.message();
}
}  // namespace

TEST_CASE("ValidateFunctionConfig accepts the defaults and the range ends", "[store][config]") {
  FunctionConfig config;
  CHECK(ValidateFunctionConfig(config).ok());
  config.memory_mb = 10240;
  config.timeout_ms = 900000;
  config.keep_alive_ms = kMaxKeepAliveMs;
  config.max_instances = 1;
  config.concurrency = 1;
  config.env = {{"_A1", ""}, {"lower_case", "ünïcode ✓"}};
  CHECK(ValidateFunctionConfig(config).ok());
}

TEST_CASE("ValidateFunctionConfig names the field, the range and the value", "[store][config]") {
  FunctionConfig c;
  c.memory_mb = 64;
  CHECK(MessageOf(c) == "memory_mb must be between 128 and 10240, got 64");
  c = {};
  c.memory_mb = 10241;
  CHECK(MessageOf(c) == "memory_mb must be between 128 and 10240, got 10241");
  c = {};
  c.timeout_ms = 0;
  CHECK(MessageOf(c) == "timeout_ms must be between 1 and 900000, got 0");
  c = {};
  c.timeout_ms = 900001;
  CHECK(MessageOf(c) == "timeout_ms must be between 1 and 900000, got 900001");
  c = {};
  c.max_instances = 0;
  CHECK(MessageOf(c).starts_with("max_instances must be between 1 and"));
  c = {};
  c.concurrency = 0;
  CHECK(MessageOf(c).starts_with("concurrency must be between 1 and"));
  c = {};
  c.keep_alive_ms = kMaxKeepAliveMs + 1;
  CHECK(MessageOf(c).starts_with("keep_alive_ms must be between 0 and"));
}

TEST_CASE("ValidateFunctionConfig checks env names, duplicates, values and total size",
          "[store][config]") {
  FunctionConfig c;
  for (const char* bad : {"", "1ABC", "A-B", "A B", "A=B", "ÄB"}) {
    c.env = {{bad, "v"}};
    CHECK_THAT(MessageOf(c), Catch::Contains("env name"));
  }
  c.env = {{"A", "1"}, {"A", "2"}};
  CHECK(MessageOf(c) == "env name 'A' is given more than once");
  c.env = {{"A", std::string("x\0y", 3)}};
  CHECK_THAT(MessageOf(c), Catch::Contains("'A'"));
  c.env = {{"A", "\xff\xfe"}};
  CHECK_THAT(MessageOf(c), Catch::Contains("UTF-8"));
  c.env = {{"A", "\xed\xa0\x80"}};  // a UTF-16 surrogate encoded as UTF-8
  CHECK_THAT(MessageOf(c), Catch::Contains("UTF-8"));

  // 4096 bytes of names and values together is the limit, as in Lambda.
  c.env = {{"A", std::string(4095, 'v')}};
  CHECK(ValidateFunctionConfig(c).ok());
  c.env = {{"A", std::string(4000, 'v')}, {"B", std::string(95, 'v')}};
  CHECK_THAT(MessageOf(c), Catch::Contains("4097 bytes"));
}

TEST_CASE("ValidateFunctionConfig checks network access and event retry settings",
          "[store][config]") {
  FunctionConfig c;
  CHECK(c.network == "none");
  c.network = "outbound";
  c.max_retries = 0;
  c.max_event_age_ms = kMinEventAgeMs;
  CHECK(ValidateFunctionConfig(c).ok());
  c.max_retries = kMaxEventRetries;
  c.max_event_age_ms = kMaxEventAgeMs;
  CHECK(ValidateFunctionConfig(c).ok());

  c = {};
  c.network = "all";
  CHECK(MessageOf(c) == "network must be 'none' or 'outbound', got 'all'");
  c = {};
  c.max_retries = 11;
  CHECK(MessageOf(c) ==
        "max_retries must be between 0 and 10 (or -1 for the node's default), got 11");
  c = {};
  c.max_retries = -2;
  CHECK(MessageOf(c).find("max_retries") == 0);
  c = {};
  c.max_event_age_ms = 999;
  CHECK(MessageOf(c) == "max_event_age_ms must be between 1000 and 21600000, got 999");
}

TEST_CASE("ValidateFunctionConfig takes a hard CPU quota of 0.01 to 64 CPUs, or none",
          "[store][config]") {
  FunctionConfig c;
  CHECK(c.cpu_millis == 0);  // none: the node's --cpu-mode decides
  for (uint32_t ok : {kMinCpuMillis, 500u, 2000u, kMaxCpuMillis}) {
    c.cpu_millis = ok;
    CHECK(ValidateFunctionConfig(c).ok());
  }
  c.cpu_millis = 5;
  CHECK(MessageOf(c) == "cpu must be between 0.01 and 64 CPUs, got 0.005");
  c.cpu_millis = 64'500;
  CHECK(MessageOf(c) == "cpu must be between 0.01 and 64 CPUs, got 64.5");
}

TEST_CASE("CpuText writes thousandths of a CPU as a short decimal", "[store][config]") {
  CHECK(CpuText(0) == "0");
  CHECK(CpuText(500) == "0.5");
  CHECK(CpuText(2000) == "2");
  CHECK(CpuText(1250) == "1.25");
  CHECK(CpuText(10) == "0.01");
  CHECK(CpuText(1001) == "1.001");
}
