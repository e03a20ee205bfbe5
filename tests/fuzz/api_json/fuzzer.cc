// Fuzzes the JSON bodies of flintd's management API that are not deploys (those have their own
// harness, deploy_upload): schedules (and the cron expression they carry), subscriptions, and
// the events of async invocations and topic publishes (scheduler/app/api_requests.h). Input:
// one byte choosing the body's kind, then the body. Checked: what parses holds valid names,
// a schedule's payload is itself a valid event, and an event is stored as it came.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scheduler/app/api_requests.h"
#include "scheduler/events/cron.h"
#include "sdk/core/text.h"
#include "tests/fuzz/fuzz_check.h"

using namespace flint::scheduler;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t kind = data[0];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (kind % 3) {
    case 0: {
      auto schedule = ParseScheduleRequest(body);
      if (!schedule.ok()) return 0;
      FUZZ_CHECK(flint::IsValidFunctionName(schedule->function));
      // Stored as the schedule's event: it must be one.
      FUZZ_CHECK(EventPayload(std::string(schedule->payload), SIZE_MAX).ok());
      auto cron = events::CronSchedule::Parse(schedule->schedule);
      if (cron.ok()) FUZZ_CHECK(cron->NextAfter(1'800'000'000'000).has_value());
      return 0;
    }
    case 1: {
      auto subscription = ParseSubscriptionRequest(body);
      if (!subscription.ok()) return 0;
      FUZZ_CHECK(ValidateTopic(subscription->topic).ok());
      FUZZ_CHECK(flint::IsValidFunctionName(subscription->function));
      return 0;
    }
    default: {
      constexpr size_t kLimit = 4096;
      auto event = EventPayload(std::string(body), kLimit);
      if (!event.ok()) {
        FUZZ_CHECK(body.size() > kLimit || !body.empty());
        return 0;
      }
      FUZZ_CHECK(body.size() <= kLimit);
      FUZZ_CHECK(body.empty() ? *event == "{}" : *event == body);
      return 0;
    }
  }
}
