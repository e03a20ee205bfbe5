#include "sdk/core/runtime.h"

namespace flint {

std::string_view RuntimeName(Runtime runtime) {
  switch (runtime) {
#define FLINT_X(name, str, language) \
  case Runtime::name:                \
    return str;
    FLINT_RUNTIMES(FLINT_X)
#undef FLINT_X
  }
  return "unknown";
}

std::string_view RuntimeLanguage(Runtime runtime) {
  switch (runtime) {
#define FLINT_X(name, str, language) \
  case Runtime::name:                \
    return language;
    FLINT_RUNTIMES(FLINT_X)
#undef FLINT_X
  }
  return "unknown";
}

std::optional<Runtime> ParseRuntime(std::string_view name) {
  for (Runtime runtime : kRuntimes) {
    if (RuntimeName(runtime) == name) return runtime;
  }
  return std::nullopt;
}

std::optional<Runtime> ParseRuntimeOrAlias(std::string_view name) {
  if (name == "js") return Runtime::kNode;
  return ParseRuntime(name);
}

bool IsJavaScript(Runtime runtime) {
  switch (runtime) {
    case Runtime::kNode:
    case Runtime::kV8:
      return true;
    case Runtime::kCpp:
      return false;
  }
  return false;
}

std::string RuntimeNames(std::string_view separator) {
  std::string out;
  for (Runtime runtime : kRuntimes) {
    if (!out.empty()) out += separator;
    out += RuntimeName(runtime);
  }
  return out;
}

}  // namespace flint
