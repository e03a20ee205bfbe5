#include "scheduler/meter/billing.h"

#include <algorithm>

namespace flint::scheduler::meter {
namespace {

// `value` / 10^decimals as an exact decimal, trailing zeros trimmed down to `min_decimals`.
std::string FixedPoint(unsigned __int128 value, int decimals, int min_decimals) {
  unsigned __int128 scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  unsigned __int128 whole = value / scale, frac = value % scale;
  std::string w;
  do {
    w.insert(w.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole != 0);
  std::string f(static_cast<size_t>(decimals), '0');
  for (int i = decimals - 1; i >= 0; --i) {
    f[static_cast<size_t>(i)] = static_cast<char>('0' + static_cast<int>(frac % 10));
    frac /= 10;
  }
  while (static_cast<int>(f.size()) > min_decimals && f.back() == '0') f.pop_back();
  return f.empty() ? w : w + "." + f;
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kError:
      return "error";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kCrash:
      return "crash";
    case Outcome::kOom:
      return "oom";
    case Outcome::kThrottled:
      return "throttled";
  }
  return "error";
}

const char* TriggerName(Trigger trigger) {
  switch (trigger) {
    case Trigger::kHttp:
      return "http";
    case Trigger::kAsync:
      return "async";
    case Trigger::kCron:
      return "cron";
    case Trigger::kTopic:
      return "topic";
  }
  return "http";
}

PriceSheet DefaultPriceSheet() {
  PriceSheet sheet;
  sheet.effective_from_ms = 0;
  sheet.per_million_requests_pico = 200'000'000'000;  // $0.20
  sheet.per_gb_second_pico = 16'666'700;              // $0.0000166667
  sheet.bill_init = false;
  return sheet;
}

const PriceSheet& SheetAt(std::span<const PriceSheet> sorted, int64_t t_ms) {
  FLINT_CHECK(!sorted.empty());
  auto after =
      std::upper_bound(sorted.begin(), sorted.end(), t_ms,
                       [](int64_t t, const PriceSheet& s) { return t < s.effective_from_ms; });
  return after == sorted.begin() ? sorted.front() : *(after - 1);
}

uint64_t BilledMs(uint64_t duration_us) { return duration_us / 1000 + (duration_us % 1000 != 0); }

Billed Bill(Outcome outcome, uint64_t duration_us, bool cold, uint64_t init_us, uint32_t memory_mb,
            const PriceSheet& sheet) {
  if (outcome == Outcome::kThrottled) return {};
  uint64_t us = duration_us + (cold && sheet.bill_init ? init_us : 0);
  Billed billed;
  billed.billed_ms = BilledMs(us);
  billed.mb_ms = billed.billed_ms * memory_mb;
  return billed;
}

int64_t CostPico(uint64_t requests, uint64_t mb_ms, const PriceSheet& sheet) {
  // Over the common denominator 1e6 x 1,024,000: both terms exact, one rounding at the end.
  using u128 = unsigned __int128;
  const u128 denominator = u128{1'000'000} * kMbMsPerGbSecond;
  u128 numerator =
      u128{requests} * static_cast<uint64_t>(sheet.per_million_requests_pico) * kMbMsPerGbSecond +
      u128{mb_ms} * static_cast<uint64_t>(sheet.per_gb_second_pico) * 1'000'000;
  return static_cast<int64_t>((numerator + denominator / 2) / denominator);
}

Result<int64_t> ParseDollars(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid price '" + std::string(text) + "': " + why);
  };
  if (!text.empty() && text.front() == '$') text.remove_prefix(1);
  if (text.empty()) return bad("empty");
  int64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool dot = false, digits = false;
  for (char c : text) {
    if (c == '.') {
      if (dot) return bad("two decimal points");
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (dot) {
        if (++frac_digits > 12) return bad("more than 12 decimals (picodollars)");
        frac = frac * 10 + (c - '0');
      } else {
        whole = whole * 10 + (c - '0');
        if (whole > 1'000'000) return bad("above $1,000,000");
      }
    } else {
      return bad("use a plain decimal number of dollars, e.g. 0.20");
    }
  }
  if (!digits) return bad("no digits");
  for (int i = frac_digits; i < 12; ++i) frac *= 10;
  return whole * kPicoPerDollar + frac;
}

std::string FormatDollars(int64_t pico) {
  std::string sign = pico < 0 ? "-" : "";
  unsigned __int128 v = pico < 0 ? static_cast<unsigned __int128>(-(__int128)pico)
                                 : static_cast<unsigned __int128>(pico);
  return sign + FixedPoint(v, 12, 2);
}

std::string FormatGbSeconds(uint64_t mb_ms) {
  // 1 / 1,024,000 = 9765625 / 10^13 exactly.
  return FixedPoint(static_cast<unsigned __int128>(mb_ms) * 9'765'625, 13, 0);
}

std::string FormatSeconds(uint64_t us) { return FixedPoint(us, 6, 0); }

}  // namespace flint::scheduler::meter
