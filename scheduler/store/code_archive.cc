#include "scheduler/store/code_archive.h"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "scheduler/store/files.h"

namespace flint::scheduler {
namespace {

constexpr size_t kBlock = 512;
// Pax and GNU long-name records are small; anything larger is not a name.
constexpr uint64_t kMaxMetaBytes = 64u << 10;

// A source of archive bytes: the tar stream, possibly inflated on the fly.
class Source {
 public:
  virtual ~Source() = default;
  // Up to `n` bytes into `out`; 0 at the end of the data.
  virtual Result<size_t> Read(char* out, size_t n) = 0;

  // Exactly `n` bytes, or `*at_end` when the data ended before the first byte; an end after
  // some bytes is an error.
  Status ReadExactly(char* out, size_t n, bool* at_end) {
    size_t got = 0;
    while (got < n) {
      Result<size_t> r = Read(out + got, n - got);
      if (!r.ok()) return r.status();
      if (*r == 0) {
        if (got == 0 && at_end != nullptr) {
          *at_end = true;
          return Status::Ok();
        }
        return InvalidArgument("the archive ends in the middle of an entry (truncated upload?)");
      }
      got += *r;
    }
    if (at_end != nullptr) *at_end = false;
    return Status::Ok();
  }
};

class PlainSource : public Source {
 public:
  explicit PlainSource(std::string_view bytes) : rest_(bytes) {}
  Result<size_t> Read(char* out, size_t n) override {
    n = std::min(n, rest_.size());
    std::memcpy(out, rest_.data(), n);
    rest_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view rest_;
};

class GzipSource : public Source {
 public:
  explicit GzipSource(std::string_view bytes) {
    std::memset(&z_, 0, sizeof(z_));
    // 16 + MAX_WBITS: gzip framing only.
    ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z_.avail_in = 0;
    rest_ = bytes;
  }
  ~GzipSource() override {
    if (ok_) inflateEnd(&z_);
  }

  Result<size_t> Read(char* out, size_t n) override {
    if (!ok_) return Internal("zlib: inflateInit2 failed");
    if (n == 0 || ended_) return size_t{0};
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, std::numeric_limits<uInt>::max()));
    while (z_.avail_out > 0) {
      if (z_.avail_in == 0 && !rest_.empty()) {
        size_t take = std::min<size_t>(rest_.size(), 1u << 30);
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(rest_.data()));
        z_.avail_in = static_cast<uInt>(take);
        rest_.remove_prefix(take);
      }
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members (gzip's own format allows them) continue the stream.
        if (z_.avail_in == 0 && rest_.empty()) {
          ended_ = true;
          break;
        }
        if (inflateReset(&z_) != Z_OK) return InvalidArgument("corrupt gzip data");
        continue;
      }
      if (rc == Z_BUF_ERROR && z_.avail_in == 0 && rest_.empty()) {
        return InvalidArgument("the gzip data ends early (truncated upload?)");
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return InvalidArgument(std::string("corrupt gzip data: ") +
                               (z_.msg != nullptr ? z_.msg : "inflate failed"));
      }
    }
    return n - z_.avail_out;
  }

 private:
  z_stream z_;
  bool ok_ = false;
  bool ended_ = false;
  std::string_view rest_;
};

// A NUL-terminated field of at most `size` bytes.
std::string Field(const char* block, size_t offset, size_t size) {
  const char* start = block + offset;
  return std::string(start, strnlen(start, size));
}

// A numeric header field: octal ASCII (spaces and NULs around it), or base-256 when the high
// bit of the first byte is set. False when malformed.
bool Number(const char* block, size_t offset, size_t size, uint64_t* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(block + offset);
  if ((p[0] & 0x80) != 0) {
    if ((p[0] & 0x40) != 0) return false;  // negative
    uint64_t v = p[0] & 0x3f;
    for (size_t i = 1; i < size; ++i) {
      if (v > (std::numeric_limits<uint64_t>::max() >> 8)) return false;
      v = (v << 8) | p[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < size && p[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < size && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v > (std::numeric_limits<uint64_t>::max() >> 3)) return false;
    v = (v << 3) | (p[i] - '0');
    any = true;
  }
  for (; i < size; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return false;
  }
  *out = any ? v : 0;
  return true;
}

bool ChecksumMatches(const char* block) {
  uint64_t stored = 0;
  if (!Number(block, 148, 8, &stored)) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  }
  return sum == stored;
}

bool IsZeroBlock(const char* block) {
  for (size_t i = 0; i < kBlock; ++i) {
    if (block[i] != 0) return false;
  }
  return true;
}

// Parses pax records "LEN key=value\n" for the keys Flint uses.
Status ParsePax(std::string_view records, std::string* path, std::string* size) {
  while (!records.empty()) {
    size_t space = records.find(' ');
    if (space == std::string_view::npos || space == 0) {
      return InvalidArgument("malformed pax header in the archive");
    }
    uint64_t len = 0;
    for (size_t i = 0; i < space; ++i) {
      if (records[i] < '0' || records[i] > '9' || len > records.size()) {
        return InvalidArgument("malformed pax header in the archive");
      }
      len = len * 10 + static_cast<uint64_t>(records[i] - '0');
    }
    if (len <= space + 1 || len > records.size() || records[len - 1] != '\n') {
      return InvalidArgument("malformed pax header in the archive");
    }
    std::string_view record = records.substr(space + 1, len - space - 2);
    size_t eq = record.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = record.substr(0, eq);
      std::string_view value = record.substr(eq + 1);
      if (key == "path") path->assign(value);
      if (key == "size") size->assign(value);
    }
    records.remove_prefix(len);
  }
  return Status::Ok();
}

