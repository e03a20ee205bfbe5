#include "scheduler/app/api_requests.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "sdk/core/text.h"
#include "sdk/encoding/base64.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

// The body as a JSON object, or discarded.
json ParseObject(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return json(json::value_t::discarded);
  return doc;
}

// Sets *out to doc[key] when present. nlohmann's get<T>() would wrap a negative number around
// and convert a float beyond T's range with undefined behaviour: only a whole number within T's
// range passes.
template <typename T>
Status GetWholeNumber(const json& doc, const char* key, T* out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::Ok();
  const json& value = *it;
  constexpr auto kMin = std::numeric_limits<T>::min();
  constexpr auto kMax = std::numeric_limits<T>::max();
  bool ok = false;
  if (value.is_number_unsigned()) {
    auto v = value.get<uint64_t>();
    ok = v <= static_cast<uint64_t>(kMax);
    if (ok) *out = static_cast<T>(v);
  } else if (value.is_number_integer()) {
    auto v = value.get<int64_t>();
    ok = v >= static_cast<int64_t>(kMin) && (v < 0 || static_cast<uint64_t>(v) <= kMax);
    if (ok) *out = static_cast<T>(v);
  } else if (value.is_number_float()) {
    double v = value.get<double>();
    // kMin is 0 or a power of two and kMax + 1 a power of two: both exact as doubles.
    ok =
        std::trunc(v) == v && v >= static_cast<double>(kMin) && v < static_cast<double>(kMax) + 1.0;
    if (ok) *out = static_cast<T>(v);
  }
  if (ok) return Status::Ok();
  return InvalidArgument(std::string(key) + " must be a whole number between " +
                         std::to_string(kMin) + " and " + std::to_string(kMax) + ", got " +
                         value.dump(-1, ' ', false, json::error_handler_t::replace));
}

// The "runtime" of a deploy document (absent: left unset, to be inferred). "js" names the
// default JavaScript runtime, Node.js. May throw json::exception.
Status GetRuntime(const json& doc, std::optional<Runtime>* out) {
  if (!doc.contains("runtime")) return Status::Ok();
  std::string name = doc.at("runtime").get<std::string>();
  *out = ParseRuntimeOrAlias(name);
  if (!*out) {
    return InvalidArgument("unsupported runtime '" + name + "' (supported: " + RuntimeNames(", ") +
                           "; js is node)");
  }
  return Status::Ok();
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of parameter `name` (lower-case) in a header value such as
// `form-data; name="code"` or `multipart/form-data; boundary=xyz` ("" when absent).
std::string HeaderParam(std::string_view value, std::string_view name) {
  size_t pos = 0;
  while ((pos = value.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    size_t eq = value.find('=', pos);
    if (eq == std::string_view::npos) break;
    if (Lower(value.substr(pos, eq - pos)) != name) continue;
    std::string_view rest = value.substr(eq + 1);
    if (!rest.empty() && rest.front() == '"') {
      size_t close = rest.find('"', 1);
      return std::string(
          rest.substr(1, close == std::string_view::npos ? rest.size() - 1 : close - 1));
    }
    size_t end = rest.find(';');
    std::string_view v = rest.substr(0, end);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return std::string(v);
  }
  return "";
}

// The parts of a multipart/form-data body (RFC 7578) by their form names. The views point into
// `body`.
Result<std::map<std::string, std::string_view>> ParseMultipart(std::string_view body,
                                                               std::string_view content_type) {
  std::string boundary = HeaderParam(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return InvalidArgument("a multipart deploy needs a boundary in its content-type");
  }
  const std::string delimiter = "--" + boundary;
  const std::string next_delimiter = "\r\n" + delimiter;
  auto malformed = [](const std::string& why) {
    return InvalidArgument("malformed multipart upload: " + why);
  };
  size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = 0;
  } else {
    pos = body.find(next_delimiter);
    if (pos == std::string_view::npos) return malformed("no boundary line");
    pos += 2;
  }
  std::map<std::string, std::string_view> parts;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // the closing boundary
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") return malformed("no line break after a boundary");
    pos += 2;
    std::string name;
    // Part headers, up to an empty line.
    for (;;) {
      size_t eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos) return malformed("a part's headers do not end");
      std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon != std::string_view::npos &&
          Lower(line.substr(0, colon)) == "content-disposition") {
        name = HeaderParam(line.substr(colon + 1), "name");
      }
    }
    size_t end = body.find(next_delimiter, pos);
    if (end == std::string_view::npos) return malformed("the upload ends before its last boundary");
    if (name.empty()) return malformed("a part has no name (content-disposition)");
    if (!parts.emplace(name, body.substr(pos, end - pos)).second) {
      return malformed("part '" + name + "' is given twice");
    }
    pos = end + 2;
  }
  return parts;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Runtime InferRuntime(std::string_view entry) {
  for (std::string_view suffix : {".cc", ".cpp", ".cxx", ".c++", ".so"}) {
    if (EndsWith(entry, suffix)) return Runtime::kCpp;
  }
  return Runtime::kNode;
}

