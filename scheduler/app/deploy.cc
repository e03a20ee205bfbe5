#include "scheduler/app/deploy.h"

#include <elf.h>

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "scheduler/app/api_requests.h"
#include "scheduler/store/code_archive.h"
#include "scheduler/store/code_staging.h"

namespace flint::scheduler {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

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

namespace {

// Stores the files of a deploy whose files are in memory (building C++ sources first).
Result<PreparedDeploy> PrepareFiles(PreparedDeploy out, std::vector<CodeFile> files,
                                    const CodeStore& code, const std::string& data_dir,
                                    const BuildOptions& build) {
  out.file_count = files.size();
  if (out.runtime == Runtime::kCpp) {
    if (EndsWith(out.entry, ".so")) {
      for (const auto& [path, content] : files) {
        if (path == out.entry) FLINT_RETURN_IF_ERROR(ValidateSharedObject(path, content));
      }
    } else if (IsCppSource(out.entry)) {
      FLINT_ASSIGN_OR_RETURN(BuildLookup lookup,
                             LookUpBuild(std::move(files), code, data_dir, build));
      out.entry = kBuiltEntry;
      if (lookup.pending) {
        out.build = std::move(lookup.pending);
      } else {
        out.build_cached = true;
        out.code_digest = lookup.cached_digest;
      }
      return out;
    } else {
      return InvalidArgument(
          "the entry of a C++ function must be a source file (.cc, .cpp, "
          ".cxx) or a prebuilt shared object (.so), not '" +
          out.entry + "'");
    }
  }
  FLINT_ASSIGN_OR_RETURN(out.code_digest, code.Put(std::move(files)));
  return out;
}

// A multipart deploy: the code archive is extracted straight into a staging area of the code
// store, checked against the store's limits as it is unpacked.
Result<PreparedDeploy> PrepareArchiveDeploy(std::string_view body, std::string_view content_type,
                                            const CodeStore& code, const std::string& data_dir,
                                            const BuildOptions& build, const FunctionConfig& base) {
  FLINT_ASSIGN_OR_RETURN(ArchiveDeployRequest request,
                         ParseArchiveDeployRequest(body, content_type));
  PreparedDeploy out;
  FLINT_ASSIGN_OR_RETURN(out.config, ApplyConfigPatch(base, request.patch));
  FLINT_ASSIGN_OR_RETURN(std::unique_ptr<CodeStaging> staging, CodeStaging::Begin(code));
  FLINT_RETURN_IF_ERROR(ExtractArchive(request.archive, *staging));
  if (staging->file_count() == 0) return InvalidArgument("the code archive holds no files");
  out.entry = std::move(request.entry);
  // The same inference as a JSON deploy's (api_requests.h, DeployRequest).
  if (out.entry.empty() && staging->file_count() == 1) out.entry = staging->paths().front();
  out.runtime = request.runtime ? *request.runtime : InferRuntime(out.entry);
  if (out.entry.empty() && out.runtime == Runtime::kNode) {
    std::string package_json;
    if (staging->Has("package.json")) {
      FLINT_ASSIGN_OR_RETURN(package_json, staging->Read("package.json"));
    }
    out.entry =
        DefaultNodeEntry(package_json, [&](const std::string& path) { return staging->Has(path); });
  }
  if (out.entry.empty()) {
    return InvalidArgument("'entry' is required when uploading several files");
  }
  // A Node.js entry may also name a handler as Lambda does ("index.handler"): the worker that
  // checks the deploy resolves it, and says which file is missing.
  if (!staging->Has(out.entry) && out.runtime != Runtime::kNode) {
    return InvalidArgument("entry '" + out.entry + "' is not among the files");
  }
  if (out.runtime == Runtime::kCpp) {
    // Sources are small: built from memory as a JSON deploy's are.
    FLINT_ASSIGN_OR_RETURN(std::vector<CodeFile> files, staging->ReadAll());
    return PrepareFiles(std::move(out), std::move(files), code, data_dir, build);
  }
  out.file_count = staging->file_count();
  FLINT_ASSIGN_OR_RETURN(out.code_digest, staging->Commit());
  return out;
}

}  // namespace

Result<PreparedDeploy> PrepareDeploy(std::string_view body, std::string_view content_type,
                                     const CodeStore& code, const std::string& data_dir,
                                     const BuildOptions& build, const FunctionConfig& base) {
  if (IsMultipartFormData(content_type)) {
    return PrepareArchiveDeploy(body, content_type, code, data_dir, build, base);
  }
  FLINT_ASSIGN_OR_RETURN(DeployRequest parsed, ParseDeployRequest(body));
  PreparedDeploy out;
  out.runtime = parsed.runtime;
  out.entry = std::move(parsed.entry);
  FLINT_ASSIGN_OR_RETURN(out.config, ApplyConfigPatch(base, parsed.patch));
  return PrepareFiles(std::move(out), std::move(parsed.files), code, data_dir, build);
}

}  // namespace flint::scheduler