std::string NormalizeName(std::string name) {
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

uint64_t Padded(uint64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

Status Skip(Source& source, uint64_t bytes) {
  char buf[kBlock * 8];
  while (bytes > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, sizeof(buf)));
    FLINT_RETURN_IF_ERROR(source.ReadExactly(buf, n, nullptr));
    bytes -= n;
  }
  return Status::Ok();
}

Status Extract(Source& source, CodeStaging& staging) {
  char block[kBlock];
  std::string long_name;  // from a GNU 'L' entry, for the next entry
  std::string pax_path;   // from a pax 'x' entry, for the next entry
  std::string pax_size;
  size_t entries = 0;
  for (;;) {
    bool at_end = false;
    FLINT_RETURN_IF_ERROR(source.ReadExactly(block, kBlock, &at_end));
    if (at_end || IsZeroBlock(block)) return Status::Ok();
    ++entries;
    // Directory and metadata entries do not count against the file limit; bound them anyway.
    if (entries > 4 * staging.file_count() + 4096) {
      return InvalidArgument("the archive has too many entries that are not files");
    }
    if (!ChecksumMatches(block)) {
      return InvalidArgument("the archive is not a tar file, or is corrupt (bad header checksum " +
                             std::string(entries == 1 ? "at its start" : "after an entry") + ")");
    }
    char type = block[156];
    uint64_t size = 0;
    if (!Number(block, 124, 12, &size)) return InvalidArgument("bad size in a tar header");
    if (type == 'x' || type == 'L' || type == 'g' || type == 'K') {
      if (size > kMaxMetaBytes) return InvalidArgument("a tar metadata entry is too large");
      std::string meta(size, '\0');
      FLINT_RETURN_IF_ERROR(source.ReadExactly(meta.data(), size, nullptr));
      FLINT_RETURN_IF_ERROR(Skip(source, Padded(size) - size));
      if (type == 'x') FLINT_RETURN_IF_ERROR(ParsePax(meta, &pax_path, &pax_size));
      if (type == 'L') long_name.assign(meta.c_str());  // up to the first NUL
      continue;
    }
    if (!pax_size.empty()) {
      uint64_t v = 0;
      for (char c : pax_size) {
        if (c < '0' || c > '9' || v > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
          return InvalidArgument("bad size in a pax header");
        }
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      size = v;
    }
    std::string name;
    if (!pax_path.empty()) {
      name = pax_path;
    } else if (!long_name.empty()) {
      name = long_name;
    } else {
      name = Field(block, 0, 100);
      std::string prefix = Field(block, 345, 155);
      if (std::memcmp(block + 257, "ustar\0", 6) == 0 && !prefix.empty()) {
        name = prefix + "/" + name;
      }
    }
    long_name.clear();
    pax_path.clear();
    pax_size.clear();
    name = NormalizeName(std::move(name));
    if (type == '5') {
      FLINT_RETURN_IF_ERROR(Skip(source, Padded(size)));
      continue;
    }
    bool link = type == '1' || type == '2';
    if (link && (name.rfind(".bin/", 0) == 0 || name.find("/.bin/") != std::string::npos)) {
      FLINT_RETURN_IF_ERROR(Skip(source, Padded(size)));  // npm's command shims: not code
      continue;
    }
    if (type != '0' && type != '\0' && type != '7') {
      const char* what = type == '1'   ? "a hard link"
                         : type == '2' ? "a symbolic link"
                                       : "not a regular file";
      return InvalidArgument("archive entry '" + detail::Printable(name) + "' is " + what +
                             ": upload the files themselves");
    }
    if (size > staging.store_limits().max_total_bytes - staging.total_bytes()) {
      return Status(Code::kPayloadTooLarge,
                    "function code is more than " +
                        std::to_string(staging.store_limits().max_total_bytes) +
                        " bytes unpacked, the limit (at '" + detail::Printable(name) + "')");
    }
    std::string content(size, '\0');
    FLINT_RETURN_IF_ERROR(source.ReadExactly(content.data(), size, nullptr));
    FLINT_RETURN_IF_ERROR(Skip(source, Padded(size) - size));
    FLINT_RETURN_IF_ERROR(staging.Add(name, content));
  }
}

}  // namespace

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Status ExtractArchive(std::string_view archive, CodeStaging& staging) {
  if (archive.empty()) return InvalidArgument("the code archive is empty");
  std::unique_ptr<Source> source;
  if (IsGzip(archive)) {
    source = std::make_unique<GzipSource>(archive);
  } else {
    source = std::make_unique<PlainSource>(archive);
  }
  return Extract(*source, staging);
}

}  // namespace flint::scheduler