std::string DefaultNodeEntry(std::string_view package_json,
                             const std::function<bool(const std::string&)>& has_file) {
  json pkg = json::parse(package_json, nullptr, /*allow_exceptions=*/false);
  if (pkg.is_object() && pkg.contains("main") && pkg.at("main").is_string()) {
    std::string main = pkg.at("main").get<std::string>();
    while (main.rfind("./", 0) == 0) main.erase(0, 2);
    for (const std::string& candidate : {main, main + ".js", main + ".mjs", main + ".cjs"}) {
      if (!main.empty() && has_file(candidate)) return candidate;
    }
  }
  return "index.handler";
}

namespace {

template <typename T>
Status GetWholeNumber(const json& doc, const char* key, std::optional<T>* out) {
  if (!doc.contains(key)) return Status::Ok();
  T value{};
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, key, &value));
  *out = value;
  return Status::Ok();
}

// The settings of a deploy or configuration body. Throws json::exception on a wrong type; the
// caller turns it into InvalidArgument.
Result<ConfigPatch> ReadPatch(const json& doc) {
  ConfigPatch c;
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "memory_mb", &c.memory_mb));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "timeout_ms", &c.timeout_ms));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "keep_alive_ms", &c.keep_alive_ms));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "max_instances", &c.max_instances));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "concurrency", &c.concurrency));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "min_instances", &c.min_instances));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "reserved_concurrency", &c.reserved_concurrency));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "max_retries", &c.max_retries));
  FLINT_RETURN_IF_ERROR(GetWholeNumber(doc, "max_event_age_ms", &c.max_event_age_ms));
  if (doc.contains("keep_alive_policy")) {
    c.keep_alive_policy = doc.at("keep_alive_policy").get<std::string>();
  }
  if (doc.contains("network")) c.network = doc.at("network").get<std::string>();
  if (doc.contains("private")) {
    if (!doc.at("private").is_boolean()) return InvalidArgument("'private' must be true or false");
    c.is_private = doc.at("private").get<bool>();
  }
  if (doc.contains("cpu")) {
    // A number of CPUs (0.5, 2); 0 or null: no hard quota.
    const json& cpu = doc.at("cpu");
    double cpus = cpu.is_null() ? 0 : cpu.is_number() ? cpu.get<double>() : -1;
    if (!(cpus >= 0 && cpus <= 1e6)) {
      return InvalidArgument("'cpu' must be a number of CPUs, e.g. 0.5 or 2");
    }
    c.cpu_millis = static_cast<uint32_t>(std::llround(cpus * 1000));
    if (cpus > 0 && *c.cpu_millis == 0) c.cpu_millis = 1;  // too small: refused by validation
  }
  auto env_object = [&](const char* key, std::vector<EnvVar>& out) -> Status {
    if (!doc.at(key).is_object()) {
      return InvalidArgument(std::string("'") + key + "' must be an object");
    }
    for (auto& [k, v] : doc.at(key).items()) {
      if (!v.is_string()) return InvalidArgument("env '" + k + "' must be a string");
      out.emplace_back(k, v.get<std::string>());
    }
    return Status::Ok();
  };
  if (doc.contains("env")) {
    c.env.emplace();
    FLINT_RETURN_IF_ERROR(env_object("env", *c.env));
  }
  if (doc.contains("env_set")) FLINT_RETURN_IF_ERROR(env_object("env_set", c.env_set));
  if (doc.contains("env_unset")) {
    if (!doc.at("env_unset").is_array()) return InvalidArgument("'env_unset' must be an array");
    for (const auto& name : doc.at("env_unset")) c.env_unset.push_back(name.get<std::string>());
  }
  return c;
}

}  // namespace

