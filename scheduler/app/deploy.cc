#include "scheduler/app/deploy.h"

#include <nlohmann/json.hpp>

#include "sdk/core/base64.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

// The parsed deploy request: config and files, before anything is stored.
struct DeployRequest {
  std::string runtime = "js";
  std::string entry;
  std::vector<CodeFile> files;
  FunctionConfig config;
};

// Parses the deploy body. Runs on the thread pool: it can be tens of megabytes.
Result<DeployRequest> ParseDeploy(const std::string& body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("the deploy body must be a JSON object");
  }
  DeployRequest out;
  try {
    if (doc.contains("runtime")) out.runtime = doc.at("runtime").get<std::string>();
    if (out.runtime != "js") {
      return InvalidArgument("unsupported runtime '" + out.runtime + "' (supported: js)");
    }
    if (!doc.contains("files") || !doc.at("files").is_object() || doc.at("files").empty()) {
      return InvalidArgument("'files' must be an object of path -> base64 content, not empty");
    }
    for (auto& [path, content] : doc.at("files").items()) {
      if (!content.is_string()) {
        return InvalidArgument("file '" + path + "': content must be a base64 string");
      }
      auto bytes = Base64Decode(content.get_ref<const std::string&>());
      if (!bytes.ok()) return InvalidArgument("file '" + path + "': " + bytes.status().message());
      out.files.emplace_back(path, std::move(bytes).value());
    }
    if (doc.contains("entry")) {
      out.entry = doc.at("entry").get<std::string>();
    } else if (out.files.size() == 1) {
      out.entry = out.files[0].first;
    } else {
      return InvalidArgument("'entry' is required when uploading several files");
    }
    bool entry_found = false;
    for (const auto& f : out.files) entry_found |= f.first == out.entry;
    if (!entry_found) return InvalidArgument("entry '" + out.entry + "' is not among the files");
    auto& c = out.config;
    if (doc.contains("memory_mb")) c.memory_mb = doc.at("memory_mb").get<uint32_t>();
    if (doc.contains("timeout_ms")) c.timeout_ms = doc.at("timeout_ms").get<uint32_t>();
    if (doc.contains("keep_alive_ms")) c.keep_alive_ms = doc.at("keep_alive_ms").get<uint64_t>();
    if (doc.contains("max_instances")) c.max_instances = doc.at("max_instances").get<uint32_t>();
    if (doc.contains("concurrency")) c.concurrency = doc.at("concurrency").get<uint32_t>();
    if (doc.contains("env")) {
      if (!doc.at("env").is_object()) return InvalidArgument("'env' must be an object");
      for (auto& [k, v] : doc.at("env").items()) {
        if (!v.is_string()) return InvalidArgument("env '" + k + "' must be a string");
        c.env.emplace_back(k, v.get<std::string>());
      }
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("invalid deploy request: ") + e.what());
  }
  FLINT_RETURN_IF_ERROR(ValidateFunctionConfig(out.config));
  return out;
}

}  // namespace

Result<PreparedDeploy> PrepareDeploy(const std::string& body, const CodeStore& code,
                                     const std::string& data_dir) {
  (void)data_dir;
  auto parsed = ParseDeploy(body);
  if (!parsed.ok()) return parsed.status();
  PreparedDeploy out;
  out.runtime = parsed->runtime;
  out.entry = parsed->entry;
  out.config = parsed->config;
  out.file_count = parsed->files.size();
  auto digest = code.Put(std::move(parsed->files));
  if (!digest.ok()) return digest.status();
  out.code_digest = *digest;
  return out;
}

}  // namespace flint::scheduler
