#include "tools/cli/project.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sdk/core/runtime.h"
#include "sdk/core/text.h"
#include "tools/cli/config_flags.h"

namespace flint::cli {
namespace {

using nlohmann::json;

// A failure at `node`'s line of flint.toml.
Status At(const toml::source_region& where, const std::string& message) {
  return InvalidArgument(std::string(kProjectFileName) + ":" + std::to_string(where.begin.line) +
                         ": " + message);
}

std::string Dashless(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

Result<std::string> String(const toml::node& node, const std::string& key) {
  if (const auto* s = node.as_string()) return s->get();
  return At(node.source(), "'" + key + "' must be a string");
}

Result<uint32_t> Count(const toml::node& node, const std::string& key) {
  const auto* i = node.as_integer();
  if (i == nullptr || i->get() < 0 || i->get() > 1'000'000) {
    return At(node.source(), "'" + key + "' must be a whole number from 0");
  }
  return static_cast<uint32_t>(i->get());
}

// 3 (seconds), 0.5 (seconds) or "3s", "500ms", "10m".
Result<uint64_t> DurationMs(const toml::node& node, const std::string& key) {
  Result<uint64_t> ms = InvalidArgument("");
  if (const auto* s = node.as_string()) {
    ms = ParseDurationMs(s->get());
  } else if (const auto* i = node.as_integer()) {
    ms = ParseDurationMs(std::to_string(i->get()));
  } else if (const auto* f = node.as_floating_point()) {
    ms = ParseDurationMs(std::to_string(f->get()));
  } else {
    return At(node.source(), "'" + key + "' must be a duration: 3 (seconds), \"3s\", \"500ms\"");
  }
  if (!ms.ok()) return At(node.source(), key + ": " + ms.status().message());
  return *ms;
}

Result<uint32_t> MemoryMb(const toml::node& node, const std::string& key) {
  Result<uint64_t> mb = InvalidArgument("");
  if (const auto* s = node.as_string()) {
    mb = ParseMemoryMb(s->get());
  } else if (const auto* i = node.as_integer()) {
    mb = ParseMemoryMb(std::to_string(i->get()));
  } else {
    return At(node.source(), "'" + key + "' must be MB (256) or a size (\"512M\", \"1G\")");
  }
  if (!mb.ok()) return At(node.source(), key + ": " + mb.status().message());
  if (*mb > 1u << 20) return At(node.source(), key + ": at most 1 TB");
  return static_cast<uint32_t>(*mb);
}

json ToJson(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    json out = json::object();
    for (auto&& [k, v] : *t) out[std::string(k.str())] = ToJson(v);
    return out;
  }
  if (const auto* a = node.as_array()) {
    json out = json::array();
    for (const toml::node& v : *a) out.push_back(ToJson(v));
    return out;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream text;  // dates and times, as TOML writes them
  if (const auto* d = node.as_date()) text << d->get();
  if (const auto* t = node.as_time()) text << t->get();
  if (const auto* dt = node.as_date_time()) text << dt->get();
  return text.str();
}

Status ReadTriggers(const toml::table& triggers, Project& p) {
  for (auto&& [k, v] : triggers) {
    std::string key = Dashless(k.str());
    if (key == "schedules") {
      const auto* list = v.as_array();
      if (list == nullptr) {
        return At(v.source(),
                  "'triggers.schedules' must be a list of tables ([[triggers.schedules]])");
      }
      p.schedules.emplace();
      for (const toml::node& item : *list) {
        const auto* t = item.as_table();
        if (t == nullptr) return At(item.source(), "a schedule is a table: { cron = \"...\" }");
        ProjectSchedule s;
        for (auto&& [sk, sv] : *t) {
          std::string skey = Dashless(sk.str());
          if (skey == "cron") {
            Result<std::string> cron = String(sv, "cron");
            if (!cron.ok()) return cron.status();
            s.cron = *cron;
          } else if (skey == "data") {
            s.payload = ToJson(sv).dump();
          } else {
            return At(sk.source(), "unknown key '" + std::string(sk.str()) +
                                       "' in a schedule (use cron and data)");
          }
        }
        if (s.cron.empty()) return At(item.source(), "a schedule needs cron = \"...\"");
        p.schedules->push_back(std::move(s));
      }
    } else if (key == "topics") {
      const auto* list = v.as_array();
      if (list == nullptr) return At(v.source(), "'triggers.topics' must be a list of names");
      p.topics.emplace();
      for (const toml::node& item : *list) {
        Result<std::string> topic = String(item, "topics");
        if (!topic.ok()) return topic.status();
        p.topics->push_back(*topic);
      }
    } else {
      return At(k.source(), "unknown key '" + std::string(k.str()) +
                                "' in [triggers] (use schedules and topics)");
    }
  }
  return Status::Ok();
}

Status ReadTopLevel(const toml::table& doc, const std::string& dir, Project& p) {
  client::FunctionConfig& c = p.config;
  std::map<std::string, std::string> env;
  std::vector<std::string> env_files;
  for (auto&& [k, v] : doc) {
    std::string key = Dashless(k.str());
    auto text = [&]() { return String(v, std::string(k.str())); };
    if (key == "name") {
      Result<std::string> name = text();
      if (!name.ok()) return name.status();
      if (Status s = ValidateFunctionName(*name); !s.ok()) return At(v.source(), s.message());
      p.name = *name;
    } else if (key == "entry") {
      Result<std::string> entry = text();
      if (!entry.ok()) return entry.status();
      p.entry = *entry;
    } else if (key == "runtime") {
      Result<std::string> runtime = text();
      if (!runtime.ok()) return runtime.status();
      if (!ParseRuntimeOrAlias(*runtime)) {
        return At(v.source(), "invalid runtime '" + *runtime + "': use " + RuntimeNames(", ") +
                                  " (js is node)");
      }
      p.runtime = *runtime;
    } else if (key == "exclude") {
      const auto* list = v.as_array();
      if (list == nullptr) return At(v.source(), "'exclude' must be a list of paths");
      for (const toml::node& item : *list) {
        Result<std::string> path = String(item, "exclude");
        if (!path.ok()) return path.status();
        p.exclude.push_back(*path);
      }
    } else if (key == "env_file") {
      if (const auto* list = v.as_array()) {
        for (const toml::node& item : *list) {
          Result<std::string> path = String(item, "env_file");
          if (!path.ok()) return path.status();
          env_files.push_back(*path);
        }
      } else {
        Result<std::string> path = text();
        if (!path.ok()) return path.status();
        env_files.push_back(*path);
      }
    } else if (key == "env") {
      const auto* t = v.as_table();
      if (t == nullptr) return At(v.source(), "'env' must be a table: [env] KEY = \"value\"");
      for (auto&& [ek, ev] : *t) {
        std::string name(ek.str());
        if (Status s = ValidateEnvKey(name); !s.ok()) return At(ek.source(), s.message());
        if (const auto* s = ev.as_string()) {
          env[name] = s->get();
        } else if (ev.is_integer() || ev.is_floating_point() || ev.is_boolean()) {
          env[name] = ToJson(ev).dump();
        } else {
          return At(ev.source(), "env." + name + " must be a string, number or boolean");
        }
      }
    } else if (key == "triggers") {
      const auto* t = v.as_table();
      if (t == nullptr) return At(v.source(), "'triggers' must be a table: [triggers]");
      FLINT_RETURN_IF_ERROR(ReadTriggers(*t, p));
    } else if (key == "memory" || key == "memory_mb") {
      Result<uint32_t> mb = MemoryMb(v, std::string(k.str()));
      if (!mb.ok()) return mb.status();
      c.memory_mb = *mb;
    } else if (key == "cpu") {
      if (!v.is_integer() && !v.is_floating_point()) {
        return At(v.source(), "cpu must be a number of CPUs, e.g. 0.5 or 2");
      }
      c.cpu = *v.value<double>();
    } else if (key == "timeout" || key == "keep_alive" || key == "max_event_age") {
      Result<uint64_t> ms = DurationMs(v, std::string(k.str()));
      if (!ms.ok()) return ms.status();
      (key == "timeout"      ? c.timeout_ms
       : key == "keep_alive" ? c.keep_alive_ms
                             : c.max_event_age_ms) = *ms;
    } else if (key == "max_instances" || key == "concurrency" || key == "min_instances" ||
               key == "reserved_concurrency" || key == "max_retries") {
      Result<uint32_t> n = Count(v, std::string(k.str()));
      if (!n.ok()) return n.status();
      (key == "max_instances"          ? c.max_instances
       : key == "concurrency"          ? c.concurrency
       : key == "min_instances"        ? c.min_instances
       : key == "reserved_concurrency" ? c.reserved_concurrency
                                       : c.max_retries) = *n;
    } else if (key == "private") {
      if (!v.is_boolean()) return At(v.source(), "private must be true or false");
      c.is_private = *v.value<bool>();
    } else if (key == "keep_alive_policy" || key == "network") {
      Result<std::string> value = text();
      if (!value.ok()) return value.status();
      bool ok = key == "network" ? (*value == "none" || *value == "outbound")
                                 : (*value == "fixed" || *value == "adaptive");
      if (!ok) {
        return At(v.source(),
                  std::string(k.str()) + " must be " +
                      (key == "network" ? "'none' or 'outbound'" : "'fixed' or 'adaptive'"));
      }
      (key == "network" ? c.network : c.keep_alive_policy) = *value;
    } else {
      return At(k.source(),
                "unknown key '" + std::string(k.str()) + "' (see docs/cli.md, \"Project file\")");
    }
  }
  if (p.name.empty()) {
    return InvalidArgument(std::string(kProjectFileName) + ": 'name' is required");
  }
  // The env files first, then [env]: the file's own values win.
  std::map<std::string, std::string> all;
  for (const std::string& file : env_files) {
    std::string path = !file.empty() && file[0] == '/' ? file : dir + "/" + file;
    Result<std::map<std::string, std::string>> vars = ReadEnvFile(path);
    if (!vars.ok()) return vars.status();
    for (auto& [name, value] : *vars) all[name] = value;
  }
  for (auto& [name, value] : env) all[name] = value;
  c.env = std::move(all);
  return Status::Ok();
}

// A double-quoted dotenv value's escapes.
std::string Unescape(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    char n = in[++i];
    out += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
  }
  return out;
}

}  // namespace

Result<Project> ParseProject(const std::string& text, const std::string& dir) {
  Project p;
  p.dir = dir;
  toml::table doc;
  try {
    doc = toml::parse(std::string_view(text), std::string_view(kProjectFileName));
  } catch (const toml::parse_error& e) {
    return At(e.source(), std::string(e.description()));
  }
  FLINT_RETURN_IF_ERROR(ReadTopLevel(doc, dir, p));
  return p;
}

Result<Project> ReadProject(const std::string& dir) {
  std::string path = dir + "/" + kProjectFileName;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return NotFound("no " + std::string(kProjectFileName) + " in " + dir);
    return InvalidArgument("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string text(std::istreambuf_iterator<char>(in), {});
  return ParseProject(text, dir);
}

bool MatchesExclude(const std::string& relative, const std::string& raw_pattern) {
  std::string pattern = raw_pattern;
  while (pattern.size() > 2 && pattern.rfind("./", 0) == 0) pattern = pattern.substr(2);
  while (!pattern.empty() && pattern.back() == '/') pattern.pop_back();
  if (pattern.empty()) return false;
  // Matches `pattern`'s segments against the path's first segments; '*' within a segment.
  auto segment_match = [](std::string_view pat, std::string_view s) {
    // Classic wildcard match with '*' only.
    size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < s.size()) {
      if (p < pat.size() && pat[p] == s[t]) {
        ++p;
        ++t;
      } else if (p < pat.size() && pat[p] == '*') {
        star = p++;
        mark = t;
      } else if (star != std::string_view::npos) {
        p = star + 1;
        t = ++mark;
      } else {
        return false;
      }
    }
    while (p < pat.size() && pat[p] == '*') ++p;
    return p == pat.size();
  };
  std::string_view path(relative), pat(pattern);
  while (!pat.empty()) {
    size_t ps = pat.find('/');
    size_t ts = path.find('/');
    std::string_view pseg = pat.substr(0, ps);
    if (path.empty()) return false;
    std::string_view tseg = path.substr(0, ts);
    if (!segment_match(pseg, tseg)) return false;
    pat = ps == std::string_view::npos ? std::string_view() : pat.substr(ps + 1);
    path = ts == std::string_view::npos ? std::string_view() : path.substr(ts + 1);
  }
  return true;  // the pattern named this path or a folder above it
}

Result<std::map<std::string, std::string>> ParseEnvText(const std::string& text,
                                                        const std::string& source) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    auto bad = [&](const std::string& why) {
      return InvalidArgument(source + ":" + std::to_string(number) + ": " + why);
    };
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    std::string rest = line.substr(b);
    if (rest.rfind("export ", 0) == 0) rest = rest.substr(rest.find_first_not_of(' ', 7));
    size_t eq = rest.find('=');
    if (eq == std::string::npos) return bad("expected KEY=VALUE");
    std::string key = rest.substr(0, eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (Status s = ValidateEnvKey(key); !s.ok()) return bad(s.message());
    std::string value = rest.substr(eq + 1);
    size_t vb = value.find_first_not_of(" \t");
    value = vb == std::string::npos ? "" : value.substr(vb);
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      char quote = value[0];
      size_t close = 1;
      while (close < value.size() && value[close] != quote) {
        if (quote == '"' && value[close] == '\\') ++close;
        ++close;
      }
      if (close >= value.size()) return bad("unterminated quote");
      std::string after = value.substr(close + 1);
      size_t ab = after.find_first_not_of(" \t");
      if (ab != std::string::npos && after[ab] != '#') return bad("text after the closing quote");
      std::string inner = value.substr(1, close - 1);
      value = quote == '"' ? Unescape(inner) : inner;
    } else {
      // Unquoted: up to an inline comment (" #"), trailing blanks trimmed.
      size_t hash = value.find(" #");
      if (hash != std::string::npos) value.resize(hash);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    }
    out[key] = value;
  }
  return out;
}

Result<std::map<std::string, std::string>> ReadEnvFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read env file '" + path + "': " + std::strerror(errno));
  std::string text(std::istreambuf_iterator<char>(in), {});
  return ParseEnvText(text, path);
}

}  // namespace flint::cli