Result<FunctionConfig> ApplyConfigPatch(FunctionConfig c, const ConfigPatch& patch) {
  auto take = [](auto& to, const auto& from) {
    if (from) to = *from;
  };
  take(c.memory_mb, patch.memory_mb);
  take(c.timeout_ms, patch.timeout_ms);
  take(c.keep_alive_ms, patch.keep_alive_ms);
  take(c.max_instances, patch.max_instances);
  take(c.concurrency, patch.concurrency);
  take(c.min_instances, patch.min_instances);
  take(c.reserved_concurrency, patch.reserved_concurrency);
  take(c.keep_alive_policy, patch.keep_alive_policy);
  take(c.network, patch.network);
  take(c.cpu_millis, patch.cpu_millis);
  take(c.max_retries, patch.max_retries);
  take(c.max_event_age_ms, patch.max_event_age_ms);
  take(c.is_private, patch.is_private);
  if (patch.env) c.env = *patch.env;
  for (const EnvVar& set : patch.env_set) {
    auto it = std::find_if(c.env.begin(), c.env.end(),
                           [&](const EnvVar& e) { return e.first == set.first; });
    if (it != c.env.end()) {
      it->second = set.second;
    } else {
      c.env.push_back(set);
    }
  }
  for (const std::string& name : patch.env_unset) {
    std::erase_if(c.env, [&](const EnvVar& e) { return e.first == name; });
  }
  FLINT_RETURN_IF_ERROR(ValidateFunctionConfig(c));
  return c;
}

Result<ConfigPatch> ParseConfigPatch(std::string_view body) {
  json doc = ParseObject(body);
  if (doc.is_discarded()) return InvalidArgument("the body must be a JSON object of settings");
  for (const char* code_key : {"files", "entry", "runtime"}) {
    if (doc.contains(code_key)) {
      return InvalidArgument(std::string("'") + code_key +
                             "' is code: deploy it with PUT /v1/functions/NAME");
    }
  }
  try {
    return ReadPatch(doc);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("invalid settings: ") + e.what());
  }
}

Result<DeployRequest> ParseDeployRequest(std::string_view body) {
  json doc = ParseObject(body);
  if (doc.is_discarded()) return InvalidArgument("the deploy body must be a JSON object");
  DeployRequest out;
  std::optional<Runtime> runtime;  // unset until given or inferred
  try {
    FLINT_RETURN_IF_ERROR(GetRuntime(doc, &runtime));
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
    }
    out.runtime = runtime ? *runtime : InferRuntime(out.entry);
    auto has_file = [&out](const std::string& path) {
      for (const auto& f : out.files) {
        if (f.first == path) return true;
      }
      return false;
    };
    if (out.entry.empty() && out.runtime == Runtime::kNode) {
      std::string_view package_json;
      for (const auto& [path, content] : out.files) {
        if (path == "package.json") package_json = content;
      }
      out.entry = DefaultNodeEntry(package_json, has_file);
    }
    if (out.entry.empty()) {
      return InvalidArgument("'entry' is required when uploading several files");
    }
    // A Node.js entry may also name a handler as Lambda does ("index.handler"): the worker
    // that checks the deploy resolves it, and says which file is missing.
    if (!has_file(out.entry) && out.runtime != Runtime::kNode) {
      return InvalidArgument("entry '" + out.entry + "' is not among the files");
    }
    FLINT_ASSIGN_OR_RETURN(out.patch, ReadPatch(doc));
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("invalid deploy request: ") + e.what());
  }
  return out;
}

