// flint-native-warmup.so: loaded by a pre-warmed C++ worker at start-up, before it knows its
// function, so that the function's own dlopen at LOAD finds the dynamic linker's code and
// libstdc++'s symbol tables already paged in and its first exception's unwinder set up (about
// 0.1 ms of a cold start here; tools/bench/coldstart.py). Built with the flags functions are
// built with (scheduler/app/deploy.h) and using what a typical function uses. Not a function:
// it runs no handler and exports only flint_native_warmup.
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" __attribute__((visibility("default"))) int flint_native_warmup() {
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
  return total + static_cast<int>(ordered.size());
}
