// SecretStore: functions' secrets (`flint secret set NAME KEY`), encrypted at rest.
//
// Each value is sealed with AES-256-GCM under the node's secret key, a fresh 96-bit random nonce
// per value and the function and key names as additional data (so a sealed value cannot be
// moved to another function or key), and stored in the `secrets` table of the store's database
// as hex text. The key is <data_dir>/secrets.key: 32 random bytes in hex, created on first use
// with mode 0600 (written to a temp file and linked, like the admin token), refused when other
// users may read it. Losing the key loses the secrets, not the functions: the database alone
// never reveals a value.
//
// Secrets are per function, not per version: a function's workers get every secret it has when
// they load, as environment variables (after the configuration's own env, which they override).
// Values never appear in the versions table, in API answers or in flintd's log.
//
// Thread-safe (one connection behind a mutex). Every call does disk I/O: never on the event loop.
// Open only after Store::Open applied the migrations.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "scheduler/store/function_version.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

inline constexpr const char* kSecretKeyFile = "secrets.key";
inline constexpr size_t kMaxSecretBytes = 4096;  // one value, as Lambda's whole env
inline constexpr size_t kMaxSecretsPerFunction = 64;

class SecretStore {
 public:
  // Opens the database at `db_path`; reads or creates <data_dir>/secrets.key.
  static Result<std::unique_ptr<SecretStore>> Open(const std::string& data_dir,
                                                   const std::string& db_path);
  ~SecretStore();
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;

  // Sets (or replaces: that is what setting a secret means) `name` of `function`. The name is an
  // environment variable name; the value 1..kMaxSecretBytes bytes.
  Status Put(const std::string& function, const std::string& name, const std::string& value);
  // False when there was no such secret.
  Result<bool> Delete(const std::string& function, const std::string& name);
  // Deletes every secret of `function` (when the function is deleted).
  Status DeleteAll(const std::string& function);
  // The names of `function`'s secrets, sorted.
  Result<std::vector<std::string>> Names(const std::string& function);
  // The decrypted secrets of `function`, sorted by name. Internal error when one fails to
  // decrypt (a changed key file or a damaged row), naming the secret but not its value.
  Result<std::vector<EnvVar>> Values(const std::string& function);

 private:
  struct Impl;
  explicit SecretStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Seals and opens one value (exposed for tests). `key` is 32 bytes; `aad` the additional data.
Result<std::string> SealSecret(const std::string& key, const std::string& aad,
                               const std::string& plaintext);
Result<std::string> OpenSecret(const std::string& key, const std::string& aad,
                               const std::string& sealed);

}  // namespace flint::scheduler