bool IsMultipartFormData(std::string_view content_type) {
  constexpr std::string_view kType = "multipart/form-data";
  if (content_type.size() < kType.size()) return false;
  for (size_t i = 0; i < kType.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(content_type[i])) != kType[i]) return false;
  }
  return content_type.size() == kType.size() || content_type[kType.size()] == ';' ||
         content_type[kType.size()] == ' ';
}

Result<ArchiveDeployRequest> ParseArchiveDeployRequest(std::string_view body,
                                                       std::string_view content_type) {
  FLINT_ASSIGN_OR_RETURN(auto parts, ParseMultipart(body, content_type));
  std::string_view document = "{}";
  ArchiveDeployRequest out;
  bool has_archive = false;
  for (const auto& [name, content] : parts) {
    if (name == "deploy") {
      document = content;
    } else if (name == "code") {
      out.archive = content;
      has_archive = true;
    } else {
      return InvalidArgument("unknown part '" + name +
                             "' in the upload (expected 'deploy' and 'code')");
    }
  }
  if (!has_archive) return InvalidArgument("the upload has no 'code' part (the code archive)");
  json doc = ParseObject(document);
  if (doc.is_discarded()) {
    return InvalidArgument("the 'deploy' part of the upload must be a JSON object");
  }
  try {
    FLINT_RETURN_IF_ERROR(GetRuntime(doc, &out.runtime));
    if (doc.contains("files")) {
      return InvalidArgument(
          "'files' cannot be given beside a code archive: send one or the other");
    }
    if (doc.contains("entry")) out.entry = doc.at("entry").get<std::string>();
    FLINT_ASSIGN_OR_RETURN(out.patch, ReadPatch(doc));
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("invalid deploy request: ") + e.what());
  }
  return out;
}

Result<ScheduleRequest> ParseScheduleRequest(std::string_view body) {
  json doc = ParseObject(body);
  if (doc.is_discarded()) return InvalidArgument("the body must be a JSON object");
  auto function = doc.find("function");
  auto schedule = doc.find("schedule");
  if (function == doc.end() || !function->is_string() || schedule == doc.end() ||
      !schedule->is_string()) {
    return InvalidArgument("'function' and 'schedule' (a cron expression) are required strings");
  }
  ScheduleRequest out;
  out.function = function->get<std::string>();
  FLINT_RETURN_IF_ERROR(ValidateFunctionName(out.function));
  out.schedule = schedule->get<std::string>();
  out.payload = "{}";
  if (auto p = doc.find("payload"); p != doc.end() && !p->is_null()) out.payload = p->dump();
  return out;
}

Result<SubscriptionRequest> ParseSubscriptionRequest(std::string_view body) {
  json doc = ParseObject(body);
  auto topic = doc.is_discarded() ? doc.end() : doc.find("topic");
  auto function = doc.is_discarded() ? doc.end() : doc.find("function");
  if (topic == doc.end() || function == doc.end() || !topic->is_string() ||
      !function->is_string()) {
    return InvalidArgument("the body must be {\"topic\": ..., \"function\": ...}");
  }
  SubscriptionRequest out;
  out.topic = topic->get<std::string>();
  out.function = function->get<std::string>();
  FLINT_RETURN_IF_ERROR(ValidateTopic(out.topic));
  FLINT_RETURN_IF_ERROR(ValidateFunctionName(out.function));
  return out;
}

Status ValidateTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 128) {
    return InvalidArgument("a topic name has 1 to 128 characters");
  }
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgument("invalid topic name '" + std::string(topic) +
                             "': use letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

Result<std::string> EventPayload(std::string&& body, size_t limit) {
  if (body.size() > limit) {
    return Status(Code::kPayloadTooLarge, "the event is " + std::to_string(body.size()) +
                                              " bytes; the limit is " + std::to_string(limit));
  }
  if (body.empty()) return std::string("{}");
  if (!nlohmann::json::accept(body)) return InvalidArgument("the event must be valid JSON");
  return std::move(body);
}

}  // namespace flint::scheduler
