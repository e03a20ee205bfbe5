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
  CHECK(RuntimeName(Runtime::kJs) == "js");
  CHECK(RuntimeName(Runtime::kCpp) == "cpp");
  CHECK(RuntimeLanguage(Runtime::kJs) == "JavaScript");
  CHECK(RuntimeNames(", ").rfind("js, cpp", 0) == 0);
  for (const char* unknown : {"", "JS", "python", "js ", "c++"}) {
    INFO(unknown);
    CHECK_FALSE(ParseRuntime(unknown).has_value());
  }
}

}  // namespace flint
