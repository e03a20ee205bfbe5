#include "scheduler/meter/journal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace flint::scheduler::meter {
namespace {

constexpr char kMagic[8] = {'F', 'L', 'I', 'N', 'T', 'J', '0', '1'};
constexpr uint64_t kNoPeak = ~uint64_t{0};

// Payload offsets inside a slot (see the layout in journal.h).
constexpr size_t kSeq = 0, kChecksum = 8, kStart = 16, kDuration = 24, kE2e = 32, kCpu = 40,
                 kInit = 48, kPeak = 56, kVersion = 64, kMemory = 68, kTrigger = 72, kOutcome = 73,
                 kCold = 74, kIdLen = 75, kFnLen = 76, kId = 80, kIdMax = 40, kFn = 120,
                 kFnMax = 64;
static_assert(kFn + kFnMax <= kJournalSlotSize);

template <typename T>
void Put(unsigned char* p, size_t off, T v) {
  std::memcpy(p + off, &v, sizeof v);
}
template <typename T>
T Get(const unsigned char* p, size_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof v);
  return v;
}

// The checksum of bytes 16..255: a multiply-xor hash over 8-byte words. Every step is a
// bijection of the state, so any change to the bytes changes the 64-bit state, and the folded
// 32 bits collide with probability about 2^-32. It runs on the loop thread for every invocation:
// 30 word steps cost a fifth of the byte-wise FNV-1a that journals used before (see
// LegacyChecksumOf).
uint32_t ChecksumOf(const unsigned char* slot) {
  static_assert((kJournalSlotSize - kStart) % 8 == 0);
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (size_t off = kStart; off < kJournalSlotSize; off += 8) {
    h = (h ^ Get<uint64_t>(slot, off)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return static_cast<uint32_t>(h ^ (h >> 29));
}

// FNV-1a over the same bytes: the checksum of journals written by earlier flintd versions. The
// layout is unchanged, so Recover accepts a slot that matches either checksum, and a journal
// left by an older flintd is replayed after an upgrade. TODO(cleanup): drop once no node can
// hold such a journal.
uint32_t LegacyChecksumOf(const unsigned char* slot) {
  uint32_t h = 2166136261u;
  for (size_t i = kStart; i < kJournalSlotSize; ++i) h = (h ^ slot[i]) * 16777619u;
  return h;
}

std::atomic_ref<uint64_t> SeqOf(unsigned char* slot) {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(slot));
}

}  // namespace

void EncodeRecord(const InvocationRecord& r, JournalSlot* slot) {
  unsigned char* p = slot->bytes;
  std::memset(p, 0, kJournalSlotSize);
  Put<int64_t>(p, kStart, r.start_ms);
  Put<uint64_t>(p, kDuration, r.duration_us);
  Put<uint64_t>(p, kE2e, r.e2e_us);
  Put<uint64_t>(p, kCpu, r.cpu_us);
  Put<uint64_t>(p, kInit, r.init_us);
  Put<uint64_t>(p, kPeak, r.peak_memory_bytes ? *r.peak_memory_bytes : kNoPeak);
  Put<uint32_t>(p, kVersion, r.version);
  Put<uint32_t>(p, kMemory, r.memory_mb);
  p[kTrigger] = static_cast<unsigned char>(r.trigger);
  p[kOutcome] = static_cast<unsigned char>(r.outcome);
  p[kCold] = r.cold ? 1 : 0;
  size_t id_len = std::min(r.request_id.size(), kIdMax);
  size_t fn_len = std::min(r.function.size(), kFnMax);
  p[kIdLen] = static_cast<unsigned char>(id_len);
  p[kFnLen] = static_cast<unsigned char>(fn_len);
  std::memcpy(p + kId, r.request_id.data(), id_len);
  std::memcpy(p + kFn, r.function.data(), fn_len);
  Put<uint32_t>(p, kChecksum, ChecksumOf(p));
}

