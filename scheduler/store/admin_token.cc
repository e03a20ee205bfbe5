#include "scheduler/store/admin_token.h"

#include <sys/random.h>

#include <cerrno>

#include "scheduler/store/files.h"
#include "scheduler/store/sha256.h"

namespace flint::scheduler {
namespace {

constexpr size_t kTokenRandomBytes = 32;
constexpr size_t kMaxTokenFileBytes = 4096;

// Reads an existing token file. NotFound if it does not exist.
Result<std::string> ReadTokenFile(const std::string& path) {
  FLINT_ASSIGN_OR_RETURN(std::string text, detail::ReadOwnerOnlyFile(path, kMaxTokenFileBytes));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!IsWellFormedToken(text)) {
    return Status(Code::kIo, path +
                                 " does not hold a Flint token (flint_ and 64 hex characters); "
                                 "remove it to have a new one made");
  }
  return text;
}

// Creates the token file; another process's file made meanwhile is never replaced.
Result<std::string> CreateTokenFile(const std::string& data_dir, const std::string& path) {
  FLINT_ASSIGN_OR_RETURN(std::string token, NewToken());
  FLINT_RETURN_IF_ERROR(detail::CreateOwnerOnlyFile(data_dir, path, token + "\n"));
  return token;
}

}  // namespace

bool IsWellFormedToken(std::string_view token) {
  std::string_view prefix = kTokenPrefix;
  return token.size() == prefix.size() + 2 * kTokenRandomBytes && token.starts_with(prefix) &&
         IsSha256Hex(token.substr(prefix.size()));
}

Result<std::string> NewToken() {
  unsigned char random[kTokenRandomBytes];
  size_t filled = 0;
  while (filled < sizeof random) {
    ssize_t n = ::getrandom(random + filled, sizeof random - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("getrandom", errno);
    }
    filled += static_cast<size_t>(n);
  }
  return std::string(kTokenPrefix) +
         detail::HexEncode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

Result<std::string> EnsureAdminToken(const std::string& data_dir, Store& store) {
  FLINT_RETURN_IF_ERROR(detail::EnsureDir(data_dir, 0700));
  std::string path = data_dir + "/" + kAdminTokenFile;
  Result<std::string> token = ReadTokenFile(path);
  if (!token.ok() && token.status().code() == Code::kNotFound) {
    token = CreateTokenFile(data_dir, path);
  }
  if (!token.ok()) return token.status();
  // Recorded on every start: the file may exist from a run that crashed before recording it.
  FLINT_RETURN_IF_ERROR(store.PutTokenHash(kAdminTokenName, Sha256Hex(*token)));
  return token;
}

}  // namespace flint::scheduler
