// The runtime names table: every runtime has a name that parses back to it, and nothing else
// parses.
#include "sdk/core/runtime.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace flint {

TEST_CASE("Every runtime's name parses back to it, and names are unique", "[runtime]") {
  std::set<std::string> names;
  for (Runtime runtime : kRuntimes) {
    std::string name(RuntimeName(runtime));
    CHECK(names.insert(name).second);
    CHECK(ParseRuntime(name) == runtime);
    CHECK_FALSE(RuntimeLanguage(runtime).empty());
  }
  CHECK(names.size() == kRuntimeCount);
}

TEST_CASE("The runtimes Flint knows, by their names", "[runtime]") {
  CHECK(RuntimeName(Runtime::kNode) == "node");
  CHECK(RuntimeName(Runtime::kV8) == "v8");
  CHECK(RuntimeName(Runtime::kCpp) == "cpp");
  CHECK(RuntimeLanguage(Runtime::kNode) == "JavaScript (Node.js)");
  CHECK(RuntimeNames(", ").rfind("node, v8, cpp", 0) == 0);
  for (const char* unknown : {"", "JS", "js", "python", "node ", "c++"}) {
    INFO(unknown);
    CHECK_FALSE(ParseRuntime(unknown).has_value());
  }
  CHECK(IsJavaScript(Runtime::kNode));
  CHECK(IsJavaScript(Runtime::kV8));
  CHECK_FALSE(IsJavaScript(Runtime::kCpp));
}

TEST_CASE("What users write for a runtime: its name, or js for the default JavaScript one",
          "[runtime]") {
  CHECK(ParseRuntimeOrAlias("js") == Runtime::kNode);
  CHECK(ParseRuntimeOrAlias("v8") == Runtime::kV8);
  CHECK(ParseRuntimeOrAlias("cpp") == Runtime::kCpp);
  CHECK_FALSE(ParseRuntimeOrAlias("javascript").has_value());
}

}  // namespace flint
