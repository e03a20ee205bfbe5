#include "scheduler/app/deploy.h"

#include <elf.h>

#include <cstring>

#include "scheduler/app/api_requests.h"

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

Result<PreparedDeploy> PrepareDeploy(const std::string& body, const CodeStore& code,
                                     const std::string& data_dir, const BuildOptions& build,
                                     const FunctionConfig& base) {
  FLINT_ASSIGN_OR_RETURN(auto parsed, ParseDeployRequest(body));
  PreparedDeploy out;
  out.runtime = parsed.runtime;
  out.entry = parsed.entry;
  FLINT_ASSIGN_OR_RETURN(out.config, ApplyConfigPatch(base, parsed.patch));
  out.file_count = parsed.files.size();
  if (out.runtime == Runtime::kCpp) {
    if (EndsWith(out.entry, ".so")) {
      for (const auto& [path, content] : parsed.files) {
        if (path == out.entry) FLINT_RETURN_IF_ERROR(ValidateSharedObject(path, content));
      }
    } else if (IsCppSource(out.entry)) {
      FLINT_ASSIGN_OR_RETURN(BuildLookup lookup,
                             LookUpBuild(std::move(parsed.files), code, data_dir, build));
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
  FLINT_ASSIGN_OR_RETURN(out.code_digest, code.Put(std::move(parsed.files)));
  return out;
}

}  // namespace flint::scheduler
