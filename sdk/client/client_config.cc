#include "sdk/client/client_config.h"

#include <cstdlib>
#include <fstream>
#include <optional>

namespace flint::client {
namespace {

const char* NonEmpty(const GetEnv& getenv, const char* name) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// The whole file, or nullopt when it cannot be read. Small files only.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    out.append(buffer, static_cast<size_t>(in.gcount()));
    if (out.size() > 64 * 1024) break;
  }
  return out;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string DefaultDataDir(const GetEnv& getenv) {
  if (const char* dir = NonEmpty(getenv, "FLINT_DATA_DIR")) return dir;
  if (const char* xdg = NonEmpty(getenv, "XDG_DATA_HOME")) return std::string(xdg) + "/flint";
  if (const char* home = NonEmpty(getenv, "HOME")) return std::string(home) + "/.local/share/flint";
  return "";
}

Result<ClientConfig> ResolveClientConfig(const GetEnv& getenv) {
  ClientConfig config;
  config.data_dir = DefaultDataDir(getenv);
  std::string url_text;
  if (const char* url = NonEmpty(getenv, "FLINT_URL")) {
    url_text = url;
    config.url_source = "FLINT_URL";
  } else if (!config.data_dir.empty()) {
    std::string path = config.data_dir + "/flintd.url";
    if (auto text = ReadSmallFile(path)) {
      url_text = Trim(*text);
      config.url_source = path;
    }
  }
  if (url_text.empty()) {
    url_text = kDefaultUrl;
    config.url_source = "default";
  }
  Result<HttpUrl> url = ParseHttpUrl(url_text);
  if (!url.ok()) {
    return InvalidArgument(url.status().message() + " (from " + config.url_source + ")");
  }
  config.url = std::move(url).value();

  if (const char* token = NonEmpty(getenv, "FLINT_TOKEN")) {
    config.token = Trim(token);
    config.token_source = "FLINT_TOKEN";
  } else if (!config.data_dir.empty()) {
    std::string path = config.data_dir + "/admin.token";
    if (auto text = ReadSmallFile(path)) {
      config.token = Trim(*text);
      if (!config.token.empty()) config.token_source = path;
    }
  }
  return config;
}

Result<ClientConfig> ResolveClientConfig() {
  return ResolveClientConfig([](const char* name) { return std::getenv(name); });
}

}  // namespace flint::client
