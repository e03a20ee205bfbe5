#include "scheduler/build/cpp_build.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scheduler/store/store.h"
#include "sdk/protocol/build_sandbox.h"

#ifndef FLINT_SDK_INCLUDE_DIR
#define FLINT_SDK_INCLUDE_DIR ""
#endif

namespace flint::scheduler {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool Sandboxed(const BuildOptions& options) { return !options.sandbox_path.empty(); }

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

// Writes the upload below `dir`, readable by everyone (the sandbox's compiler is nobody),
// whatever flintd's umask.
Status WriteSources(const std::vector<CodeFile>& files, const std::string& dir) {
  constexpr auto kDirMode = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec;
  constexpr auto kFileMode = fs::perms::owner_read | fs::perms::owner_write |
                             fs::perms::group_read | fs::perms::others_read;
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (!ec) fs::permissions(dir, kDirMode, ec);
  for (const auto& [path, content] : files) {
    if (ec) break;
    fs::path target = fs::path(dir) / path;
    for (fs::path parent = target.parent_path(); !ec && parent != fs::path(dir);
         parent = parent.parent_path()) {
      if (fs::create_directories(parent, ec)) fs::permissions(parent, kDirMode, ec);
    }
    if (ec) break;
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return IoError("writing the build folder " + dir);
    out.close();
    fs::permissions(target, kFileMode, ec);
  }
  if (ec) return IoError("writing the build folder " + dir + ": " + ec.message());
  return Status::Ok();
}

// Reads the compiler's function.so: a regular file (not a link the build may have left in its
// place) of at most `max_bytes`.
Result<std::string> ReadBuilt(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening the built " + std::string(kBuiltEntry), errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Internal("the build left no regular " + std::string(kBuiltEntry) +
                    " within the output limit");
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != bytes.size()) return IoError("reading the built " + std::string(kBuiltEntry));
  return bytes;
}

std::string Megabytes(uint64_t bytes) { return std::to_string(bytes >> 20) + " MB"; }

std::string Cpus(uint32_t millis) {
  if (millis % 1000 == 0) {
    return std::to_string(millis / 1000) + (millis == 1000 ? " CPU" : " CPUs");
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f CPUs", millis / 1000.0);
  return text;
}

// The compiler's messages, after a one-line summary.
std::string WithMessages(const std::string& summary, const ToolOutcome& outcome) {
  if (outcome.output.empty()) return summary;
  return summary + "\n" + outcome.output + (outcome.output.back() == '\n' ? "" : "\n");
}

// True when a file the build wrote reached the output limit: the tool writing it was killed
// (SIGXFSZ, which the compiler driver reports by the signal's name) or /tmp was full.
bool OutputLimitHit(const ToolOutcome& outcome) {
  return outcome.output.find("File size limit exceeded") != std::string::npos ||
         outcome.output.find("No space left on device") != std::string::npos;
}

}  // namespace

BuildOptions DefaultBuildOptions() {
  BuildOptions options;
  const char* env = ::getenv("FLINT_SDK_INCLUDE");
  options.sdk_include_dir = env != nullptr && *env != '\0' ? env : FLINT_SDK_INCLUDE_DIR;
  return options;
}

std::vector<std::string> BuildFlags(const BuildOptions& options) {
  return {
      "-std=c++20",
      "-O2",
      "-fPIC",
      "-shared",
      "-fvisibility=hidden",
      "-Wl,-z,defs",
      "-I" + (Sandboxed(options) ? std::string(protocol::kBuildSdkDir) : options.sdk_include_dir),
      "-iquote",
      "."};
}

bool IsCppSource(std::string_view path) {
  return EndsWith(path, ".cc") || EndsWith(path, ".cpp") || EndsWith(path, ".cxx") ||
         EndsWith(path, ".c++");
}

Result<BuildLookup> LookUpBuild(std::vector<CodeFile> files, const CodeStore& code,
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
  Result<std::string> compiler = FindProgram(options.compiler);
  if (!compiler.ok()) {
    return Unavailable("cannot build C++ functions on this server: " + compiler.status().message());
  }
  Result<std::string> version = CompilerVersion(*compiler);
  if (!version.ok()) {
    return Unavailable("cannot build C++ functions on this server: " + version.status().message());
  }
  std::vector<std::string> flags = BuildFlags(options);
  FLINT_ASSIGN_OR_RETURN(std::string sources_digest, code.Digest(files));
  std::string key_text = "flint-build-v2\n" + sources_digest + "\n" + *version + "\n" +
                         SdkDigest(options.sdk_include_dir) + "\n" +
                         (Sandboxed(options) ? "sandboxed\n" : "unsandboxed\n");
  for (const auto& f : flags) key_text += f + "\n";
  std::string cache_file = data_dir + "/build-cache/" + Sha256Hex(key_text);

  BuildLookup lookup;
  {
    std::ifstream in(cache_file);
    std::string digest;
    if (in && std::getline(in, digest) && IsSha256Hex(digest) && code.Has(digest)) {
      lookup.cached_digest = digest;
      return lookup;
    }
  }
  auto pending = std::make_shared<PendingBuild>();
  pending->options = options;
  pending->compiler_path = *compiler;
  pending->files = std::move(files);
  pending->sources = std::move(sources);
  pending->data_dir = data_dir;
  pending->cache_file = cache_file;
  lookup.pending = std::move(pending);
  return lookup;
}

