#include "scheduler/app/deploy.h"

#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "scheduler/app/api_requests.h"
#include "scheduler/spawn/compiler.h"
#include "scheduler/store/store.h"
#include "sdk/core/base64.h"

#ifndef FLINT_SDK_INCLUDE_DIR
#define FLINT_SDK_INCLUDE_DIR ""
#endif

namespace flint::scheduler {
namespace {

using nlohmann::json;

namespace fs = std::filesystem;

// The shared object a C++ build produces, at the top of the version's code.
constexpr char kBuiltEntry[] = "function.so";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsCppSource(std::string_view path) {
  return EndsWith(path, ".cc") || EndsWith(path, ".cpp") || EndsWith(path, ".cxx") ||
         EndsWith(path, ".c++");
}

// SHA-256 of every file under <sdk_include_dir>/flint, so an SDK change invalidates the cache.
std::string SdkDigest(const std::string& sdk_include_dir) {
  std::vector<std::pair<std::string, std::string>> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(fs::path(sdk_include_dir) / "flint", ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    files.emplace_back(it->path().lexically_relative(sdk_include_dir).generic_string(), text.str());
  }
  std::sort(files.begin(), files.end());
  std::string all;
  for (const auto& [path, text] : files) {
    all += path + "\n" + std::to_string(text.size()) + "\n" + text;
  }
  return Sha256Hex(all);
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(reinterpret_cast<uintptr_t>(&text));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return IoError("writing " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return IoError("renaming " + tmp + ": " + ec.message());
  }
  return Status::Ok();
}

// The first "file:line:col: error: ..." line of a compiler's output, else its first line.
std::string FirstError(const std::string& output) {
  std::string first;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(pos, end - pos);
    pos = end + 1;
    if (line.find(": error: ") != std::string::npos ||
        line.find(": fatal error: ") != std::string::npos) {
      return line;
    }
    if (first.empty() && !line.empty()) first = line;
  }
  return first.empty() ? "the compiler printed nothing" : first;
}

// A temporary folder removed (recursively) on scope exit.
class ScratchDir {
 public:
  static Result<ScratchDir> Make(const std::string& parent) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return IoError("creating " + parent + ": " + ec.message());
    std::string tmpl = parent + "/tmp-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus("mkdtemp " + parent, errno);
    return ScratchDir(tmpl);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct BuildOutcome {
  std::vector<CodeFile> files;  // the upload plus function.so
  bool cached = false;
  std::string cached_digest;  // set on a cache hit (files is then empty)
  std::string cache_file;     // where the digest of this build is to be recorded
};

// Compiles the C++ sources among `files` (see deploy.h), or finds an earlier build in the cache.
Result<BuildOutcome> BuildCpp(std::vector<CodeFile> files, const CodeStore& code,
                              const std::string& data_dir, const BuildOptions& options) {
  std::vector<std::string> sources;
  for (const auto& [path, content] : files) {
    if (path == kBuiltEntry) {
      return InvalidArgument("'" + std::string(kBuiltEntry) +
                             "' is the name of the built function: rename that file");
    }
    if (IsCppSource(path)) sources.push_back(path);
  }
  std::sort(sources.begin(), sources.end());
  std::error_code exists_ec;
  if (!fs::exists(fs::path(options.sdk_include_dir) / "flint" / "flint.h", exists_ec)) {
    return Unavailable("cannot build C++ functions on this server: the SDK headers are not at '" +
                       options.sdk_include_dir + "/flint' (set FLINT_SDK_INCLUDE for flintd)");
  }
  Result<std::string> version = CompilerVersion(options.compiler);
  if (!version.ok()) {
    return Unavailable("cannot build C++ functions on this server: " + version.status().message());
  }
  std::vector<std::string> flags = BuildFlags(options);
  FLINT_ASSIGN_OR_RETURN(std::string sources_digest, code.Digest(files));
  std::string key_text = "flint-build-v1\n" + sources_digest + "\n" + *version + "\n" +
                         SdkDigest(options.sdk_include_dir) + "\n";
  for (const auto& f : flags) key_text += f + "\n";
  std::string cache_dir = data_dir + "/build-cache";
  std::string cache_file = cache_dir + "/" + Sha256Hex(key_text);

  BuildOutcome outcome;
  outcome.cache_file = cache_file;
  {
    std::ifstream in(cache_file);
    std::string digest;
    if (in && std::getline(in, digest) && IsSha256Hex(digest) && code.Has(digest)) {
      outcome.cached = true;
      outcome.cached_digest = digest;
      return outcome;
    }
  }

  FLINT_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Make(cache_dir));
  for (const auto& [path, content] : files) {
    fs::path target = fs::path(dir.path()) / path;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << content;
    if (ec || !out.flush()) return IoError("writing the build folder " + dir.path());
  }
  ToolRun run;
  run.program = options.compiler;
  run.args = flags;
  run.args.insert(run.args.end(), sources.begin(), sources.end());
  run.args.push_back("-o");
  run.args.push_back(kBuiltEntry);
  run.work_dir = dir.path();
  run.timeout = options.timeout;
  FLINT_ASSIGN_OR_RETURN(ToolOutcome ran, RunTool(run));
  if (ran.timed_out) {
    return InvalidArgument("compilation took longer than " +
                           std::to_string(options.timeout.count() / 1000) + " s and was stopped");
  }
  if (ran.exit_code != 0) {
    // The first line names the first error (file:line), for clients that show one line; the
    // compiler's whole output follows verbatim.
    return InvalidArgument("compilation failed: " + FirstError(ran.output) + "\n" + ran.output +
                           (ran.output.empty() || ran.output.back() == '\n' ? "" : "\n") + "(" +
                           options.compiler + " " + ran.describe + ")");
  }
  std::ifstream in(fs::path(dir.path()) / kBuiltEntry, std::ios::binary);
  std::stringstream built;
  built << in.rdbuf();
  if (!in) return Internal("the compiler succeeded but wrote no " + std::string(kBuiltEntry));
  files.emplace_back(kBuiltEntry, built.str());
  outcome.files = std::move(files);
  return outcome;
}

}  // namespace

