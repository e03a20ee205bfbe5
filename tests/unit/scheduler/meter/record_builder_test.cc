// BuildRecord and WorkerUsage: what an answered invocation's record says, and how a worker's
// cgroup figures are folded into the records without reading the cgroup on every invocation.
#include "scheduler/meter/record_builder.h"

#include <catch2/catch.hpp>
#include <optional>

namespace flint::scheduler::meter {
namespace {

constexpr uint64_t kMs = 1'000'000;  // ns

InvocationFacts Facts() {
  InvocationFacts facts;
  facts.request_id = "0190e1d2-0000-7000-8000-000000000001";
  facts.function = "hello";
  facts.version = 3;
  facts.memory_mb = 256;
  facts.trigger = Trigger::kCron;
  facts.received_ms = 1'700'000'000'000;
  facts.received_ns = 10 * kMs;
  return facts;
}

}  // namespace

TEST_CASE("A record carries what flintd saw and what the worker measured", "[meter][record]") {
  InvocationFacts facts = Facts();
  facts.dispatched_ns = 12 * kMs;
  facts.cold = true;
  facts.init_us = 4000;
  InvocationRecord r = BuildRecord(facts, Outcome::kOk, 30 * kMs, Measured{7000, 5000});
  CHECK(r.request_id == facts.request_id);
  CHECK(r.function == "hello");
  CHECK(r.version == 3);
  CHECK(r.memory_mb == 256);
  CHECK(r.trigger == Trigger::kCron);
  CHECK(r.start_ms == facts.received_ms);
  CHECK(r.e2e_us == 20'000);
  CHECK(r.duration_us == 7000);
  CHECK(r.cpu_us == 5000);
  CHECK(r.cold);
  CHECK(r.init_us == 4000);
  CHECK(r.outcome == Outcome::kOk);
}

TEST_CASE("Without the worker's figures the duration is flintd's, and none if it never ran",
          "[meter][record]") {
  InvocationFacts ran = Facts();
  ran.dispatched_ns = 12 * kMs;
  InvocationRecord crash = BuildRecord(ran, Outcome::kCrash, 30 * kMs, std::nullopt);
  CHECK(crash.duration_us == 18'000);
  CHECK(crash.cpu_us == 0);
  InvocationRecord throttled = BuildRecord(Facts(), Outcome::kThrottled, 30 * kMs, std::nullopt);
  CHECK(throttled.duration_us == 0);
  CHECK(throttled.e2e_us == 20'000);
  CHECK(throttled.outcome == Outcome::kThrottled);
}

TEST_CASE("An error without a RESULT is a crash if it reached a worker, else throttled",
          "[meter][record]") {
  CHECK(OutcomeWithoutResult(false, true) == Outcome::kOk);
  CHECK(OutcomeWithoutResult(true, true) == Outcome::kCrash);
  CHECK(OutcomeWithoutResult(true, false) == Outcome::kThrottled);
}

TEST_CASE("WorkerUsage reads a cgroup at most once a second and carries the CPU in between",
          "[meter][record]") {
  WorkerUsage usage;
  int reads = 0;
  CgroupReading cgroup{0, 0};
  auto read = [&]() -> std::optional<CgroupReading> {
    reads++;
    return cgroup;
  };
  auto complete = [&](uint64_t now_ns, uint64_t handler_cpu_us, bool measured) {
    InvocationRecord r;
    r.cpu_us = handler_cpu_us;
    usage.Complete(7, now_ns, measured, r, read);
    return r;
  };
  // The first record reads the cgroup: 1500 us of CPU of which the handler measured 1000.
  cgroup = {1500, 64 << 20};
  InvocationRecord first = complete(1000 * kMs, 1000, true);
  CHECK(reads == 1);
  CHECK(first.cpu_us == 1500);
  CHECK(first.peak_memory_bytes == std::optional<uint64_t>(64 << 20));
  // Within the interval: the handler's own CPU, the last peak.
  cgroup = {4000, 80 << 20};
  InvocationRecord second = complete(1200 * kMs, 700, true);
  CHECK(reads == 1);
  CHECK(second.cpu_us == 700);
  CHECK(second.peak_memory_bytes == std::optional<uint64_t>(64 << 20));
  // A second later: what the cgroup used beyond what the records carried (1500 + 700 + 900).
  InvocationRecord third = complete(2001 * kMs, 900, true);
  CHECK(reads == 2);
  CHECK(third.cpu_us == 900 + (4000 - 3100));
  CHECK(third.peak_memory_bytes == std::optional<uint64_t>(80 << 20));
  // The three records carry exactly the cgroup's total.
  CHECK(first.cpu_us + second.cpu_us + third.cpu_us == 4000);
  // A record the worker did not measure (a crash) reads the cgroup at once.
  cgroup = {4200, 80 << 20};
  InvocationRecord crash = complete(2002 * kMs, 0, false);
  CHECK(reads == 3);
  CHECK(crash.cpu_us == 200);
  // A forgotten worker starts afresh.
  usage.Forget(7);
  cgroup = {100, 1 << 20};
  CHECK(complete(2003 * kMs, 50, true).cpu_us == 100);
  CHECK(reads == 4);
}

TEST_CASE("WorkerUsage keeps the handler's figures when the cgroup cannot be read",
          "[meter][record]") {
  WorkerUsage usage;
  InvocationRecord r;
  r.cpu_us = 300;
  usage.Complete(1, 5 * kMs, true, r, [] { return std::optional<CgroupReading>(); });
  CHECK(r.cpu_us == 300);
  CHECK_FALSE(r.peak_memory_bytes.has_value());
}

}  // namespace flint::scheduler::meter
