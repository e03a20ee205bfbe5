// Incremental SHA-256, private to scheduler/store (wraps OpenSSL, which nothing outside this
// folder includes). The public one-shot form is Sha256Hex in store.h. Not thread-safe: one
// hasher per computation.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace flint::scheduler::detail {

class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  void Update(std::string_view bytes);
  // The lowercase hex digest of everything given to Update. Call once.
  std::string FinishHex();

 private:
  EVP_MD_CTX* ctx_;
};

// Lowercase hex of arbitrary bytes.
std::string HexEncode(std::string_view bytes);

}  // namespace flint::scheduler::detail
