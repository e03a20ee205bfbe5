// PayloadWriter and PayloadReader: the field encoding used by every message payload
// (little-endian integers, uint32-length-prefixed strings). Internal to sdk/protocol.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flint::protocol::detail {

class PayloadWriter {
 public:
  void U8(uint8_t v) { Int(v, 1); }
  void U16(uint16_t v) { Int(v, 2); }
  void U32(uint32_t v) { Int(v, 4); }
  void U64(uint64_t v) { Int(v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Int(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// Reads fields in order; once a read runs past the end, ok() is false and every later read
// yields zero or empty.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(Int(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Int(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Int(4)); }
  uint64_t U64() { return Int(8); }
  std::string Str() {
    uint32_t n = U32();
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A list count, rejected when even `min_item_size`-byte items could not fit in what is left.
  uint32_t Count(size_t min_item_size) {
    uint32_t n = U32();
    if (ok_ && min_item_size > 0 && n > (in_.size() - pos_) / min_item_size) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  uint64_t Int(int width) {
    if (!ok_ || in_.size() - pos_ < static_cast<size_t>(width)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += width;
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace flint::protocol::detail
