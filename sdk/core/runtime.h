// Runtime: the languages a Flint function can be written in, as one closed set.
//
// One table (FLINT_RUNTIMES) gives each runtime its enum value and its name, the text that
// stands for it wherever it leaves a process: the store's rows, flintd's API JSON, the worker
// protocol's HELLO and LOAD, flint-worker's --runtime argument. Code inside flintd and
// flint-worker passes the enum and switches on it; names are parsed and formatted only at those
// edges. A new runtime is a new row here, then a compile error at every switch that must learn
// it. Pure values; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flint {

// X(enum name, name, language as users call it). kNode: JavaScript on Node.js (runtime/node/),
// the default; kV8: the lean JavaScript runtime, one V8 isolate (runtime/api/).
#define FLINT_RUNTIMES(X)                          \
  X(kNode, "node", "JavaScript (Node.js)")         \
  X(kV8, "v8", "JavaScript (the lean V8 runtime)") \
  X(kCpp, "cpp", "C++")

enum class Runtime : uint8_t {
#define FLINT_X(name, str, language) name,
  FLINT_RUNTIMES(FLINT_X)
#undef FLINT_X
};

// Every runtime, in the table's order.
inline constexpr std::array kRuntimes = {
#define FLINT_X(name, str, language) Runtime::name,
    FLINT_RUNTIMES(FLINT_X)
#undef FLINT_X
};
inline constexpr size_t kRuntimeCount = kRuntimes.size();

// The runtime's name, e.g. "js".
std::string_view RuntimeName(Runtime runtime);
// The language it runs, for messages: "JavaScript".
std::string_view RuntimeLanguage(Runtime runtime);
// The runtime named `name`, or nullopt for a name no runtime has (names are case-sensitive).
std::optional<Runtime> ParseRuntime(std::string_view name);
// The same, also taking what users may write for a runtime: "js", the default JavaScript
// runtime (Node.js). For what users send (the deploy API, the CLI's --runtime); the store,
// the protocol and flint-worker take names only.
std::optional<Runtime> ParseRuntimeOrAlias(std::string_view name);
// True for the JavaScript runtimes, which stop a handler at its timeout themselves.
bool IsJavaScript(Runtime runtime);
// Every runtime's name in the table's order, joined by `separator`: "js, cpp" for ", ".
std::string RuntimeNames(std::string_view separator);

}  // namespace flint