BuildOptions DefaultBuildOptions() {
  BuildOptions options;
  const char* env = ::getenv("FLINT_SDK_INCLUDE");
  options.sdk_include_dir = env != nullptr && *env != '\0' ? env : FLINT_SDK_INCLUDE_DIR;
  return options;
}

std::vector<std::string> BuildFlags(const BuildOptions& options) {
  return {"-std=c++20",
          "-O2",
          "-fPIC",
          "-shared",
          "-fvisibility=hidden",
          "-Wl,-z,defs",
          "-I" + options.sdk_include_dir,
          "-iquote",
          "."};
}

Status ValidateSharedObject(const std::string& name, const std::string& bytes) {
#if defined(__x86_64__)
  constexpr uint16_t kMachine = EM_X86_64;
#elif defined(__aarch64__)
  constexpr uint16_t kMachine = EM_AARCH64;
#else
  constexpr uint16_t kMachine = EM_NONE;
#endif
  auto bad = [&](const std::string& why) {
    return InvalidArgument("'" + name + "' is not a shared object this server can load: " + why);
  };
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return bad("not an ELF file");
  }
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return bad("not a 64-bit little-endian ELF file");
  }
  if (header.e_type != ET_DYN) return bad("an ELF file but not a shared object (ET_DYN)");
  if (header.e_machine != kMachine) {
    return bad("built for another machine (ELF machine " + std::to_string(header.e_machine) + ")");
  }
  return Status::Ok();
}

Result<PreparedDeploy> PrepareDeploy(const std::string& body, const CodeStore& code,
                                     const std::string& data_dir, const BuildOptions& build) {
  FLINT_ASSIGN_OR_RETURN(auto parsed, ParseDeployRequest(body));
  PreparedDeploy out;
  out.runtime = parsed.runtime;
  out.entry = parsed.entry;
  out.config = parsed.config;
  out.file_count = parsed.files.size();
  std::string cache_file;
  if (out.runtime == Runtime::kCpp) {
    if (EndsWith(out.entry, ".so")) {
      for (const auto& [path, content] : parsed.files) {
        if (path == out.entry) FLINT_RETURN_IF_ERROR(ValidateSharedObject(path, content));
      }
    } else if (IsCppSource(out.entry)) {
      FLINT_ASSIGN_OR_RETURN(BuildOutcome built,
                             BuildCpp(std::move(parsed.files), code, data_dir, build));
      out.entry = kBuiltEntry;
      if (built.cached) {
        out.build_cached = true;
        out.code_digest = built.cached_digest;
        return out;
      }
      out.built = true;
      cache_file = built.cache_file;
      parsed.files = std::move(built.files);
    } else {
      return InvalidArgument(
          "the entry of a C++ function must be a source file (.cc, .cpp, "
          ".cxx) or a prebuilt shared object (.so), not '" +
          out.entry + "'");
    }
  }
  FLINT_ASSIGN_OR_RETURN(out.code_digest, code.Put(std::move(parsed.files)));
  // Recorded only once the code is stored. A failure to record costs a rebuild next time.
  if (out.built) (void)WriteFileAtomically(cache_file, out.code_digest + "\n");
  return out;
}

}  // namespace flint::scheduler
