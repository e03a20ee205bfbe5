#include "tools/cli/completion.h"

#include <map>
#include <vector>

#include "tools/cli/init.h"

namespace flint::cli {
namespace {

struct Flag {
  std::string name;  // "--memory" or "-d"
  std::string help;
  bool takes_value = false;
};

struct Command {
  std::string name;
  std::string help;
  std::vector<Flag> flags;
};

// First words after a command that are sub-verbs rather than names.
const std::map<std::string, std::string>& Verbs() {
  static const std::map<std::string, std::string> verbs = {
      {"schedule", "add ls rm"},
      {"dlq", "redrive"},
      {"secret", "set ls rm"},
      {"completion", "bash zsh fish"},
  };
  return verbs;
}

// Commands whose arguments include function names.
bool TakesFunctionName(const std::string& command) {
  for (const char* c : {"deploy", "config", "invoke", "describe", "rm", "logs", "dlq", "schedule",
                        "subscribe", "unsubscribe", "secret"}) {
    if (command == c) return true;
  }
  return false;
}

std::string OneLine(std::string s) {
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

std::vector<Command> Commands(const CLI::App& app) {
  std::vector<Command> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    Command c{sub->get_name(), OneLine(sub->get_description()), {}};
    for (const CLI::Option* o : sub->get_options()) {
      if (o == sub->get_help_ptr()) continue;  // --help is added once, below
      bool value = o->get_type_size() != 0;    // flags have no value
      for (const std::string& l : o->get_lnames()) {
        c.flags.push_back({"--" + l, OneLine(o->get_description()), value});
      }
      for (const std::string& s : o->get_snames()) {
        c.flags.push_back({"-" + s, OneLine(o->get_description()), value});
      }
    }
    out.push_back(std::move(c));
    for (const std::string& alias : sub->get_aliases()) {
      Command a = out.back();
      a.name = alias;
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::string TemplateNames() {
  std::string out;
  for (const Template& t : Templates()) out += (out.empty() ? "" : " ") + std::string(t.name);
  return out;
}

// Quotes `s` for a single-quoted shell word.
std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Bash(const std::vector<Command>& commands) {
  std::string names;
  for (const Command& c : commands) names += (names.empty() ? "" : " ") + c.name;
  std::string out =
      "# flint completion for bash. Load it with: source <(flint completion bash)\n"
      "_flint() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
      "  local cmd=\"\" i args=0\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case \"${COMP_WORDS[i]}\" in\n"
      "      -*) ;;\n"
      "      *) if [[ -z \"$cmd\" ]]; then cmd=\"${COMP_WORDS[i]}\"; else args=$((args + 1)); fi "
      ";;\n"
      "    esac\n"
      "  done\n"
      "  if [[ -z \"$cmd\" ]]; then\n"
      "    COMPREPLY=($(compgen -W \"" +
      names +
      " --json --help --version\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  case \"$prev\" in\n"
      "    --template) COMPREPLY=($(compgen -W \"" +
      TemplateNames() +
      "\" -- \"$cur\")); return ;;\n"
      "    --env-file|--entry) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
      "    --runtime) COMPREPLY=($(compgen -W \"node v8 cpp js\" -- \"$cur\")); return ;;\n"
      "    --network) COMPREPLY=($(compgen -W \"none outbound\" -- \"$cur\")); return ;;\n"
      "    --keep-alive-policy) COMPREPLY=($(compgen -W \"fixed adaptive\" -- \"$cur\")); return "
      ";;\n"
      "    --by) COMPREPLY=($(compgen -W \"function version day hour none\" -- \"$cur\")); return "
      ";;\n"
      "    --format) COMPREPLY=($(compgen -W \"table json csv\" -- \"$cur\")); return ;;\n"
      "  esac\n"
      "  local flags=\"\"\n"
      "  case \"$cmd\" in\n";
  for (const Command& c : commands) {
    std::string flags;
    for (const Flag& f : c.flags) flags += (flags.empty() ? "" : " ") + f.name;
    out += "    " + c.name + ") flags=\"" + flags + " --help\" ;;\n";
  }
  out +=
      "  esac\n"
      "  if [[ \"$cur\" == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  case \"$cmd\" in\n";
  for (const auto& [command, verbs] : Verbs()) {
    out += "    " + command + ") if ((args == 0)); then COMPREPLY=($(compgen -W \"" + verbs +
           "\" -- \"$cur\")); return; fi ;;\n";
  }
  out +=
      "    deploy) if ((args == 1)); then COMPREPLY=($(compgen -f -- \"$cur\")); return; fi ;;\n"
      "  esac\n"
      "  case \"$cmd\" in\n"
      "    ";
  bool first = true;
  for (const Command& c : commands) {
    if (!TakesFunctionName(c.name)) continue;
    out += (first ? "" : "|") + c.name;
    first = false;
  }
  out +=
      ")\n"
      "      COMPREPLY=($(compgen -W \"$(flint ls -q 2>/dev/null)\" -- \"$cur\")) ;;\n"
      "    init) ;;\n"
      "    *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
      "  esac\n"
      "}\n"
      "complete -F _flint flint\n";
  return out;
}

std::string Zsh(const std::vector<Command>& commands) {
  std::string out =
      "#compdef flint\n"
      "# flint completion for zsh. Load it with: source <(flint completion zsh)\n"
      "# or save it as _flint in a folder of $fpath.\n"
      "_flint() {\n"
      "  local -a commands\n"
      "  commands=(\n";
  for (const Command& c : commands) {
    std::string entry = c.name + ":" + c.help;
    out += "    " + Quoted(entry) + "\n";
  }
  out +=
      "  )\n"
      "  if (( CURRENT == 2 )); then\n"
      "    _describe -t commands 'flint command' commands\n"
      "    return\n"
      "  fi\n"
      "  local cmd=${words[2]}\n"
      "  if [[ ${words[CURRENT]} == -* ]]; then\n"
      "    local -a flags\n"
      "    case $cmd in\n";
  for (const Command& c : commands) {
    out += "      " + c.name + ") flags=(";
    for (const Flag& f : c.flags) {
      std::string help = f.help;
      for (char& ch : help) {
        if (ch == ':') ch = ' ';
      }
      out += " " + Quoted(f.name + ":" + help);
    }
    out += " ) ;;\n";
  }
  out +=
      "    esac\n"
      "    _describe -t flags 'flag' flags\n"
      "    return\n"
      "  fi\n"
      "  case ${words[CURRENT-1]} in\n"
      "    --template) compadd " +
      TemplateNames() +
      "; return ;;\n"
      "    --env-file|--entry) _files; return ;;\n"
      "  esac\n"
      "  case $cmd in\n";
  for (const auto& [command, verbs] : Verbs()) {
    out +=
        "    " + command + ") if (( CURRENT == 3 )); then compadd " + verbs + "; return; fi ;;\n";
  }
  out +=
      "    deploy) if (( CURRENT == 4 )); then _files; return; fi ;;\n"
      "  esac\n"
      "  case $cmd in\n"
      "    ";
  bool first = true;
  for (const Command& c : commands) {
    if (!TakesFunctionName(c.name)) continue;
    out += (first ? "" : "|") + c.name;
    first = false;
  }
  out +=
      ") compadd -- ${(f)\"$(flint ls -q 2>/dev/null)\"} ;;\n"
      "    init) ;;\n"
      "    *) _files ;;\n"
      "  esac\n"
      "}\n"
      "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
      "  _flint \"$@\"\n"
      "else\n"
      "  compdef _flint flint\n"
      "fi\n";
  return out;
}

std::string Fish(const std::vector<Command>& commands) {
  std::string out =
      "# flint completion for fish. Load it with: flint completion fish | source\n"
      "# or save it as ~/.config/fish/completions/flint.fish.\n"
      "complete -c flint -f\n"
      "complete -c flint -n __fish_use_subcommand -l json -d 'Print flintd\\'s raw JSON answer'\n"
      "complete -c flint -n __fish_use_subcommand -l version -d 'Print the version'\n";
  for (const Command& c : commands) {
    out +=
        "complete -c flint -n __fish_use_subcommand -a " + c.name + " -d " + Quoted(c.help) + "\n";
    for (const Flag& f : c.flags) {
      bool is_long = f.name.rfind("--", 0) == 0;
      out += "complete -c flint -n '__fish_seen_subcommand_from " + c.name + "' " +
             (is_long ? "-l " + f.name.substr(2) : "-s " + f.name.substr(1)) + " -d " +
             Quoted(f.help) + (f.takes_value ? " -r" : "") + "\n";
    }
    auto verbs = Verbs().find(c.name);
    if (verbs != Verbs().end()) {
      out += "complete -c flint -n '__fish_seen_subcommand_from " + c.name + "' -a " +
             Quoted(verbs->second) + "\n";
    }
    if (TakesFunctionName(c.name)) {
      out += "complete -c flint -n '__fish_seen_subcommand_from " + c.name +
             "' -a '(flint ls -q 2>/dev/null)'\n";
    }
  }
  out += "complete -c flint -n '__fish_seen_subcommand_from init' -l template -a " +
         Quoted(TemplateNames()) + " -r\n";
  out += "complete -c flint -n '__fish_seen_subcommand_from deploy' -F\n";
  return out;
}

}  // namespace

Result<std::string> CompletionScript(const CLI::App& app, const std::string& shell) {
  std::vector<Command> commands = Commands(app);
  if (shell == "bash") return Bash(commands);
  if (shell == "zsh") return Zsh(commands);
  if (shell == "fish") return Fish(commands);
  return InvalidArgument("unknown shell '" + shell + "': use bash, zsh or fish");
}

}  // namespace flint::cli
