#include "scheduler/core/latency_window.h"

#include <catch2/catch.hpp>

using namespace flint::scheduler;

TEST_CASE("LatencyWindow gives nearest-rank percentiles and 0 when empty", "[latency]") {
  LatencyWindow w(100);
  CHECK(w.Percentile(50) == 0);
  for (uint64_t v = 1; v <= 100; ++v) w.Add(v);
  CHECK(w.Percentile(50) == 50);
  CHECK(w.Percentile(99) == 99);
  CHECK(w.Percentile(100) == 100);
  CHECK(w.Percentile(0.1) == 1);
}

TEST_CASE("LatencyWindow keeps only the newest samples", "[latency]") {
  LatencyWindow w(4);
  for (uint64_t v : {1000, 1000, 1000, 1000, 1, 2, 3}) w.Add(v);
  CHECK(w.size() == 4);
  CHECK(w.total() == 7);
  CHECK(w.Percentile(50) == 2);
  CHECK(w.Percentile(100) == 1000);
  w.Add(4);
  CHECK(w.Percentile(100) == 4);
}
