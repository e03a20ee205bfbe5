#include "scheduler/core/node_capacity.h"

#include <catch2/catch.hpp>

using namespace flint::scheduler;
using PlanKind = NodeCapacity::Plan::Kind;

TEST_CASE("NodeCapacity lets a worker start while the budget has room", "[capacity]") {
  NodeCapacity node(512);
  CHECK(node.PlanStart("a", 256, {}).kind == PlanKind::kFits);
  node.Charge(1, "a", 256);
  CHECK(node.PlanStart("a", 256, {}).kind == PlanKind::kFits);
  node.Charge(2, "a", 256);
  CHECK(node.used_mb() == 512);
  CHECK(node.PlanStart("b", 128, {}).kind == PlanKind::kWait);
  CHECK(node.Release(1));
  CHECK_FALSE(node.Release(1));
  CHECK(node.PlanStart("b", 128, {}).kind == PlanKind::kFits);
}

TEST_CASE("NodeCapacity evicts idle workers of other functions, least recently used first",
          "[capacity]") {
  NodeCapacity node(512);
  node.Charge(1, "a", 128);
  node.Charge(2, "b", 128);
  node.Charge(3, "c", 128);
  node.Charge(4, "d", 128);
  std::vector<EvictionCandidate> idle = {
      {1, "a", 128, 300}, {2, "b", 128, 100}, {3, "c", 128, 200}, {4, "d", 128, 50}};
  auto plan = node.PlanStart("e", 256, idle);
  REQUIRE(plan.kind == PlanKind::kEvict);
  CHECK(plan.evict == std::vector<WorkerId>{4, 2});
  auto one = node.PlanStart("e", 128, idle);
  REQUIRE(one.kind == PlanKind::kEvict);
  CHECK(one.evict == std::vector<WorkerId>{4});
}

TEST_CASE("NodeCapacity never evicts the function's own workers to make room for it",
          "[capacity]") {
  NodeCapacity node(256);
  node.Charge(1, "a", 128);
  node.Charge(2, "a", 128);
  auto plan = node.PlanStart("a", 128, {{1, "a", 128, 0}, {2, "a", 128, 0}});
  CHECK(plan.kind == PlanKind::kWait);
  CHECK(plan.evict.empty());
  CHECK(plan.reason.find("no idle worker of another function") != std::string::npos);
}

TEST_CASE("NodeCapacity evicts nothing when evicting everything would still not be enough",
          "[capacity]") {
  NodeCapacity node(512);
  node.Charge(1, "a", 128);
  node.Charge(2, "b", 384);  // busy: not a candidate
  auto plan = node.PlanStart("c", 256, {{1, "a", 128, 0}});
  CHECK(plan.kind == PlanKind::kWait);
  CHECK(plan.evict.empty());
}

TEST_CASE("NodeCapacity refuses a function bigger than the budget left by reservations",
          "[capacity]") {
  NodeCapacity node(1024);
  CHECK(node.PlanStart("a", 2048, {}).kind == PlanKind::kNever);
  node.SetReservation("b", 768);
  auto plan = node.PlanStart("a", 512, {});
  CHECK(plan.kind == PlanKind::kNever);
  CHECK(plan.reason.find("768 MB of it reserved") != std::string::npos);
  // The reservation's owner may use all of it and the rest.
  CHECK(node.PlanStart("b", 1024, {}).kind == PlanKind::kFits);
  node.SetReservation("b", 0);
  CHECK(node.PlanStart("a", 512, {}).kind == PlanKind::kFits);
}

TEST_CASE("NodeCapacity keeps a function's reservation out of other functions' reach",
          "[capacity]") {
  NodeCapacity node(1024);
  node.SetReservation("r", 512);
  node.Charge(1, "a", 256);
  node.Charge(2, "a", 256);
  CHECK(node.Available("a") == 0);
  CHECK(node.Available("r") == 512);
  CHECK(node.PlanStart("a", 128, {}).kind == PlanKind::kWait);
  // Once r uses its reservation, what it uses is simply used.
  node.Charge(3, "r", 256);
  CHECK(node.Available("a") == 0);
  CHECK(node.Available("r") == 256);
  // Evicting an idle worker of r below its reservation frees nothing for a: not proposed.
  auto plan = node.PlanStart("b", 128, {{3, "r", 256, 0}});
  CHECK(plan.kind == PlanKind::kWait);
  // But a's idle worker may be evicted for r... and for b.
  auto for_b = node.PlanStart("b", 128, {{3, "r", 256, 0}, {1, "a", 256, 5}});
  REQUIRE(for_b.kind == PlanKind::kEvict);
  CHECK(for_b.evict == std::vector<WorkerId>{1});
}

TEST_CASE("NodeCapacity ignores candidates it never charged", "[capacity]") {
  NodeCapacity node(128);
  node.Charge(1, "a", 128);
  auto plan = node.PlanStart("b", 128, {{99, "x", 128, 0}, {1, "a", 128, 1}});
  REQUIRE(plan.kind == PlanKind::kEvict);
  CHECK(plan.evict == std::vector<WorkerId>{1});
}

TEST_CASE("NodeCapacity tracks memory per function", "[capacity]") {
  NodeCapacity node(1000);
  node.Charge(1, "a", 100);
  node.Charge(2, "a", 200);
  node.Charge(3, "b", 300);
  CHECK(node.UsedBy("a") == 300);
  CHECK(node.UsedBy("b") == 300);
  CHECK(node.charged(2));
  CHECK(node.Release(2));
  CHECK_FALSE(node.charged(2));
  CHECK(node.UsedBy("a") == 100);
  CHECK(node.used_mb() == 400);
}
