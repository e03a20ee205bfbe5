// Journal: the crash-safe hand-off of invocation records from the event loop to the ledger's
// writer thread, and the reason a response can be sent before its record reaches SQLite.
//
// It is a ring of fixed-size slots in a file mapped MAP_SHARED (<data-dir>/ledger.journal).
// The loop encodes a record straight into the next slot (a memcpy, no system call) and then
// publishes the slot's sequence number; only then does flintd send the response. Stores into a
// shared file mapping land in the kernel's page cache, which survives the death of the process
// (kill -9 included), so every record whose response was sent is either in SQLite or in the
// journal. The writer thread copies published slots into SQLite in batches and then records the
// highest committed sequence number in the file's header; after a crash, Open's caller replays
// the slots above it with INSERT OR IGNORE on the record id, so a record committed just before
// the crash (header not yet updated) is not billed twice. Not covered: power loss or a kernel
// crash before the kernel wrote the dirty pages back (docs/billing.md, "Durability").
//
// File layout (little-endian, x86-64): a 4096-byte header {char magic[8] = "FLINTJ01";
// u32 slot_size = 256; u32 slot_count; u64 committed_seq; zero padding}, then slot_count slots
// of 256 bytes: {u64 seq (0 = never written); u32 checksum (of bytes 16..255, journal.cc);
// u32 reserved; payload (EncodeRecord)}. Sequence s lives in slot (s - 1) % slot_count.
//
// Threads: Append/free_slots() on the loop thread only; Read/MarkCommitted on the writer thread
// only; published() and committed() from either. A slot is reused only after the writer committed
// it, so the two never touch the same slot at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/meter/billing.h"
#include "sdk/core/status.h"

namespace flint::scheduler::meter {

// One invocation as the meter sees it (docs/billing.md lists the fields).
struct InvocationRecord {
  std::string request_id;  // <= 36 bytes (a UUID)
  std::string function;    // <= 63 bytes
  uint32_t version = 0;
  Trigger trigger = Trigger::kHttp;
  int64_t start_ms = 0;  // wall clock, when flintd received the request
  uint64_t duration_us = 0;
  uint64_t e2e_us = 0;
  uint64_t cpu_us = 0;
  uint64_t init_us = 0;
  uint32_t memory_mb = 0;
  std::optional<uint64_t> peak_memory_bytes;
  bool cold = false;
  Outcome outcome = Outcome::kOk;
};

inline constexpr size_t kJournalSlotSize = 256;
inline constexpr size_t kJournalHeaderSize = 4096;

// One encoded slot (the bytes after seq/checksum/reserved are the payload).
struct JournalSlot {
  alignas(8) unsigned char bytes[kJournalSlotSize];
};

// Encodes `record` into a slot payload (seq and checksum left 0). Names longer than their
// fields are truncated (cannot happen for validated names and UUIDs).
void EncodeRecord(const InvocationRecord& record, JournalSlot* slot);
// Decodes a payload; nullopt when the slot's checksum does not match.
std::optional<InvocationRecord> DecodeRecord(const JournalSlot& slot);

class Journal {
 public:
  // Opens or creates `path` with `slot_count` slots (an existing journal keeps its own size),
  // allocates every block of the file on disk and touches every page, so that appends never
  // fault on the loop thread (a store into a hole of a full file system would be a SIGBUS).
  // kUnavailable, naming the space needed and free, when the file system cannot hold it.
  static Result<std::unique_ptr<Journal>> Open(const std::string& path, uint32_t slot_count);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Records found above the committed sequence number, in sequence order, with the highest
  // sequence number seen (0 for an empty journal). Call before the first Append.
  struct Recovered {
    std::vector<InvocationRecord> records;
    uint64_t last_seq = 0;
  };
  Recovered Recover();

  // Loop thread: writes `slot` (an EncodeRecord result) as the next sequence number and
  // publishes it. False, writing nothing, when every slot holds an uncommitted record.
  bool Append(const JournalSlot& slot);
  uint64_t free_slots() const { return slot_count_ - (published() - committed()); }

  uint64_t published() const { return published_.load(std::memory_order_acquire); }
  uint64_t committed() const { return committed_->load(std::memory_order_acquire); }
  uint32_t slot_count() const { return slot_count_; }

  // Writer thread: the records (committed, published], decoded (a slot whose checksum fails —
  // impossible without memory corruption — is skipped and logged).
  std::vector<InvocationRecord> Read(uint64_t after_seq, uint64_t through_seq) const;
  // Writer thread: every record <= seq is in SQLite.
  void MarkCommitted(uint64_t seq);

 private:
  Journal(int fd, unsigned char* base, size_t size, uint32_t slot_count);
  unsigned char* SlotAt(uint64_t seq) const;

  int fd_;
  unsigned char* base_;
  size_t size_;
  uint32_t slot_count_;
  std::atomic<uint64_t>* committed_;  // in the mapped header
  std::atomic<uint64_t> published_{0};
};

}  // namespace flint::scheduler::meter
