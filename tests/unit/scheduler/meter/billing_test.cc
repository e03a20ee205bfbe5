// Billing math: rounding, units, costs, prices as text. Pure functions only.
#include "scheduler/meter/billing.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace flint::scheduler::meter;

TEST_CASE("BilledMs rounds execution time up to the millisecond, with no minimum", "[billing]") {
  CHECK(BilledMs(0) == 0);
  CHECK(BilledMs(1) == 1);
  CHECK(BilledMs(999) == 1);
  CHECK(BilledMs(1000) == 1);
  CHECK(BilledMs(1001) == 2);
  CHECK(BilledMs(50'000) == 50);
  CHECK(BilledMs(50'001) == 51);
}

TEST_CASE("Bill charges memory x billed time, init only when the sheet says so", "[billing]") {
  PriceSheet sheet = DefaultPriceSheet();
  Billed warm = Bill(Outcome::kOk, 1'500, false, 0, 128, sheet);
  CHECK(warm.billed_ms == 2);
  CHECK(warm.mb_ms == 256);
  Billed cold = Bill(Outcome::kOk, 1'500, true, 80'000, 128, sheet);
  CHECK(cold.billed_ms == 2);
  sheet.bill_init = true;
  Billed cold_init = Bill(Outcome::kOk, 1'500, true, 80'000, 128, sheet);
  CHECK(cold_init.billed_ms == 82);  // 81.5 ms rounded up
  CHECK(cold_init.mb_ms == 82 * 128);
  CHECK(Bill(Outcome::kError, 3'000, false, 0, 256, sheet).billed_ms == 3);
  Billed throttled = Bill(Outcome::kThrottled, 3'000, false, 0, 256, sheet);
  CHECK(throttled.billed_ms == 0);
  CHECK(throttled.mb_ms == 0);
}

TEST_CASE("Default prices are Lambda's x86 prices in picodollars", "[billing]") {
  PriceSheet sheet = DefaultPriceSheet();
  CHECK(sheet.per_million_requests_pico == 200'000'000'000);  // $0.20
  CHECK(sheet.per_gb_second_pico == 16'666'700);              // $0.0000166667
  CHECK_FALSE(sheet.bill_init);
  // One request: $0.0000002. One GB-second: $0.0000166667.
  CHECK(CostPico(1, 0, sheet) == 200'000);
  CHECK(CostPico(0, kMbMsPerGbSecond, sheet) == 16'666'700);
  CHECK(CostPico(1'000'000, 0, sheet) == 200'000'000'000);
}

TEST_CASE("CostPico rounds once, half up, from exact integer sums", "[billing]") {
  PriceSheet sheet = DefaultPriceSheet();
  // 128 MB for 1 ms = 128/1,024,000 GB-s = 2083.3375 pico-USD -> 2083; plus 200,000 for the
  // request.
  CHECK(CostPico(1, 128, sheet) == 202'083);
  // A thousand such invocations are priced from their sums, not as 1000 x 202,083.
  CHECK(CostPico(1000, 128'000, sheet) == 202'083'338);
  PriceSheet half;
  half.per_gb_second_pico = 1;
  CHECK(CostPico(0, 512'000, half) == 1);  // exactly 0.5 rounds up
  CHECK(CostPico(0, 511'999, half) == 0);
}

TEST_CASE("SheetAt picks the sheet in force at a time", "[billing]") {
  std::vector<PriceSheet> sheets(3);
  sheets[0].id = 1, sheets[0].effective_from_ms = 0;
  sheets[1].id = 2, sheets[1].effective_from_ms = 1000;
  sheets[2].id = 3, sheets[2].effective_from_ms = 2000;
  CHECK(SheetAt(sheets, -5).id == 1);
  CHECK(SheetAt(sheets, 999).id == 1);
  CHECK(SheetAt(sheets, 1000).id == 2);
  CHECK(SheetAt(sheets, 1999).id == 2);
  CHECK(SheetAt(sheets, 5000).id == 3);
}

TEST_CASE("ParseDollars reads decimal dollars exactly", "[billing]") {
  CHECK(*ParseDollars("0.20") == 200'000'000'000);
  CHECK(*ParseDollars("$0.0000166667") == 16'666'700);
  CHECK(*ParseDollars("3") == 3'000'000'000'000);
  CHECK(*ParseDollars("0.000000000001") == 1);
  CHECK_FALSE(ParseDollars("0.0000000000001").ok());
  CHECK_FALSE(ParseDollars("-1").ok());
  CHECK_FALSE(ParseDollars("1e-5").ok());
  CHECK_FALSE(ParseDollars("").ok());
  CHECK_FALSE(ParseDollars(".").ok());
  CHECK_FALSE(ParseDollars("1.2.3").ok());
}

TEST_CASE("Money, GB-seconds and seconds print as exact decimals", "[billing]") {
  CHECK(FormatDollars(0) == "0.00");
  CHECK(FormatDollars(200'000'000'000) == "0.20");
  CHECK(FormatDollars(202'083) == "0.000000202083");
  CHECK(FormatDollars(12'340'000'000'000) == "12.34");
  CHECK(FormatGbSeconds(1'024'000) == "1");
  CHECK(FormatGbSeconds(128) == "0.000125");
  CHECK(FormatGbSeconds(1) == "0.0000009765625");
  CHECK(FormatSeconds(1'500) == "0.0015");
  CHECK(FormatSeconds(2'000'000) == "2");
}
