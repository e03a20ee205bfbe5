#include "scheduler/config/config_file.h"

#include <iterator>
#include <sstream>

namespace flint::scheduler {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string Dashed(std::string key) {
  for (char& c : key) {
    if (c == '_') c = '-';
  }
  return key;
}

// The key of a `key = value` line ("" for comments, blank lines and sections), unquoted.
std::string KeyOf(const std::string& line) {
  std::string t = Trim(line);
  if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') return "";
  size_t eq = t.find('=');
  std::string key = Trim(eq == std::string::npos ? t : t.substr(0, eq));
  if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'') && key.back() == key.front()) {
    key = key.substr(1, key.size() - 2);
  }
  return key;
}

}  // namespace

std::set<std::string> StrictConfigFile::KnownKeys(const CLI::App& app) {
  std::set<std::string> out;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      if (name != "help" && name != "config") out.insert(name);
    }
  }
  return out;
}

std::vector<CLI::ConfigItem> StrictConfigFile::from_config(std::istream& input) const {
  std::string text(std::istreambuf_iterator<char>(input), {});
  // Line numbers first: CLI11's items do not carry them.
  std::vector<std::string> lines;
  {
    std::istringstream split(text);
    std::string line;
    while (std::getline(split, line)) lines.push_back(line);
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string t = Trim(lines[i]);
    if (!t.empty() && t[0] == '[') {
      throw CLI::ConfigError("line " + std::to_string(i + 1) + ": unexpected section " + t +
                             ": flintd's options are top-level keys");
    }
    std::string key = KeyOf(lines[i]);
    if (key.empty()) continue;
    if (known_.count(Dashed(key)) == 0) {
      throw CLI::ConfigError("line " + std::to_string(i + 1) + ": unknown key '" + key +
                             "' (keys are flintd's long options: see flintd --help)");
    }
  }
  std::istringstream again(text);
  std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(again);
  for (CLI::ConfigItem& item : items) item.name = Dashed(item.name);
  return items;
}

}  // namespace flint::scheduler
