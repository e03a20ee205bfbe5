// Invocation ids: time-ordered version-7 UUIDs (invocation_id.h).
#include "scheduler/meter/invocation_id.h"

#include <catch2/catch.hpp>
#include <regex>
#include <set>

using namespace flint::scheduler::meter;

TEST_CASE("An invocation id is a version-7 UUID carrying its millisecond", "[invocation_id]") {
  std::string id = InvocationId(0x0190'b6a2'7c3e, ~uint64_t{0}, ~uint64_t{0});
  CHECK(id == "0190b6a2-7c3e-7fff-bfff-ffffffffffff");
  CHECK(InvocationId(0, 0, 0) == "00000000-0000-7000-8000-000000000000");
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  CHECK(std::regex_match(NewInvocationId(), uuid));
}

TEST_CASE("Invocation ids sort by time and do not repeat", "[invocation_id]") {
  CHECK(InvocationId(1'700'000'000'001, 0, 0) > InvocationId(1'700'000'000'000, ~0ull, ~0ull));
  std::set<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.insert(NewInvocationId());
  CHECK(ids.size() == 10'000);
}
