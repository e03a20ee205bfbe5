#include "scheduler/store/secret_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <chrono>
#include <mutex>

#include "scheduler/store/files.h"
#include "scheduler/store/sha256.h"
#include "scheduler/store/sqlite.h"

namespace flint::scheduler {
namespace {

using detail::Connection;

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

std::string Aad(const std::string& function, const std::string& name) {
  return function + std::string(1, '\0') + name;
}

Result<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  if (hex.size() % 2 != 0) return Status(Code::kInternal, "odd hex length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status(Code::kInternal, "bad hex");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// Reads the key file; NotFound when absent. Refuses a symlink, a non-file or loose permissions.
Result<std::string> ReadKeyFile(const std::string& path) {
  FLINT_ASSIGN_OR_RETURN(std::string text, detail::ReadOwnerOnlyFile(path, 1024));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  Result<std::string> key = HexDecode(text);
  if (!key.ok() || key->size() != kKeyBytes) {
    return Status(Code::kIo, path + " does not hold a 256-bit key in hex");
  }
  return key;
}

// Creates the key file; another process's file made meanwhile is never replaced.
Result<std::string> CreateKeyFile(const std::string& data_dir, const std::string& path) {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeyBytes) != 1) {
    return Status(Code::kInternal, "no random bytes for the secret key");
  }
  FLINT_RETURN_IF_ERROR(detail::CreateOwnerOnlyFile(data_dir, path, detail::HexEncode(key) + "\n"));
  return key;
}

// An EVP_CIPHER_CTX freed at scope exit.
struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<std::string> SealSecret(const std::string& key, const std::string& aad,
                               const std::string& plaintext) {
  if (key.size() != kKeyBytes) return Status(Code::kInternal, "the secret key is not 256 bits");
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes) != 1) {
    return Status(Code::kInternal, "no random bytes for a nonce");
  }
  CipherCtx c;
  std::string out = nonce + std::string(plaintext.size() + kTagBytes, '\0');
  auto* cipher = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  int len = 0, total = 0;
  bool ok =
      c.ctx != nullptr &&
      EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_EncryptInit_ex(c.ctx, nullptr, nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(c.ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(c.ctx, cipher, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(c.ctx, cipher + total, &len) == 1;
  total += len;
  ok = ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, cipher + total) == 1;
  if (!ok) return Status(Code::kInternal, "encrypting a secret failed");
  return out;
}

Result<std::string> OpenSecret(const std::string& key, const std::string& aad,
                               const std::string& sealed) {
  if (key.size() != kKeyBytes) return Status(Code::kInternal, "the secret key is not 256 bits");
  if (sealed.size() < kNonceBytes + kTagBytes) return Status(Code::kInternal, "truncated");
  std::string nonce = sealed.substr(0, kNonceBytes);
  size_t cipher_size = sealed.size() - kNonceBytes - kTagBytes;
  std::string tag = sealed.substr(sealed.size() - kTagBytes);
  std::string out(cipher_size, '\0');
  CipherCtx c;
  int len = 0;
  bool ok =
      c.ctx != nullptr &&
      EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(c.ctx, nullptr, nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(c.ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                        Bytes(sealed) + kNonceBytes, static_cast<int>(cipher_size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, const_cast<char*>(tag.data())) ==
          1;
  int final_len = 0;
  ok = ok && EVP_DecryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()) + len,
                                 &final_len) == 1;
  if (!ok) return Status(Code::kInternal, "does not decrypt with this node's secret key");
  return out;
}

struct SecretStore::Impl {
  std::mutex mu;
  std::unique_ptr<Connection> db;  // guarded by mu
  std::string key;
};

SecretStore::SecretStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SecretStore::~SecretStore() = default;

Result<std::unique_ptr<SecretStore>> SecretStore::Open(const std::string& data_dir,
                                                       const std::string& db_path) {
  auto impl = std::make_unique<Impl>();
  FLINT_RETURN_IF_ERROR(detail::EnsureDir(data_dir, 0700));
  std::string path = data_dir + "/" + kSecretKeyFile;
  Result<std::string> key = ReadKeyFile(path);
  if (!key.ok() && key.status().code() == Code::kNotFound) key = CreateKeyFile(data_dir, path);
  if (!key.ok()) return key.status();
  impl->key = std::move(key).value();
  auto db = Connection::Open(db_path);
  if (!db.ok()) return db.status();
  impl->db = std::move(db).value();
  auto probe = impl->db->Prepare("SELECT COUNT(*) FROM secrets", "open secrets");
  if (!probe.ok()) return probe.status();
  return std::unique_ptr<SecretStore>(new SecretStore(std::move(impl)));
}

Status SecretStore::Put(const std::string& function, const std::string& name,
                        const std::string& value) {
  if (!IsValidEnvName(name)) {
    return InvalidArgument("invalid secret name '" + detail::Printable(name) +
                           "': use letters, digits and '_', not starting with a digit");
  }
  if (value.empty() || value.size() > kMaxSecretBytes) {
    return InvalidArgument("a secret's value has 1 to " + std::to_string(kMaxSecretBytes) +
                           " bytes");
  }
  Result<std::string> sealed = SealSecret(impl_->key, Aad(function, name), value);
  if (!sealed.ok()) return sealed.status();
  std::lock_guard lock(impl_->mu);
  auto count = impl_->db->Prepare("SELECT COUNT(*) FROM secrets WHERE function = ?1 AND name <> ?2",
                                  "count secrets");
  if (!count.ok()) return count.status();
  count->Bind(1, function).Bind(2, name);
  auto row = count->Step();
  if (!row.ok()) return row.status();
  if (*row && static_cast<size_t>(count->Int(0)) >= kMaxSecretsPerFunction) {
    return InvalidArgument("a function has at most " + std::to_string(kMaxSecretsPerFunction) +
                           " secrets");
  }
  // Setting a secret again replaces its value: that is the command's meaning, not an accident.
  auto stmt = impl_->db->Prepare(
      "INSERT INTO secrets (function, name, sealed, updated_ms) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (function, name) DO UPDATE SET sealed = excluded.sealed, "
      "updated_ms = excluded.updated_ms",
      "put secret");
  if (!stmt.ok()) return stmt.status();
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  stmt->Bind(1, function).Bind(2, name).Bind(3, detail::HexEncode(*sealed)).Bind(4, now_ms);
  return stmt->Run();
}

Result<bool> SecretStore::Delete(const std::string& function, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto stmt =
      impl_->db->Prepare("DELETE FROM secrets WHERE function = ?1 AND name = ?2", "delete secret");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, function).Bind(2, name);
  FLINT_RETURN_IF_ERROR(stmt->Run());
  return impl_->db->changes() > 0;
}

