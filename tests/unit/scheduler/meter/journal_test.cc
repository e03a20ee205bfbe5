// The journal: record encoding, the ring's bounds, and recovery of uncommitted records.
#include "scheduler/meter/journal.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "tests/support/skip_unless_root.h"
#include "tests/support/small_fs.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint::scheduler::meter;
using flint::scheduler::testing::TempDir;

namespace {

InvocationRecord Sample(int i) {
  InvocationRecord r;
  r.request_id = "00000000-0000-4000-8000-" + std::string(12 - std::to_string(i).size(), '0') +
                 std::to_string(i);
  r.function = "hello";
  r.version = 3;
  r.start_ms = 1'700'000'000'000 + i;
  r.duration_us = 1234;
  r.e2e_us = 2000;
  r.cpu_us = 900;
  r.init_us = 55'000;
  r.memory_mb = 256;
  r.peak_memory_bytes = 4096;
  r.cold = true;
  r.outcome = Outcome::kTimeout;
  return r;
}

JournalSlot Encoded(const InvocationRecord& r) {
  JournalSlot slot;
  EncodeRecord(r, &slot);
  return slot;
}

}  // namespace

TEST_CASE("A journal record decodes to what was encoded", "[journal]") {
  InvocationRecord in = Sample(7);
  auto out = DecodeRecord(Encoded(in));
  REQUIRE(out.has_value());
  CHECK(out->request_id == in.request_id);
  CHECK(out->function == "hello");
  CHECK(out->version == 3);
  CHECK(out->start_ms == in.start_ms);
  CHECK(out->duration_us == 1234);
  CHECK(out->cpu_us == 900);
  CHECK(out->init_us == 55'000);
  CHECK(out->memory_mb == 256);
  CHECK(out->peak_memory_bytes == 4096u);
  CHECK(out->cold);
  CHECK(out->outcome == Outcome::kTimeout);
  in.peak_memory_bytes.reset();
  CHECK_FALSE(DecodeRecord(Encoded(in))->peak_memory_bytes.has_value());
}

TEST_CASE("A damaged journal record is rejected", "[journal]") {
  JournalSlot slot = Encoded(Sample(1));
  slot.bytes[100] ^= 1;
  CHECK_FALSE(DecodeRecord(slot).has_value());
}

TEST_CASE("The journal refuses appends beyond its uncommitted capacity", "[journal]") {
  TempDir dir;
  auto journal = Journal::Open(dir.Sub("j"), 4);
  REQUIRE(journal.ok());
  (*journal)->Recover();
  for (int i = 1; i <= 4; ++i) REQUIRE((*journal)->Append(Encoded(Sample(i))));
  CHECK_FALSE((*journal)->Append(Encoded(Sample(5))));
  CHECK((*journal)->free_slots() == 0);
  auto read = (*journal)->Read(0, 2);
  REQUIRE(read.size() == 2);
  CHECK(read[1].request_id == Sample(2).request_id);
  (*journal)->MarkCommitted(2);
  CHECK((*journal)->Append(Encoded(Sample(5))));
  CHECK((*journal)->published() == 5);
}

TEST_CASE("Reopening a journal recovers exactly the uncommitted records, in order", "[journal]") {
  TempDir dir;
  {
    auto journal = Journal::Open(dir.Sub("j"), 8);
    REQUIRE(journal.ok());
    (*journal)->Recover();
    for (int i = 1; i <= 11; ++i) {
      REQUIRE((*journal)->Append(Encoded(Sample(i))));
      if (i == 6) (*journal)->MarkCommitted(6);
    }
    // Destroyed without committing 7..11, as a killed flintd would leave it.
  }
  auto journal = Journal::Open(dir.Sub("j"), 1000);  // an existing journal keeps its size
  REQUIRE(journal.ok());
  CHECK((*journal)->slot_count() == 8);
  auto recovered = (*journal)->Recover();
  CHECK(recovered.last_seq == 11);
  REQUIRE(recovered.records.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(recovered.records[i].request_id == Sample(7 + i).request_id);
  CHECK((*journal)->published() == 11);
}

TEST_CASE("A file that is not a journal is refused", "[journal]") {
  TempDir dir;
  FILE* f = fopen(dir.Sub("j").c_str(), "w");
  fputs("not a journal", f);
  fclose(f);
  CHECK_FALSE(Journal::Open(dir.Sub("j"), 8).ok());
}

TEST_CASE("Recovery accepts records an older flintd wrote with the FNV-1a checksum", "[journal]") {
  // The slot layout is unchanged; only the checksum function is newer (journal.cc).
  JournalSlot legacy = Encoded(Sample(1));
  uint32_t fnv = 2166136261u;
  for (size_t i = 16; i < kJournalSlotSize; ++i) fnv = (fnv ^ legacy.bytes[i]) * 16777619u;
  std::memcpy(legacy.bytes + 8, &fnv, sizeof fnv);
  // The writer's own reads stay strict: this process wrote every slot it reads.
  CHECK_FALSE(DecodeRecord(legacy).has_value());
  TempDir dir;
  {
    auto journal = Journal::Open(dir.Sub("j"), 8);
    REQUIRE(journal.ok());
    (*journal)->Recover();
    REQUIRE((*journal)->Append(legacy));
    JournalSlot damaged = legacy;
    damaged.bytes[100] ^= 1;
    REQUIRE((*journal)->Append(damaged));
    REQUIRE((*journal)->Append(Encoded(Sample(3))));
  }
  auto journal = Journal::Open(dir.Sub("j"), 8);
  REQUIRE(journal.ok());
  auto recovered = (*journal)->Recover();
  REQUIRE(recovered.records.size() == 2);
  CHECK(recovered.records[0].request_id == Sample(1).request_id);
  CHECK(recovered.records[1].request_id == Sample(3).request_id);
}

TEST_CASE("A journal larger than its file system is refused with the space it needs", "[journal]") {
  // Before, the file was sized with ftruncate (a hole) and the first store through the mapping
  // beyond what the file system held killed the process with SIGBUS.
  FLINT_SKIP_UNLESS_ROOT("tmpfs mounts");
  TempDir dir;
  flint::testing::SmallFs fs(dir.Sub("small"), 1 << 20);
  REQUIRE(fs.ok());
  std::string path = fs.dir() + "/j";
  auto big = Journal::Open(path, 65536);  // 16 MiB on a 1 MiB file system
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == flint::Code::kUnavailable);
  CHECK(big.status().message().find("needs 16.0 MiB (16781312 bytes)") != std::string::npos);
  CHECK(big.status().message().find("MiB free") != std::string::npos);
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK(st.st_size == 0);  // nothing half-made: the next start sees a fresh journal

  // A journal that fits opens, and every slot of it can be written.
  auto small = Journal::Open(path, 1024);
  REQUIRE(small.ok());
  (*small)->Recover();
  for (int i = 1; i <= 1024; ++i) REQUIRE((*small)->Append(Encoded(Sample(i))));
  CHECK(stat(path.c_str(), &st) == 0);
  CHECK(uint64_t(st.st_blocks) * 512 >= kJournalHeaderSize + 1024 * kJournalSlotSize);
}
