#include "tools/cli/bill.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace flint::cli {

Result<std::string> FetchBill(client::FlintClient& flint, const BillOptions& o) {
  FLINT_ASSIGN_OR_RETURN(auto body, flint.Billing({{"from", o.from},
                                                   {"to", o.to},
                                                   {"function", o.function},
                                                   {"by", o.by},
                                                   {"format", o.format}}));
  std::string out = std::move(body);
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

std::string FormatUsage(const std::string& describe_json) {
  auto j = nlohmann::json::parse(describe_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return "";
  auto it = j.find("usage");
  if (it == j.end() || !it->is_object()) return "";
  const auto& u = *it;
  auto num = [&](const char* key) {
    auto v = u.find(key);
    return v != u.end() && v->is_number_integer() ? std::to_string(v->get<int64_t>())
                                                  : std::string("0");
  };
  auto str = [&](const char* key) {
    auto v = u.find(key);
    return v != u.end() && v->is_string() ? v->get<std::string>() : std::string();
  };
  std::ostringstream out;
  out << "Usage (last 24 hours):\n"
      << "  invocations   " << num("invocations") << " (" << num("errors") << " errors, "
      << num("cold_starts") << " cold starts, " << num("throttled") << " throttled)\n"
      << "  billed        " << num("billed_ms") << " ms, " << str("gb_seconds") << " GB-s, CPU "
      << str("cpu_seconds") << " s\n"
      << "  cost          $" << str("cost_usd") << "\n";
  return out.str();
}

}  // namespace flint::cli
