#include "tools/cli/deploy_archive.h"

#include <zlib.h>

#include <cstring>

namespace flint::cli {
namespace {

constexpr size_t kBlock = 512;
// Fast compression: on a local deploy the time to compress dominates the time to send, and
// level 1 still shrinks JavaScript about fourfold.
constexpr int kLevel = Z_BEST_SPEED;

// Writes `value` as a NUL-terminated octal number filling `width` bytes.
void Octal(char* field, size_t width, uint64_t value) {
  std::string digits(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && value > 0;) {
    digits[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

std::string Header(const std::string& name, const std::string& prefix, uint64_t size, char type) {
  std::string block(kBlock, '\0');
  std::memcpy(block.data(), name.data(), std::min<size_t>(name.size(), 100));
  Octal(&block[100], 8, 0644);
  Octal(&block[108], 8, 0);
  Octal(&block[116], 8, 0);
  if (size < (1ull << 33)) {
    Octal(&block[124], 12, size);
  } else {  // base-256 for 8 GiB and more
    block[124] = static_cast<char>(0x80);
    for (int i = 11; i >= 1; --i) {
      block[124 + i] = static_cast<char>(size & 0xff);
      size >>= 8;
    }
  }
  Octal(&block[136], 12, 0);
  block[156] = type;
  std::memcpy(&block[257],
              "ustar\0"
              "00",
              8);
  std::memcpy(&block[345], prefix.data(), std::min<size_t>(prefix.size(), 155));
  std::memset(&block[148], ' ', 8);
  uint64_t sum = 0;
  for (char c : block) sum += static_cast<unsigned char>(c);
  Octal(&block[148], 7, sum);
  block[155] = ' ';
  return block;
}

// A pax record "LEN path=VALUE\n", where LEN counts the whole record including itself.
std::string PaxRecord(const std::string& key, const std::string& value) {
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) ++len;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

// The header block(s) of a regular file named `path`.
std::string FileHeaders(const std::string& path, uint64_t size) {
  if (path.size() <= 100) return Header(path, "", size, '0');
  // Split at a '/' so that the prefix fits 155 bytes and the name 100.
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (slash <= 155 && path.size() - slash - 1 <= 100 && path.size() - slash - 1 > 0) {
      return Header(path.substr(slash + 1), path.substr(0, slash), size, '0');
    }
  }
  std::string record = PaxRecord("path", path);
  std::string out = Header("PaxHeader", "", record.size(), 'x');
  out += record;
  out.append((kBlock - record.size() % kBlock) % kBlock, '\0');
  out += Header(path.substr(path.size() - std::min<size_t>(path.size(), 99)), "", size, '0');
  return out;
}

std::string Padding(uint64_t size) { return std::string((kBlock - size % kBlock) % kBlock, '\0'); }

class Deflater {
 public:
  Deflater() {
    std::memset(&z_, 0, sizeof(z_));
    ok_ = deflateInit2(&z_, kLevel, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflater() {
    if (ok_) deflateEnd(&z_);
  }
  bool ok() const { return ok_; }
  void Add(std::string_view bytes, bool finish = false) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z_.avail_in = static_cast<uInt>(bytes.size());
    char buf[1 << 16];
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof(buf);
      int rc = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
      out_.append(buf, sizeof(buf) - z_.avail_out);
      if (finish ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) break;
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  z_stream z_;
  bool ok_ = false;
  std::string out_;
};

}  // namespace

Result<std::string> PackDeployArchive(const DeployPackage& package, const PackProgress& progress) {
  Deflater deflater;
  if (!deflater.ok()) return Internal("zlib: deflateInit2 failed");
  uint64_t packed = 0;
  for (const auto& [path, file] : package.files) {
    Result<std::string> bytes = ReadDeployFile(file);
    if (!bytes.ok()) return bytes.status();
    deflater.Add(FileHeaders(path, bytes->size()));
    // Large files go in slices: zlib's avail_in is 32 bits.
    for (size_t at = 0; at < bytes->size(); at += 1u << 30) {
      deflater.Add(std::string_view(*bytes).substr(at, 1u << 30));
    }
    deflater.Add(Padding(bytes->size()));
    packed += file.size;
    if (progress) progress(packed, package.total_bytes);
  }
  deflater.Add(std::string(2 * kBlock, '\0'), /*finish=*/true);
  return deflater.Take();
}

std::string TarOf(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [path, bytes] : files) {
    out += FileHeaders(path, bytes.size());
    out += bytes;
    out += Padding(bytes.size());
  }
  out.append(2 * kBlock, '\0');
  return out;
}

}  // namespace flint::cli