namespace {

std::optional<InvocationRecord> Decode(const JournalSlot& slot, bool accept_legacy) {
  const unsigned char* p = slot.bytes;
  uint32_t checksum = Get<uint32_t>(p, kChecksum);
  if (checksum != ChecksumOf(p) && !(accept_legacy && checksum == LegacyChecksumOf(p))) {
    return std::nullopt;
  }
  if (p[kIdLen] > kIdMax || p[kFnLen] > kFnMax || p[kTrigger] > 3 || p[kOutcome] > 5) {
    return std::nullopt;
  }
  InvocationRecord r;
  r.start_ms = Get<int64_t>(p, kStart);
  r.duration_us = Get<uint64_t>(p, kDuration);
  r.e2e_us = Get<uint64_t>(p, kE2e);
  r.cpu_us = Get<uint64_t>(p, kCpu);
  r.init_us = Get<uint64_t>(p, kInit);
  uint64_t peak = Get<uint64_t>(p, kPeak);
  if (peak != kNoPeak) r.peak_memory_bytes = peak;
  r.version = Get<uint32_t>(p, kVersion);
  r.memory_mb = Get<uint32_t>(p, kMemory);
  r.trigger = static_cast<Trigger>(p[kTrigger]);
  r.outcome = static_cast<Outcome>(p[kOutcome]);
  r.cold = p[kCold] != 0;
  r.request_id.assign(reinterpret_cast<const char*>(p + kId), p[kIdLen]);
  r.function.assign(reinterpret_cast<const char*>(p + kFn), p[kFnLen]);
  return r;
}

// The error for a journal that does not fit: what it needs, what is free, and what to do.
Status JournalNoSpace(const std::string& path, size_t size) {
  auto mib = [](uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / (1 << 20));
    return std::string(text);
  };
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  std::string free_text;
  struct statvfs fs;
  if (statvfs(dir.empty() ? "." : dir.c_str(), &fs) == 0) {
    free_text = " (" + mib(uint64_t{fs.f_bavail} * fs.f_frsize) + " MiB free)";
  }
  return Status(Code::kUnavailable,
                "not enough space for the ledger journal " + path + ": it needs " + mib(size) +
                    " MiB (" + std::to_string(size) +
                    " bytes) on the data directory's file "
                    "system" +
                    free_text + "; free some space or use a larger file system");
}

}  // namespace

std::optional<InvocationRecord> DecodeRecord(const JournalSlot& slot) {
  return Decode(slot, /*accept_legacy=*/false);
}

Journal::Journal(int fd, unsigned char* base, size_t size, uint32_t slot_count)
    : fd_(fd),
      base_(base),
      size_(size),
      slot_count_(slot_count),
      committed_(reinterpret_cast<std::atomic<uint64_t>*>(base + 16)) {}

