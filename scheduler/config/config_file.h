// StrictConfigFile: flintd's config-file reader (`flintd --config FILE`, docs/configuration.md).
//
// A CLI11 config formatter: the file is TOML (or INI) with one `key = value` per option, named
// as the long option without its dashes. Keys may be written with dashes or underscores
// (`data-dir` and `data_dir` are the same key). A key that names no option, or a [section]
// (flintd has none), is refused with its line number, so a misspelt key never goes unnoticed.
// Values given on the command line win over the file's (CLI11's rule).
//
// Thread-compatible; used once, while flintd parses its options.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <set>
#include <string>
#include <vector>

namespace flint::scheduler {

class StrictConfigFile : public CLI::ConfigTOML {
 public:
  // `known` holds the long options' names without dashes ("data-dir", "listen").
  explicit StrictConfigFile(std::set<std::string> known) : known_(std::move(known)) {}

  // The names of `app`'s long options, without dashes, except `--help` and `--config`.
  static std::set<std::string> KnownKeys(const CLI::App& app);

  // Throws CLI::ConfigError("line N: ...") for an unknown key or a section.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  std::set<std::string> known_;
};

}  // namespace flint::scheduler
