// flint-native-warmup.so: a small Flint function that a pre-warmed C++ worker loads and invokes
// once at start-up, before it knows its function, through the same NativeHost a function
// goes through (NativeHost::WarmUp). The function's own dlopen and first invocation at LOAD
// then find the dynamic linker, libstdc++, the unwinder and the host's invocation path warmed
// up: 0.2 ms less per C++ cold start here (tools/bench/coldstart.py, with the object and
// without). Built with the SDK and flags functions are built with (scheduler/app/deploy.h).
#include <flint/flint.h>

#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

flint::Response WarmUp(const flint::Request& req, flint::Context& ctx) {
  std::vector<std::string> words;
  std::unordered_map<std::string, int> counts;
  std::map<int, std::string> ordered;
  for (int i = 0; i < 16; ++i) {
    words.push_back("word-" + std::to_string(i));
    counts[words.back()] += i;
    ordered.emplace(i, words.back());
  }
  int total = 0;
  try {
    throw std::runtime_error(words.front());
  } catch (const std::exception& e) {
    total += static_cast<int>(std::string(e.what()).size());
  }
  for (const auto& [word, n] : counts) total += n + static_cast<int>(word.size());
  total += static_cast<int>(ordered.size()) + static_cast<int>(ctx.remaining_time().count() > 0);
  return flint::Response::Text(req.query("name").value_or("warm-up") + " " + std::to_string(total) +
                               "\n");
}

}  // namespace

FLINT_HANDLER(WarmUp)
