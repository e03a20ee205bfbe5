#include "tools/cli/deploy_package.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "sdk/core/runtime.h"

namespace flint::cli {
namespace {

namespace fs = std::filesystem;

std::string MegaBytes(uint64_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB";
}

std::string NormalizeEntry(std::string entry) {
  while (entry.rfind("./", 0) == 0) entry.erase(0, 2);
  return entry;
}

Status TooLarge(const std::string& path, uint64_t max_bytes) {
  return InvalidArgument("'" + path + "' holds more than " + MegaBytes(max_bytes) +
                         " of files, the upload limit (dot-files are skipped; bundle, or leave "
                         "development dependencies out with 'npm install --omit=dev')");
}

// Lists a regular file (read later, when packed), refusing it when it would push the total
// past `max_bytes`.
Status Add(const fs::path& file, const std::string& shown, const std::string& root_shown,
           uint64_t max_bytes, uint64_t* total, DeployFile* out) {
  std::error_code ec;
  uint64_t size = fs::file_size(file, ec);
  if (ec) return InvalidArgument("cannot read '" + shown + "': " + ec.message());
  if (*total + size > max_bytes) return TooLarge(root_shown, max_bytes);
  if (::access(file.c_str(), R_OK) != 0) {
    return InvalidArgument("cannot read '" + shown + "': " + std::strerror(errno));
  }
  out->source = file.string();
  out->size = size;
  *total += size;
  return Status::Ok();
}

// Whether a dot-named entry is skipped: everywhere outside node_modules/ (.git, .env, editor
// files), and inside it only npm's own bookkeeping.
bool SkipDotEntry(const std::string& name, bool in_node_modules) {
  if (!in_node_modules) return true;
  return name == ".bin" || name == ".cache" || name == ".package-lock.json";
}

bool InNodeModules(const fs::path& rel) {
  for (const auto& part : rel) {
    if (part == "node_modules") return true;
  }
  return false;
}

// The file a package.json "main" names, resolved as Node.js does for a package's main, or ""
// when there is none among `files`.
std::string MainEntry(const std::map<std::string, DeployFile>& files) {
  auto pkg = files.find("package.json");
  if (pkg == files.end()) return "";
  Result<std::string> text = ReadDeployFile(pkg->second);
  if (!text.ok()) return "";
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("main") || !doc["main"].is_string()) return "";
  std::string main = NormalizeEntry(doc["main"].get<std::string>());
  while (!main.empty() && main.back() == '/') main.pop_back();
  for (const std::string& candidate :
       {main, main + ".js", main + ".mjs", main + ".cjs", main + "/index.js", main + "/index.mjs",
        main + "/index.cjs"}) {
    if (candidate.empty() || files.count(candidate) == 0) continue;
    if (InferRuntime(candidate).ok()) return candidate;
  }
  return "";
}

// True when `inner` (canonical) lies inside `root` (canonical).
bool IsInside(const fs::path& inner, const fs::path& root) {
  auto r = root.begin();
  auto i = inner.begin();
  for (; r != root.end(); ++r, ++i) {
    if (i == inner.end() || *i != *r) return false;
  }
  return true;
}

}  // namespace

