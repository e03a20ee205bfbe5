// ProcessMetrics: /proc/<pid>/stat parsing and the process_* families.
#include "scheduler/metrics/process_metrics.h"

#include <catch2/catch.hpp>

namespace flint::scheduler::metrics {

TEST_CASE("/proc/PID/stat gives CPU seconds and the start time, whatever the command name",
          "[metrics]") {
  // Fields 14/15 (utime 250, stime 50) and 22 (starttime 1000), with ") (" in the name.
  std::string stat =
      "1234 (flintd) (x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 "
      "123456 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  ProcessFigures f;
  REQUIRE(ParseProcStat(stat, 100.0, 1'700'000'000.0, f));
  CHECK(*f.cpu_seconds == Approx(3.0));
  CHECK(*f.start_time_seconds == Approx(1'700'000'010.0));
  ProcessFigures bad;
  CHECK_FALSE(ParseProcStat("garbage", 100.0, 0, bad));
  CHECK_FALSE(ParseProcStat("1 (x) S 1 2", 100.0, 0, bad));
  CHECK_FALSE(bad.cpu_seconds.has_value());
}

TEST_CASE("This process's figures are read and written under the standard names", "[metrics]") {
  ProcessFigures f = ReadProcessFigures();
  REQUIRE(f.cpu_seconds.has_value());
  REQUIRE(f.resident_bytes.has_value());
  REQUIRE(f.open_fds.has_value());
  REQUIRE(f.start_time_seconds.has_value());
  CHECK(*f.resident_bytes > 0);
  CHECK(*f.open_fds >= 1);  // stderr at least
  CHECK(*f.start_time_seconds > 1'600'000'000.0);
  Exposition out;
  WriteProcessFigures(out, f);
  for (const char* line :
       {"# TYPE process_cpu_seconds_total counter", "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_open_fds gauge", "# TYPE process_start_time_seconds gauge"}) {
    INFO(line);
    CHECK(out.text().find(line) != std::string::npos);
  }
}

}  // namespace flint::scheduler::metrics
