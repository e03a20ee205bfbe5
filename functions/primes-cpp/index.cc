// primes-cpp: init-time state. The init hook sieves every prime below 10,000,000 once per
// worker (its time is the worker's init duration); each invocation then answers from the table.
//   /fn/primes-cpp?n=97      -> {"n":97,"prime":true,"primes_up_to_n":25}
#include <flint/flint.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kLimit = 10'000'000;
std::vector<bool> composite;       // composite[i] for i < kLimit; filled by Init
std::vector<uint32_t> prime_list;  // every prime below kLimit, ascending

void Init(flint::Context& ctx) {
  composite.assign(kLimit, false);
  composite[0] = composite[1] = true;
  for (uint32_t i = 2; static_cast<uint64_t>(i) * i < kLimit; ++i) {
    if (composite[i]) continue;
    for (uint32_t j = i * i; j < kLimit; j += i) composite[j] = true;
  }
  for (uint32_t i = 2; i < kLimit; ++i) {
    if (!composite[i]) prime_list.push_back(i);
  }
  ctx.log().Info("sieved " + std::to_string(prime_list.size()) + " primes below " +
                 std::to_string(kLimit));
}

flint::Response Primes(const flint::Request& req, flint::Context&) {
  std::string text = req.query("n").value_or("");
  char* end = nullptr;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n >= kLimit) {
    return flint::Response::Json(
        R"({"error":"pass ?n=N with 0 <= N < )" + std::to_string(kLimit) + R"("})", 400);
  }
  size_t count = std::upper_bound(prime_list.begin(), prime_list.end(), n) - prime_list.begin();
  return flint::Response::Json(R"({"n":)" + std::to_string(n) + R"(,"prime":)" +
                               (composite[n] ? "false" : "true") + R"(,"primes_up_to_n":)" +
                               std::to_string(count) + "}");
}

}  // namespace

FLINT_INIT(Init)
FLINT_HANDLER(Primes)
