#include "sdk/encoding/base64.h"

#include <openssl/evp.h>

#include <cstdint>

namespace flint {
namespace {

// OpenSSL's block functions take an int length: work in chunks well below that, each a whole
// number of 3-byte groups (encoding) or 4-character groups (decoding).
constexpr size_t kEncodeChunk = 3u << 24;  // 48 MiB of bytes
constexpr size_t kDecodeChunk = 4u << 24;  // 64 MiB of characters

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');  // + the NUL EVP_EncodeBlock writes
  size_t written = 0;
  for (size_t pos = 0; pos < bytes.size(); pos += kEncodeChunk) {
    size_t n = std::min(kEncodeChunk, bytes.size() - pos);
    written += static_cast<size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data() + written),
        reinterpret_cast<const unsigned char*>(bytes.data() + pos), static_cast<int>(n)));
  }
  out.resize(written);
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return InvalidArgument("invalid base64: truncated input");
  // EVP_DecodeBlock would skip surrounding whitespace; this decoder is strict.
  for (char c : text) {
    if (!IsBase64Char(c)) return InvalidArgument("invalid base64: unexpected character");
  }
  size_t pad = (4 - text.size() % 4) % 4;
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t written = 0;
  std::string last;  // the final, padded group
  for (size_t pos = 0; pos < text.size(); pos += kDecodeChunk) {
    std::string_view chunk = text.substr(pos, kDecodeChunk);
    if (pos + chunk.size() == text.size() && pad > 0) {
      last = std::string(chunk) + std::string(pad, '=');
      chunk = last;
    }
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                            reinterpret_cast<const unsigned char*>(chunk.data()),
                            static_cast<int>(chunk.size()));
    if (n < 0) return InvalidArgument("invalid base64: unexpected character");
    written += static_cast<size_t>(n);
  }
  // EVP_DecodeBlock counts the bytes that padding stands for as zeros: drop them.
  out.resize(written - pad);
  return out;
}

}  // namespace flint
