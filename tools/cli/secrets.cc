#include "tools/cli/secrets.h"

#include <termios.h>
#include <unistd.h>

#include <iterator>
#include <nlohmann/json.hpp>

#include "sdk/client/flint_client.h"
#include "sdk/core/text.h"
#include "tools/cli/config_flags.h"
#include "tools/cli/flintd_call.h"

namespace flint::cli {

using client::BuildTarget;
using nlohmann::json;

struct SecretCommands {
  CLI::App* secret = nullptr;
  std::vector<std::string> words;
};

namespace {

// The secret's value: one line from a terminal (typed without echo), else all of stdin with
// one trailing newline removed (`echo value | flint secret set ...`).
std::string ReadValue(CliIo& io, const std::string& key) {
  if (io.stdin_is_tty) {
    io.err << "value for " << key << " (not shown): " << std::flush;
    termios saved{};
    bool restore = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (restore) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    std::getline(io.in, line);
    if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    io.err << "\n";
    return line;
  }
  std::string value(std::istreambuf_iterator<char>(io.in), {});
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  return value;
}

// Prints flintd's answer to a secret command: raw with --json, else the keys (ls) or one line
// naming the change and the function's new version.
int PrintAnswer(CliIo& io, bool json_out, bool set, bool ls, const std::string& name,
                const std::string& key, const std::string& answer) {
  if (json_out) {
    io.out << answer << "\n";
    return kExitOk;
  }
  json j = json::parse(answer, nullptr, false);
  if (ls) {
    const json* list = j.is_object() && j.contains("secrets") ? &j["secrets"] : nullptr;
    if (list == nullptr || list->empty()) {
      io.out << "no secrets for " << name << "\n";
    } else {
      for (const json& k : *list) io.out << k.get<std::string>() << "\n";
    }
    return kExitOk;
  }
  uint64_t version = 0;
  if (j.is_object() && j.contains("function") && j["function"].is_object()) {
    version = j["function"].value("version", uint64_t{0});
  }
  io.out << (set ? "set " : "removed ") << key << (set ? " for " : " from ") << name;
  if (version > 0) io.out << " (version " << version << ")";
  io.out << "\n";
  return kExitOk;
}

}  // namespace

std::shared_ptr<SecretCommands> AddSecretCommands(CLI::App& app) {
  auto c = std::make_shared<SecretCommands>();
  c->secret = app.add_subcommand(
      "secret",
      "Secrets: 'set NAME KEY' (value from stdin), 'ls NAME', 'rm NAME KEY'. Encrypted at rest, "
      "given to the function as environment variables, never shown");
  c->secret->add_option("ARGS", c->words, "set NAME KEY | ls NAME | rm NAME KEY")
      ->required()
      ->expected(2, 3);
  c->secret->footer(
      "Examples:\n"
      "  flint secret set api DB_PASSWORD            # type the value (not echoed)\n"
      "  printf %s \"$TOKEN\" | flint secret set api GITHUB_TOKEN\n"
      "  flint secret ls api                         # names only\n"
      "  flint secret rm api GITHUB_TOKEN\n"
      "Each change makes a new version, so new requests see it at once.");
  return c;
}

int RunSecretCommands(const SecretCommands& c, CliIo& io, bool json_out) {
  if (!c.secret->parsed()) return -1;
  const std::vector<std::string>& w = c.words;
  const std::string& verb = w[0];
  auto usage = [&] {
    return Fail(io, kExitUsage,
                "use 'flint secret set NAME KEY', 'flint secret ls NAME' or 'flint secret rm NAME "
                "KEY'");
  };
  bool set = verb == "set" && w.size() == 3;
  bool ls = (verb == "ls" || verb == "list") && w.size() == 2;
  bool rm = verb == "rm" && w.size() == 3;
  if (!set && !ls && !rm) return usage();
  const std::string& name = w[1];
  if (Status s = ValidateFunctionName(name); !s.ok()) return Fail(io, kExitUsage, s.message());
  if (w.size() == 3) {
    if (Status s = ValidateEnvKey(w[2]); !s.ok()) return Fail(io, kExitUsage, s.message());
  }
  std::string value;
  if (set) {
    value = ReadValue(io, w[2]);
    if (value.empty()) return Fail(io, kExitUsage, "empty value: give it on stdin");
  }
  return WithFlintd(
      io, /*need_token=*/true,
      [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
        std::string answer;
        if (set) {
          FLINT_ASSIGN_OR_RETURN(
              answer, flint.Call("PUT", BuildTarget({"v1", "functions", name, "secrets", w[2]}),
                                 json{{"value", value}}.dump()));
        } else if (rm) {
          FLINT_ASSIGN_OR_RETURN(
              answer,
              flint.Call("DELETE", BuildTarget({"v1", "functions", name, "secrets", w[2]})));
        } else {
          FLINT_ASSIGN_OR_RETURN(
              answer, flint.Call("GET", BuildTarget({"v1", "functions", name, "secrets"})));
        }
        return PrintAnswer(io, json_out, set, ls, name, set || rm ? w[2] : "", answer);
      });
}

}  // namespace flint::cli