Result<std::string> ReadDeployFile(const DeployFile& file) {
  std::ifstream in(file.source, std::ios::binary);
  if (!in) return InvalidArgument("cannot read '" + file.source + "': " + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return InvalidArgument("cannot read '" + file.source + "'");
  return out;
}

Result<std::string> InferRuntime(std::string_view entry) {
  auto ends_with = [&](std::string_view suffix) {
    return entry.size() >= suffix.size() && entry.substr(entry.size() - suffix.size()) == suffix;
  };
  // TypeScript too: Node.js strips the types.
  for (std::string_view js : {".mjs", ".js", ".cjs", ".mts", ".ts", ".cts"}) {
    if (ends_with(js)) return std::string(RuntimeName(Runtime::kNode));
  }
  if (ends_with(".cc") || ends_with(".cpp") || ends_with(".so")) {
    return std::string(RuntimeName(Runtime::kCpp));
  }
  return InvalidArgument(
      "cannot tell the runtime of '" + std::string(entry) +
      "' (expected .js, .mjs, .cjs, .ts, .mts, .cc, .cpp or .so): use --runtime " +
      RuntimeNames("|"));
}

Result<DeployPackage> BuildDeployPackage(const std::string& path, const std::string& entry_flag,
                                         const std::string& runtime_flag, uint64_t max_bytes) {
  if (!runtime_flag.empty() && !ParseRuntimeOrAlias(runtime_flag)) {
    return InvalidArgument("invalid runtime '" + runtime_flag + "': use " + RuntimeNames(" or "));
  }
  DeployPackage package;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return InvalidArgument("cannot read '" + path +
                           "': " + (ec ? ec.message() : std::string("no such file or directory")));
  }

  if (fs::is_regular_file(status)) {
    std::string name = fs::path(path).filename().string();
    std::string entry = NormalizeEntry(entry_flag);
    if (!entry.empty() && entry != name) {
      return InvalidArgument("--entry '" + entry_flag + "' names another file than '" + path +
                             "': --entry is for folders");
    }
    FLINT_RETURN_IF_ERROR(
        Add(fs::absolute(path), path, path, max_bytes, &package.total_bytes, &package.files[name]));
    package.entry = name;
  } else if (fs::is_directory(status)) {
    fs::path root = fs::canonical(path, ec);
    if (ec) return InvalidArgument("cannot read '" + path + "': " + ec.message());
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
    if (ec) return InvalidArgument("cannot read '" + path + "': " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return InvalidArgument("cannot read '" + path + "': " + ec.message());
      const fs::directory_entry& e = *it;
      std::string name = e.path().filename().string();
      fs::path rel = e.path().lexically_relative(root);
      std::string rel_text = rel.generic_string();
      std::string shown = (fs::path(path) / rel).string();
      if (name.empty() ||
          (name[0] == '.' && SkipDotEntry(name, InNodeModules(rel.parent_path())))) {
        if (e.is_directory(ec) && !e.is_symlink(ec)) it.disable_recursion_pending();
        continue;
      }
      if (e.is_symlink(ec)) {
        fs::path target = fs::canonical(e.path(), ec);
        if (ec) return InvalidArgument("cannot follow symlink '" + shown + "': " + ec.message());
        if (!IsInside(target, root)) {
          return InvalidArgument("refusing symlink '" + shown + "': it points to '" +
                                 target.string() + "', outside '" + path + "'");
        }
        if (!fs::is_regular_file(target, ec)) continue;  // folders are not followed
        FLINT_RETURN_IF_ERROR(
            Add(target, shown, path, max_bytes, &package.total_bytes, &package.files[rel_text]));
        continue;
      }
      if (e.is_directory(ec)) continue;
      if (!e.is_regular_file(ec)) continue;  // sockets, FIFOs, devices
      FLINT_RETURN_IF_ERROR(
          Add(e.path(), shown, path, max_bytes, &package.total_bytes, &package.files[rel_text]));
    }
    if (package.files.empty()) {
      return InvalidArgument("'" + path + "' has no files to deploy");
    }
    std::string entry = NormalizeEntry(entry_flag);
    if (!entry.empty()) {
      if (package.files.count(entry) == 0) {
        return InvalidArgument("entry '" + entry_flag + "' is not a file in '" + path + "'");
      }
      package.entry = entry;
    } else if (std::string main = MainEntry(package.files); !main.empty()) {
      package.entry = main;
    } else {
      for (const char* candidate : kEntryCandidates) {
        if (package.files.count(candidate) != 0) {
          package.entry = candidate;
          break;
        }
      }
      if (package.entry.empty()) {
        return InvalidArgument("no entry file in '" + path +
                               "': add index.mjs (or index.js, index.cjs, handler.mjs, handler.js, "
                               "main.mjs, main.js, index.cc, index.cpp), name it in package.json "
                               "\"main\", or pass --entry FILE");
      }
    }
  } else {
    return InvalidArgument("'" + path + "' is neither a file nor a folder");
  }

  if (!runtime_flag.empty()) {
    package.runtime = runtime_flag;
  } else {
    FLINT_ASSIGN_OR_RETURN(package.runtime, InferRuntime(package.entry));
  }
  return package;
}

}  // namespace flint::cli
