// Readiness: one change per flip between ready and failing, whatever happens in between.
#include "scheduler/core/readiness.h"

#include <catch2/catch.hpp>

using flint::scheduler::Readiness;
using flint::scheduler::ReadinessCheck;

TEST_CASE("Readiness starts ready with no reason", "[readiness]") {
  Readiness r;
  CHECK(r.ready());
  CHECK(r.reason().empty());
  CHECK(r.state(ReadinessCheck::kDisk).failures == 0);
}

TEST_CASE("Readiness reports a fault once and its recovery once", "[readiness]") {
  Readiness r;
  auto down = r.Set(ReadinessCheck::kDisk, "only 12 KiB free", 1000);
  REQUIRE(down.has_value());
  CHECK_FALSE(down->ready);
  CHECK(down->reason == "only 12 KiB free");
  CHECK(down->lasted_ms == 0);  // ready since the start: no known start
  CHECK_FALSE(r.ready());
  CHECK(r.reason() == "disk: only 12 KiB free");

  // Repeated failures (every request that hits the full disk) change nothing but the reason.
  CHECK_FALSE(r.Set(ReadinessCheck::kDisk, "only 8 KiB free", 1500).has_value());
  CHECK(r.reason() == "disk: only 8 KiB free");
  CHECK(r.state(ReadinessCheck::kDisk).since_ms == 1000);

  auto up = r.Set(ReadinessCheck::kDisk, "", 4000);
  REQUIRE(up.has_value());
  CHECK(up->ready);
  CHECK(up->lasted_ms == 3000);
  CHECK(r.ready());
  CHECK_FALSE(r.Set(ReadinessCheck::kDisk, "", 4100).has_value());
  CHECK(r.state(ReadinessCheck::kDisk).failures == 1);
}

TEST_CASE("Readiness names the first failing check and needs all to be ready", "[readiness]") {
  Readiness r;
  REQUIRE(r.Set(ReadinessCheck::kWorker, "flint-worker is missing", 10));
  REQUIRE(r.Set(ReadinessCheck::kStore, "database is locked", 20));
  CHECK(r.reason() == "store: database is locked");
  REQUIRE(r.Set(ReadinessCheck::kStore, "", 30));
  CHECK_FALSE(r.ready());
  CHECK(r.reason() == "worker: flint-worker is missing");
  REQUIRE(r.Set(ReadinessCheck::kWorker, "", 40));
  CHECK(r.ready());
}
