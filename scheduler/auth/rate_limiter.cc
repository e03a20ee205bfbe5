#include "scheduler/auth/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <vector>

namespace flint::scheduler::auth {
namespace {

std::optional<double> ParseRate(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < 0 || v > 1e9) return std::nullopt;
  return v;
}

}  // namespace

Result<RateLimit> ParseRateLimit(std::string_view text) {
  RateLimit limit;
  if (text == "off" || text == "0") return limit;
  size_t slash = text.find('/');
  std::optional<double> rate = ParseRate(text.substr(0, slash));
  std::optional<double> burst =
      slash == std::string_view::npos ? rate : ParseRate(text.substr(slash + 1));
  if (!rate || !burst) {
    return InvalidArgument("rate limit '" + std::string(text.substr(0, 40)) +
                           "' is invalid: use RATE or RATE/BURST in requests per second, e.g. "
                           "100/200, or off");
  }
  limit.per_second = *rate;
  limit.burst = *burst;
  return limit;
}

RateLimiter::RateLimiter(RateLimit limit, size_t max_keys)
    : limit_(limit), max_keys_(std::max<size_t>(max_keys, 2)) {
  if (limit_.enabled())
    limit_.burst = std::max(1.0, limit_.burst > 0 ? limit_.burst : limit_.per_second);
}

uint32_t RateLimiter::Take(std::string_view key, uint64_t now_ms) {
  if (!limit_.enabled()) return 0;
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) Shrink(now_ms);
    it = buckets_.emplace(std::string(key), Bucket{limit_.burst, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.updated_ms) {
    double refill = static_cast<double>(now_ms - b.updated_ms) / 1000.0 * limit_.per_second;
    b.tokens = std::min(limit_.burst, b.tokens + refill);
    b.updated_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  double wait_s = (1.0 - b.tokens) / limit_.per_second;
  return static_cast<uint32_t>(std::max(1.0, std::ceil(wait_s)));
}

void RateLimiter::Shrink(uint64_t now_ms) {
  if (now_ms >= last_shrink_ms_ + 1000 || last_shrink_ms_ == 0) {
    last_shrink_ms_ = now_ms;
    std::erase_if(buckets_, [&](const auto& kv) {
      const Bucket& b = kv.second;
      double refill =
          static_cast<double>(now_ms - std::min(now_ms, b.updated_ms)) / 1000.0 * limit_.per_second;
      return b.tokens + refill >= limit_.burst;
    });
  }
  if (buckets_.size() < max_keys_) return;
  // Still full of active keys: drop the half that was used least recently.
  std::vector<uint64_t> times;
  times.reserve(buckets_.size());
  for (const auto& kv : buckets_) times.push_back(kv.second.updated_ms);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  uint64_t cut = *mid;
  std::erase_if(buckets_, [&](const auto& kv) { return kv.second.updated_ms <= cut; });
}

}  // namespace flint::scheduler::auth