Journal::~Journal() {
  munmap(base_, size_);
  close(fd_);
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, uint32_t slot_count) {
  FLINT_CHECK(slot_count > 0);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("opening the ledger journal " + path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus("reading the size of " + path, err);
  }
  bool fresh = st.st_size == 0;
  if (!fresh) {
    unsigned char header[24];
    if (pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
        std::memcmp(header, kMagic, 8) != 0 || Get<uint32_t>(header, 8) != kJournalSlotSize ||
        Get<uint32_t>(header, 12) == 0 ||
        static_cast<uint64_t>(st.st_size) !=
            kJournalHeaderSize + uint64_t{Get<uint32_t>(header, 12)} * kJournalSlotSize) {
      close(fd);
      return Status(Code::kIo, "the ledger journal " + path +
                                   " is damaged or from another version (move it away to start "
                                   "without it; records in it not yet in the ledger are lost)");
    }
    slot_count = Get<uint32_t>(header, 12);
  }
  size_t size = kJournalHeaderSize + size_t{slot_count} * kJournalSlotSize;
  // Every block of the file is allocated now: a store through the mapping into a hole the file
  // system cannot fill (disk full) would kill flintd with SIGBUS, on the loop thread, at any
  // time. An existing journal may be sparse (written by an older flintd, or copied), so this
  // runs for it too; blocks already allocated cost nothing.
  if (int err = posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
    if (fresh) (void)ftruncate(fd, 0);  // leave no half-allocated journal behind
    close(fd);
    if (err == ENOSPC || err == EDQUOT) return JournalNoSpace(path, size);
    return ErrnoStatus("allocating the ledger journal " + path, err);
  }
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (map == MAP_FAILED) {
    int err = errno;
    close(fd);
    return ErrnoStatus("mapping the ledger journal " + path, err);
  }
  auto* base = static_cast<unsigned char*>(map);
  if (fresh) {
    std::memcpy(base, kMagic, 8);
    Put<uint32_t>(base, 8, kJournalSlotSize);
    Put<uint32_t>(base, 12, slot_count);
    // The header reaches the disk before any record relies on it.
    if (msync(base, kJournalHeaderSize, MS_SYNC) != 0) {
      int err = errno;
      munmap(map, size);
      close(fd);
      return ErrnoStatus("writing the ledger journal " + path, err);
    }
  }
  // Dirty every page once so the loop's first appends do not allocate page-cache pages.
  for (size_t off = kJournalHeaderSize; off < size; off += 4096) {
    volatile unsigned char* page = base + off + 8;  // a checksum byte: harmless to rewrite
    *page = *page;
  }
  return std::unique_ptr<Journal>(new Journal(fd, base, size, slot_count));
}

unsigned char* Journal::SlotAt(uint64_t seq) const {
  return base_ + kJournalHeaderSize + ((seq - 1) % slot_count_) * kJournalSlotSize;
}

Journal::Recovered Journal::Recover() {
  Recovered out;
  uint64_t committed = this->committed();
  std::vector<std::pair<uint64_t, InvocationRecord>> found;
  for (uint32_t i = 0; i < slot_count_; ++i) {
    unsigned char* p = base_ + kJournalHeaderSize + size_t{i} * kJournalSlotSize;
    uint64_t seq = SeqOf(p).load(std::memory_order_acquire);
    out.last_seq = std::max(out.last_seq, seq);
    if (seq <= committed) continue;
    JournalSlot slot;
    std::memcpy(slot.bytes, p, kJournalSlotSize);
    auto record = Decode(slot, /*accept_legacy=*/true);
    // A torn slot: flintd died while writing it, before its response could be sent.
    if (!record) continue;
    found.emplace_back(seq, std::move(*record));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [seq, record] : found) out.records.push_back(std::move(record));
  out.last_seq = std::max(out.last_seq, committed);
  published_.store(out.last_seq, std::memory_order_release);
  return out;
}

bool Journal::Append(const JournalSlot& slot) {
  uint64_t seq = published_.load(std::memory_order_relaxed) + 1;
  if (seq - committed() > slot_count_) return false;
  unsigned char* p = SlotAt(seq);
  std::memcpy(p + kChecksum, slot.bytes + kChecksum, kJournalSlotSize - kChecksum);
  SeqOf(p).store(seq, std::memory_order_release);
  published_.store(seq, std::memory_order_seq_cst);
  return true;
}

std::vector<InvocationRecord> Journal::Read(uint64_t after_seq, uint64_t through_seq) const {
  std::vector<InvocationRecord> out;
  out.reserve(through_seq - after_seq);
  for (uint64_t seq = after_seq + 1; seq <= through_seq; ++seq) {
    unsigned char* p = SlotAt(seq);
    FLINT_CHECK(SeqOf(p).load(std::memory_order_acquire) == seq);
    JournalSlot slot;
    std::memcpy(slot.bytes, p, kJournalSlotSize);
    auto record = DecodeRecord(slot);
    if (!record) {
      spdlog::error("ledger journal: record {} is damaged; skipped", seq);
      continue;
    }
    out.push_back(std::move(*record));
  }
  return out;
}

void Journal::MarkCommitted(uint64_t seq) { committed_->store(seq, std::memory_order_release); }

}  // namespace flint::scheduler::meter
