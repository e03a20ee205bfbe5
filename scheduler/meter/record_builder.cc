#include "scheduler/meter/record_builder.h"

namespace flint::scheduler::meter {

Outcome OutcomeWithoutResult(bool error, bool dispatched) {
  if (!error) return Outcome::kOk;
  return dispatched ? Outcome::kCrash : Outcome::kThrottled;
}

InvocationRecord BuildRecord(InvocationFacts facts, Outcome outcome, uint64_t now_ns,
                             std::optional<Measured> measured) {
  InvocationRecord record;
  record.request_id = std::move(facts.request_id);
  record.function = std::move(facts.function);
  record.version = facts.version;
  record.start_ms = facts.received_ms;
  record.e2e_us = (now_ns - facts.received_ns) / 1000;
  record.memory_mb = facts.memory_mb;
  record.cold = facts.cold;
  record.init_us = facts.init_us;
  record.trigger = facts.trigger;
  record.outcome = outcome;
  if (measured) {
    record.duration_us = measured->duration_us;
    record.cpu_us = measured->cpu_us;
  } else if (facts.dispatched_ns != 0) {
    record.duration_us = (now_ns - facts.dispatched_ns) / 1000;
  }
  return record;
}

void WorkerUsage::Apply(Sample& sample, uint64_t now_ns, const CgroupReading& reading,
                        InvocationRecord& record) {
  uint64_t carried = sample.cpu_us + sample.metered_cpu_us;
  if (reading.cpu_us > carried) record.cpu_us += reading.cpu_us - carried;
  sample = {now_ns, reading.cpu_us, 0, reading.peak_memory_bytes};
}

}  // namespace flint::scheduler::meter
