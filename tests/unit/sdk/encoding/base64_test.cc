// Base64 on OpenSSL's codec: round trips, padding, strictness.
#include "sdk/encoding/base64.h"

#include <catch2/catch.hpp>

using namespace flint;

TEST_CASE("Base64 round-trips every length and rejects bad characters", "[base64]") {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    auto back = Base64Decode(Base64Encode(bytes));
    REQUIRE(back.ok());
    CHECK(*back == bytes);
    bytes += static_cast<char>(n * 37);
  }
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("hello") == "aGVsbG8=");
  CHECK(Base64Encode("hell") == "aGVsbA==");
  CHECK(Base64Decode("aGVsbG8").value() == "hello");
  CHECK(Base64Decode("aGVsbA").value() == "hell");
  CHECK(Base64Decode("").value().empty());
  CHECK_FALSE(Base64Decode("aGV*bG8=").ok());
  CHECK_FALSE(Base64Decode(" aGVsbG8=").ok());
  CHECK_FALSE(Base64Decode("aGVs\nbG8=").ok());
  CHECK_FALSE(Base64Decode("a").ok());
}

TEST_CASE("Base64 keeps a megabyte of binary intact", "[base64]") {
  std::string bytes(1 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) ^ (i >> 7));
  std::string text = Base64Encode(bytes);
  CHECK(text.size() == (bytes.size() + 2) / 3 * 4);
  CHECK(Base64Decode(text).value() == bytes);
}