Status SecretStore::DeleteAll(const std::string& function) {
  std::lock_guard lock(impl_->mu);
  auto stmt = impl_->db->Prepare("DELETE FROM secrets WHERE function = ?1", "delete secrets");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, function);
  return stmt->Run();
}

Result<std::vector<std::string>> SecretStore::Names(const std::string& function) {
  std::lock_guard lock(impl_->mu);
  auto stmt = impl_->db->Prepare("SELECT name FROM secrets WHERE function = ?1 ORDER BY name",
                                 "list secrets");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, function);
  std::vector<std::string> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(stmt->Text(0));
  }
  return out;
}

Result<std::vector<EnvVar>> SecretStore::Values(const std::string& function) {
  std::vector<std::pair<std::string, std::string>> rows;
  {
    std::lock_guard lock(impl_->mu);
    auto stmt = impl_->db->Prepare(
        "SELECT name, sealed FROM secrets WHERE function = ?1 ORDER BY name", "read secrets");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, function);
    while (true) {
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.emplace_back(stmt->Text(0), stmt->Text(1));
    }
  }
  std::vector<EnvVar> out;
  for (auto& [name, hex] : rows) {
    Result<std::string> sealed = HexDecode(hex);
    Result<std::string> value = sealed.ok() ? OpenSecret(impl_->key, Aad(function, name), *sealed)
                                            : Result<std::string>(sealed.status());
    if (!value.ok()) {
      return Status(Code::kInternal,
                    "secret " + name + " of " + function + ": " + value.status().message());
    }
    out.emplace_back(name, std::move(value).value());
  }
  return out;
}

}  // namespace flint::scheduler
