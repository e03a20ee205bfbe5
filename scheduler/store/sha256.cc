#include "scheduler/store/sha256.h"

#include "scheduler/store/store.h"
#include "sdk/core/check.h"

namespace flint::scheduler {
namespace detail {

// OpenSSL fails these calls only on allocation failure or a broken build; neither is something
// a caller could handle, so they are checks rather than Statuses.
Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  FLINT_CHECK(ctx_ != nullptr);
  FLINT_CHECK(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::string_view bytes) {
  FLINT_CHECK(EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) == 1);
}

std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  FLINT_CHECK(EVP_DigestFinal_ex(ctx_, md, &size) == 1);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), size));
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace detail

std::string Sha256Hex(std::string_view bytes) {
  detail::Sha256 hasher;
  hasher.Update(bytes);
  return hasher.FinishHex();
}

bool IsSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace flint::scheduler
