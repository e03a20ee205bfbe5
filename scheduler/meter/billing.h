// Billing math: what an invocation is billed and what a set of invocations costs. Pure logic
// (no I/O, no clock), exact integer arithmetic throughout; docs/billing.md is the user's view.
//
// Units: money in picodollars (1e-12 USD; Lambda's request price is 200,000 pico-USD), memory x
// time in MB-milliseconds (1 GB-second = 1024 MB x 1000 ms = 1,024,000 MB-ms), durations in
// microseconds as the worker measures them. A record's billed duration is its execution time
// rounded up to the next millisecond (no minimum), plus the init duration of a cold start when
// the price sheet bills init. Throttled requests (never ran) are recorded but cost nothing.
//
// A cost is computed from integer sums (requests, MB-ms) per price sheet and rounded once, half
// up, to the picodollar: cost = round((requests x per_million_requests) / 1e6
// + (mb_ms x per_gb_second) / 1,024,000). Thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::scheduler::meter {

enum class Outcome : uint8_t { kOk = 0, kError, kTimeout, kCrash, kOom, kThrottled };
enum class Trigger : uint8_t { kHttp = 0, kAsync, kCron, kTopic };

// "ok", "error", "timeout", "crash", "oom", "throttled".
const char* OutcomeName(Outcome outcome);
// "http", "async", "cron", "topic".
const char* TriggerName(Trigger trigger);

inline constexpr int64_t kPicoPerDollar = 1'000'000'000'000;
inline constexpr uint64_t kMbMsPerGbSecond = 1024 * 1000;

struct PriceSheet {
  int64_t id = 0;  // assigned by the ledger
  int64_t effective_from_ms = 0;
  int64_t per_million_requests_pico = 0;
  int64_t per_gb_second_pico = 0;
  bool bill_init = false;

  bool SamePrices(const PriceSheet& other) const {
    return per_million_requests_pico == other.per_million_requests_pico &&
           per_gb_second_pico == other.per_gb_second_pico && bill_init == other.bill_init;
  }
};

// AWS Lambda's published on-demand x86 prices (us-east-1, first pricing tier): $0.20 per
// million requests and $0.0000166667 per GB-second; init not billed. Effective from the epoch.
PriceSheet DefaultPriceSheet();

// The sheet in force at `t_ms`: the one with the greatest effective_from_ms <= t_ms; the first
// sheet for earlier times. `sorted` is ordered by effective_from_ms and not empty.
const PriceSheet& SheetAt(std::span<const PriceSheet> sorted, int64_t t_ms);

// Execution time rounded up to the millisecond: 0 -> 0, 1 -> 1, 1000 -> 1, 1001 -> 2.
uint64_t BilledMs(uint64_t duration_us);

struct Billed {
  uint64_t billed_ms = 0;
  uint64_t mb_ms = 0;
};
// What one invocation is billed under `sheet`.
Billed Bill(Outcome outcome, uint64_t duration_us, bool cold, uint64_t init_us, uint32_t memory_mb,
            const PriceSheet& sheet);

// The cost of `requests` invocations using `mb_ms` under `sheet`, rounded half up once.
int64_t CostPico(uint64_t requests, uint64_t mb_ms, const PriceSheet& sheet);

// Parses a non-negative decimal dollar amount ("0.20", "0.0000166667", "3") into picodollars.
// InvalidArgument for more than 12 decimals, signs, exponents or values above $1,000,000.
Result<int64_t> ParseDollars(std::string_view text);
// Exact decimal dollars: 2100000 -> "0.0000021", 200000000000 -> "0.20", 0 -> "0.00"
// (at least two decimals, trailing zeros beyond them trimmed).
std::string FormatDollars(int64_t pico);
// Exact decimal GB-seconds of `mb_ms`: 1,024,000 -> "1", 128 -> "0.000125".
std::string FormatGbSeconds(uint64_t mb_ms);
// Exact decimal seconds of `us`: 1500 -> "0.0015".
std::string FormatSeconds(uint64_t us);

}  // namespace flint::scheduler::meter
