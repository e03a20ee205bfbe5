// Invocation ids: the key of every ledger record and the X-Flint-Request-Id of every response.
//
// They are time-ordered UUIDs (version 7, RFC 9562): 48 bits of Unix milliseconds, then 74
// random bits. The ledger's table is keyed by the id (a B-tree without rowid, so that a replayed
// record is ignored rather than billed twice); ids that grow with time are inserted at the
// right edge of that tree, so a batch touches a handful of pages instead of one random page per
// record, which is what lets the ledger keep up with the event loop (tools/bench/ledger.py: about
// four times the insert rate of random version-4 UUIDs). Not secrets: the random bits come from
// a fast generator seeded once from the kernel.
//
// Thread-compatible: NewInvocationId keeps a per-thread generator.
#pragma once

#include <cstdint>
#include <string>

namespace flint::scheduler::meter {

// "0190b6a2-7c3e-7a1b-9c2d-3e4f5a6b7c8d": `unix_ms` in the first 48 bits, version 7, the RFC
// 9562 variant, the rest from `rand_a` and `rand_b`. Ids of later milliseconds sort after
// earlier ones, as strings too.
std::string InvocationId(int64_t unix_ms, uint64_t rand_a, uint64_t rand_b);

// An id for an invocation starting now.
std::string NewInvocationId();

}  // namespace flint::scheduler::meter