Result<ToolOutcome> RunBuild(PendingBuild& build, const std::vector<std::string>& cgroup_procs) {
  const BuildOptions& options = build.options;
  FLINT_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Make(build.data_dir + "/build-cache"));
  std::string sources_dir = dir.path() + "/src";
  std::string output_dir = dir.path() + "/out";
  FLINT_RETURN_IF_ERROR(WriteSources(build.files, sources_dir));
  std::error_code ec;
  fs::create_directory(output_dir, ec);
  if (ec) return IoError("creating " + output_dir + ": " + ec.message());

  ToolRun run;
  run.timeout = options.limits.timeout;
  run.max_output_bytes = options.limits.max_message_bytes;
  run.cgroup_procs = cgroup_procs;
  std::vector<std::string> compile = BuildFlags(options);
  compile.insert(compile.end(), build.sources.begin(), build.sources.end());
  compile.push_back("-o");
  if (Sandboxed(options)) {
    // flint-build mounts the folders and sets the file size limit for the compiler itself.
    compile.push_back(std::string(protocol::kBuildOutputDir) + "/" + kBuiltEntry);
    run.program = options.sandbox_path;
    run.args = {"--sources",
                sources_dir,
                "--output",
                output_dir,
                "--sdk",
                options.sdk_include_dir,
                "--max-file-bytes",
                std::to_string(options.limits.max_output_bytes),
                "--",
                build.compiler_path};
    run.args.insert(run.args.end(), compile.begin(), compile.end());
    run.work_dir = dir.path();
  } else {
    // Relative, as the sources are: no path of the data directory in any message.
    compile.push_back(std::string("../out/") + kBuiltEntry);
    run.program = build.compiler_path;
    run.args = std::move(compile);
    run.work_dir = sources_dir;
    run.max_file_bytes = options.limits.max_output_bytes;
  }
  FLINT_ASSIGN_OR_RETURN(ToolOutcome ran, RunTool(run));
  if (!ran.timed_out && ran.exit_code == 0) {
    FLINT_ASSIGN_OR_RETURN(
        build.built, ReadBuilt(output_dir + "/" + kBuiltEntry, options.limits.max_output_bytes));
  }
  return ran;
}

Status DescribeBuildFailure(const PendingBuild& build, const ToolOutcome& outcome,
                            bool memory_limit_hit) {
  const BuildLimits& limits = build.options.limits;
  if (memory_limit_hit) {
    return InvalidArgument(WithMessages("the build exceeded its memory limit of " +
                                            std::to_string(limits.memory_mb) +
                                            " MB and was stopped",
                                        outcome));
  }
  if (outcome.timed_out) {
    uint64_t seconds = static_cast<uint64_t>(limits.timeout.count()) / 1000;
    std::string summary =
        "the build exceeded its time limit of " + std::to_string(seconds) + " s and was stopped";
    if (Sandboxed(build.options)) summary += " (it may use " + Cpus(limits.cpu_millis) + ")";
    return InvalidArgument(WithMessages(summary, outcome));
  }
  if (outcome.exit_code != 0 && OutputLimitHit(outcome)) {
    return InvalidArgument(WithMessages("the build exceeded its output size limit of " +
                                            Megabytes(limits.max_output_bytes) +
                                            " (a file it wrote grew larger) and was stopped",
                                        outcome));
  }
  if (Sandboxed(build.options) && outcome.exit_code == protocol::kBuildSetupFailed) {
    return Internal("the build sandbox could not be set up; flintd's log has the details");
  }
  if (outcome.exit_code != 0) {
    // The first line names the first error (file:line), for clients that show one line; the
    // compiler's whole output follows verbatim.
    std::string compiler = fs::path(build.compiler_path).filename().string();
    return InvalidArgument("compilation failed: " + FirstError(outcome.output) + "\n" +
                           outcome.output +
                           (outcome.output.empty() || outcome.output.back() == '\n' ? "" : "\n") +
                           "(" + compiler + " " + outcome.describe + ")");
  }
  if (build.built.empty()) {
    return Internal("the compiler succeeded but wrote no " + std::string(kBuiltEntry));
  }
  return Status::Ok();
}

Result<std::string> StoreBuild(PendingBuild& build, const CodeStore& code) {
  std::vector<CodeFile> files = std::move(build.files);
  files.emplace_back(kBuiltEntry, std::move(build.built));
  FLINT_ASSIGN_OR_RETURN(std::string digest, code.Put(std::move(files)));
  // Recorded only once the code is stored. A failure to record costs a rebuild next time.
  std::error_code ec;
  fs::create_directories(fs::path(build.cache_file).parent_path(), ec);
  (void)WriteFileAtomically(build.cache_file, digest + "\n");
  return digest;
}

}  // namespace flint::scheduler
