// RateLimiter: a token bucket per key (a token name or a client address): each key may make
// `burst` requests at once and `per_second` on average; beyond that a request is refused with
// the whole seconds to wait before the next one would pass (429 with Retry-After).
//
// Memory is bounded: at most `max_keys` buckets. When full, buckets that have refilled (the same
// as a new key's) are dropped first, at most once a second; if that frees nothing the oldest
// half goes, so a flood of new addresses cannot grow flintd without bound.
//
// Loop thread only. The clock is the caller's (`now_ms`, any monotonic milliseconds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sdk/core/status.h"

namespace flint::scheduler::auth {

struct RateLimit {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // 0: the same as per_second (at least 1)
  bool enabled() const { return per_second > 0; }
};

// "100" (per second, burst the same) or "100/200" (burst 200); "0" or "off": no limit.
Result<RateLimit> ParseRateLimit(std::string_view text);

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit, size_t max_keys = 100'000);

  // Takes one request for `key` at `now_ms`: 0 when it may go on, else the seconds (>= 1) after
  // which it would pass. Always 0 when the limit is disabled.
  uint32_t Take(std::string_view key, uint64_t now_ms);
  size_t keys() const { return buckets_.size(); }
  const RateLimit& limit() const { return limit_; }

 private:
  struct Bucket {
    double tokens = 0;
    uint64_t updated_ms = 0;
  };
  void Shrink(uint64_t now_ms);

  RateLimit limit_;
  size_t max_keys_;
  uint64_t last_shrink_ms_ = 0;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace flint::scheduler::auth
