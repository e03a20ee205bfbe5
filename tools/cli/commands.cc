#include "tools/cli/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "sdk/client/flint_client.h"
#include "sdk/core/check.h"
#include "sdk/core/text.h"
#include "tools/cli/bill.h"
#include "tools/cli/completion.h"
#include "tools/cli/deploy_command.h"
#include "tools/cli/events.h"
#include "tools/cli/flintd_call.h"
#include "tools/cli/init.h"
#include "tools/cli/output.h"
#include "tools/cli/secrets.h"
#include "tools/cli/tokens.h"

#ifndef FLINT_VERSION
#define FLINT_VERSION "unknown"
#endif

namespace flint::cli {
namespace {

// Everything the command line can set for the commands in this file; CLI11 writes into it.
struct Args {
  bool json = false;
  std::string name;
  // invoke
  std::string data;
  std::string rest_path;
  std::string method;
  std::vector<std::string> headers;
  bool async = false;  // docs/triggers.md
  std::string idempotency_key;
  bool verbose = false;
  // ls
  bool quiet = false;
  // logs
  uint32_t limit = 0;
  // top
  std::string interval = "1s";
  uint32_t iterations = 0;
  // bill
  BillOptions bill;
  // init
  std::string template_name = "js";
  // completion
  std::string shell;
};

// Percent-encodes what may not appear in a URL's path or query (spaces, quotes, control and
// non-ASCII bytes), keeping the characters that give it structure ('/', '?', '&', '=', '%').
std::string EncodeLoosePath(const std::string& path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    bool keep = c > 0x20 && c < 0x7f && std::strchr("\"<>\\^`{|}", c) == nullptr;
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string WorkDir(const CliIo& io) {
  if (!io.cwd.empty()) return io.cwd;
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  return ec ? "." : cwd;
}

// `flint invoke -v`: the response's status line and headers, and the invocation id (from the
// X-Flint-Request-Id header, or an async answer's body) that 'flint logs' lines carry.
void PrintExchange(CliIo& io, const Args& a, const client::HttpResponse& r) {
  io.err << "< " << r.status << (r.reason.empty() ? "" : " " + r.reason) << "\n";
  for (const client::Header& h : r.headers) io.err << "< " << h.name << ": " << h.value << "\n";
  const std::string* id = r.FindHeader("x-flint-request-id");
  std::string invocation = id != nullptr ? *id : "";
  if (invocation.empty() && a.async) {
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object()) invocation = j.value("invocation_id", "");
  }
  if (!invocation.empty()) {
    io.err << "invocation " << invocation << " (its lines in 'flint logs " << a.name
           << "' carry this id)\n";
  }
  io.err.flush();
}

int Invoke(CliIo& io, const Args& a, const CLI::App& cmd) {
  Status name_ok = ValidateFunctionName(a.name);
  if (!name_ok.ok()) return Fail(io, kExitUsage, name_ok.message());
  client::InvokeRequest request;
  bool has_data = cmd.count("--data") > 0;
  if (has_data) {
    Result<std::string> body = ReadDataArg(a.data, io.in);
    if (!body.ok()) return Fail(io, kExitUsage, "--data: " + body.status().message());
    request.body = std::move(body).value();
  }
  request.method = !a.method.empty() ? a.method : (has_data ? "POST" : "GET");
  for (char& ch : request.method) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  request.path = EncodeLoosePath(a.rest_path);
  if (!request.path.empty() && request.path[0] != '/' && request.path[0] != '?') {
    request.path = "/" + request.path;
  }
  bool has_content_type = false;
  for (const std::string& h : a.headers) {
    size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Fail(io, kExitUsage, "invalid --header '" + h + "': use NAME:VALUE");
    }
    std::string value = h.substr(colon + 1);
    size_t start = value.find_first_not_of(" \t");
    value = start == std::string::npos ? "" : value.substr(start);
    std::string name = h.substr(0, colon);
    if (client::EqualsIgnoreCase(name, "content-type")) has_content_type = true;
    request.headers.push_back({name, value});
  }
  if (has_data && !has_content_type) {
    request.headers.push_back({"Content-Type", "application/json"});
  }
  if (a.async) {
    request.headers.push_back({"X-Flint-Invocation-Type", "Event"});
    if (!request.method.empty() && request.method == "GET") request.method = "POST";
  }
  if (!a.idempotency_key.empty()) {
    request.headers.push_back({"X-Flint-Idempotency-Key", a.idempotency_key});
  }

  return WithFlintd(
      io, /*need_token=*/false,
      [&](client::FlintClient& flint, const client::ClientConfig& config) -> Result<int> {
        if (a.verbose) {
          io.err << "> " << request.method << " " << config.url.ToString()
                 << client::BuildTarget({"fn", a.name}) << request.path << "\n";
          for (const client::Header& h : request.headers)
            io.err << "> " << h.name << ": " << h.value << "\n";
          if (!request.body.empty()) {
            io.err << "> (" << request.body.size() << " bytes of body)\n";
          }
        }
        FLINT_ASSIGN_OR_RETURN(client::HttpResponse r, flint.Invoke(a.name, request));
        if (a.verbose) PrintExchange(io, a, r);
        bool success = r.status >= 200 && r.status <= 299;
        bool flint_error = !success && client::IsFlintErrorBody(r.body);
        if (!flint_error) {
          io.out << r.body;
          if (io.stdout_is_tty && !r.body.empty() && r.body.back() != '\n') io.out << "\n";
          io.out.flush();
        }
        if (success) return kExitOk;
        std::string message = client::ErrorFromResponse(r).message();
        if (const std::string* retry = r.FindHeader("Retry-After"); retry && r.status == 429) {
          message += " (retry after " + *retry + "s)";
        }
        return Fail(io, kExitFailed, std::to_string(r.status) + ": " + message);
      });
}

int List(CliIo& io, const Args& a) {
  return WithFlintd(
      io, /*need_token=*/true,
      [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
        FLINT_ASSIGN_OR_RETURN(auto reply, flint.List());
        if (a.quiet) {  // names alone, for scripts and shell completion
          for (const auto& f : reply.value) io.out << f.name << "\n";
          return kExitOk;
        }
        return PrintReply(
            io, a.json, reply, [](const std::vector<client::FunctionInfo>& functions) {
              return functions.empty()
                         ? std::string(
                               "no functions deployed (deploy one with 'flint deploy NAME PATH')\n")
                         : FormatFunctionTable(functions);
            });
      });
}

int Describe(CliIo& io, const Args& a) {
  Status name_ok = ValidateFunctionName(a.name);
  if (!name_ok.ok()) return Fail(io, kExitUsage, name_ok.message());
  return WithFlintd(io, /*need_token=*/true,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      FLINT_ASSIGN_OR_RETURN(auto reply, flint.Describe(a.name));
                      return PrintReply(io, a.json, reply,
                                        [&](const client::FunctionDetails& details) {
                                          return FormatDetails(details) + FormatUsage(reply.json);
                                        });
                    });
}

int Bill(CliIo& io, const Args& a) {
  return WithFlintd(io, /*need_token=*/true,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      BillOptions options = a.bill;
                      if (a.json) options.format = "json";
                      FLINT_ASSIGN_OR_RETURN(std::string report, FetchBill(flint, options));
                      io.out << report;
                      return kExitOk;
                    });
}

int Top(CliIo& io, const Args& a) {
  Result<uint64_t> interval = ParseDurationMs(a.interval);
  if (!interval.ok()) return Fail(io, kExitUsage, "--interval: " + interval.status().message());
  return WithFlintd(
      io, /*need_token=*/true,
      [&](client::FlintClient& flint, const client::ClientConfig& config) -> Result<int> {
        for (uint32_t i = 0; a.iterations == 0 || i < a.iterations; ++i) {
          if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(*interval));
          FLINT_ASSIGN_OR_RETURN(auto reply, flint.Pools());
          PrintReply(io, a.json, reply, [&](const client::NodeInfo& node) {
            // Home and clear before each view on a terminal: a refreshing view.
            return std::string(io.stdout_is_tty ? "\x1b[H\x1b[2J" : "") +
                   FormatTop(node, config.url.ToString());
          });
          io.out.flush();
        }
        return kExitOk;
      });
}

int Remove(CliIo& io, const Args& a) {
  Status name_ok = ValidateFunctionName(a.name);
  if (!name_ok.ok()) return Fail(io, kExitUsage, name_ok.message());
  return WithFlintd(io, /*need_token=*/true,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      FLINT_ASSIGN_OR_RETURN(auto reply, flint.Delete(a.name));
                      return PrintReply(io, a.json, reply, [](const std::string& name) {
                        return "deleted " + name + "\n";
                      });
                    });
}

int Logs(CliIo& io, const Args& a) {
  Status name_ok = ValidateFunctionName(a.name);
  if (!name_ok.ok()) return Fail(io, kExitUsage, name_ok.message());
  return WithFlintd(io, /*need_token=*/true,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      FLINT_ASSIGN_OR_RETURN(auto reply, flint.Logs(a.name, a.limit));
                      return PrintReply(io, a.json, reply, FormatLogs);
                    });
}

// flint's version, and flintd's when it answers. Always exit 0: the client's version is known.
int VersionCommand(CliIo& io, const Args& a) {
  Result<client::ClientConfig> config = client::ResolveClientConfig(io.getenv);
  std::string server_version, server_error, url;
  if (!config.ok()) {
    server_error = config.status().message();
  } else {
    url = config->url.ToString();
    client::FlintClientOptions options;
    options.http.connect_timeout_ms = 2000;
    options.management_timeout_ms = 5000;
    client::FlintClient flint(config->url, "", options);
    Result<std::string> v = flint.ServerVersion();
    if (v.ok()) {
      server_version = v->empty() ? "unknown" : *v;
    } else {
      server_error = v.status().message();
    }
  }
  if (a.json) {
    nlohmann::json j = {{"flint", Version()}};
    j["flintd"] = server_version.empty()
                      ? nlohmann::json{{"url", url}, {"error", server_error}}
                      : nlohmann::json{{"url", url}, {"version", server_version}};
    io.out << j.dump() << "\n";
    return kExitOk;
  }
  io.out << "flint " << Version() << "\n";
  if (!server_version.empty()) {
    io.out << "flintd " << server_version << " at " << url << "\n";
  } else {
    io.out << "flintd: not reachable (" << server_error << ")\n";
  }
  return kExitOk;
}

int Init(CliIo& io, const Args& a) {
  Status name_ok = ValidateFunctionName(a.name);
  if (!name_ok.ok()) return Fail(io, kExitUsage, name_ok.message());
  std::string dir = WorkDir(io) + "/" + a.name;
  Result<std::vector<std::string>> written = WriteTemplate(a.template_name, a.name, dir);
  if (!written.ok()) return Fail(io, kExitUsage, written.status().message());
  const Template* chosen = nullptr;
  for (const Template& t : Templates()) {
    if (a.template_name == t.name) chosen = &t;
  }
  FLINT_CHECK(chosen != nullptr);  // WriteTemplate refused an unknown template
  if (a.json) {
    io.out << nlohmann::json{{"created", dir}, {"template", a.template_name}, {"files", *written}}
                  .dump()
           << "\n";
    return kExitOk;
  }
  io.out << "created " << a.name << "/ (" << a.template_name << "):";
  for (const std::string& f : *written) io.out << " " << f;
  // A command and, from column 30, what it is for.
  auto step = [&](const std::string& command, const char* why) {
    std::string pad(28 - std::min<size_t>(command.size(), 27), ' ');
    io.out << "  " << command << pad << "# " << why << "\n";
  };
  io.out << "\nnext:\n"
         << "  cd " << a.name << "\n";
  if (*chosen->install_command != '\0') {
    step(chosen->install_command, "install its packages into node_modules/ (deployed with it)");
  }
  step(chosen->test_command, "run its test");
  step("flint deploy", "deploy it (flintd must be running: flint up)");
  io.out << "  flint invoke " << a.name << " --path '/?name=Ada'\n";
  return kExitOk;
}

// A command's help: CLI11's, with each line of the footer (examples) indented as written.
std::string HelpOf(const CLI::App& app) { return app.help(); }

int Dispatch(const std::vector<std::string>& args, CliIo& io) {
  Args a;
  CLI::App app{
      "flint: deploy and run serverless functions on flintd.\n"
      "Server: $FLINT_URL, else <data dir>/flintd.url, else http://127.0.0.1:8080.\n"
      "Token: $FLINT_TOKEN, else <data dir>/admin.token. Data dir: $FLINT_DATA_DIR,\n"
      "else $XDG_DATA_HOME/flint, else ~/.local/share/flint.",
      "flint"};
  app.add_flag("--json", a.json, "Print flintd's raw JSON answer instead of text");
  app.set_version_flag("--version", std::string("flint ") + Version(), "Print flint's version");
  app.require_subcommand(1);
  app.fallthrough();

  CLI::App* init =
      app.add_subcommand("init", "Create a function folder with a test and a flint.toml");
  init->add_option("NAME", a.name, "Function (and folder) name")->required();
  std::string template_help = "Template:";
  for (const Template& t : Templates()) {
    template_help += std::string(" ") + t.name + " (" + t.description + ");";
  }
  template_help.back() = ' ';
  init->add_option("--template,-t", a.template_name, template_help + "default js")
      ->capture_default_str();
  init->footer(
      "Examples:\n"
      "  flint init hello && cd hello && flint deploy\n"
      "  flint init --template ts api\n"
      "  flint init --template cpp fast-hello\n"
      "  flint init --template hono api && cd api && npm install && flint deploy");

  std::shared_ptr<DeployCommands> deploy_commands = AddDeployCommands(app);

  CLI::App* invoke = app.add_subcommand("invoke", "Call a function and print its response body");
  invoke->add_option("NAME", a.name, "Function name")->required();
  invoke->add_option("--data,-d", a.data, "Request body (JSON), @FILE, or @- for stdin; POSTs");
  invoke->add_option("--path", a.rest_path, "Path (and ?query) after /fn/NAME");
  invoke->add_option("--method,-X", a.method, "HTTP method (default: POST with --data, else GET)");
  invoke->add_option("--header,-H", a.headers, "Request header NAME:VALUE (repeatable)")
      ->allow_extra_args(false);
  invoke->add_flag("--async", a.async,
                   "Queue the call as an event: prints its invocation id once stored (202)");
  invoke->add_option("--idempotency-key", a.idempotency_key,
                     "With --async: a repeated key returns the first call's invocation id");
  invoke->add_flag("--verbose,-v", a.verbose,
                   "Show the request, the response's status and headers, and the invocation id "
                   "(on stderr)");
  invoke->footer(
      "Examples:\n"
      "  flint invoke hello --path '/?name=Ada'\n"
      "  flint invoke add -d '{\"a\": 2, \"b\": 40}'\n"
      "  flint invoke add -d @input.json -v\n"
      "  flint invoke add --async -d '{\"a\": 5, \"b\": 6}'   # as an event\n"
      "A synchronous call reaches the handler as an HTTP event (the body in event.body, as\n"
      "text); --async, schedules and topics deliver the JSON itself as the event. One handler\n"
      "serves both: see docs/handlers-js.md, \"HTTP requests and events\".");

  CLI::App* ls = app.add_subcommand("ls", "List deployed functions");
  ls->alias("list");
  ls->add_flag("--quiet,-q", a.quiet, "Names only, one per line");
  ls->footer("Examples:\n  flint ls\n  flint ls -q\n  flint --json ls | jq '.functions[].name'");
  CLI::App* describe = app.add_subcommand("describe", "Show a function's config, versions, pool");
  describe->add_option("NAME", a.name, "Function name")->required();
  describe->footer("Examples:\n  flint describe hello\n  flint --json describe hello");
  CLI::App* bill = app.add_subcommand("bill", "Usage and cost by function, version, day or hour");
  bill->add_option("--from", a.bill.from, "Start: 2025-01-02, RFC 3339, epoch ms, or 24h (ago)");
  bill->add_option("--to", a.bill.to, "End (exclusive), same forms (default: now)");
  bill->add_option("--function", a.bill.function, "Only this function");
  bill->add_option("--by", a.bill.by, "function, version, day, hour or none")
      ->capture_default_str();
  bill->add_option("--format", a.bill.format, "table, json or csv")->capture_default_str();
  bill->footer(
      "Examples:\n"
      "  flint bill --from 24h\n"
      "  flint bill --from 2025-01-01 --by day --format csv");
  CLI::App* top = app.add_subcommand("top", "Live view of the node's worker pools (like top)");
  top->add_option("--interval", a.interval, "Refresh interval (e.g. 1s, 500ms)")
      ->capture_default_str();
  top->add_option("--iterations,-n", a.iterations, "Refreshes before exiting (0: until Ctrl-C)");
  top->footer("Examples:\n  flint top\n  flint top -n 1");
  CLI::App* rm = app.add_subcommand("rm", "Delete a function");
  rm->add_option("NAME", a.name, "Function name")->required();
  rm->footer("Example:\n  flint rm hello");
  CLI::App* logs = app.add_subcommand("logs", "Show a function's recent console output");
  logs->add_option("NAME", a.name, "Function name")->required();
  logs->add_option("--limit,-n", a.limit, "Most records to show (default: flintd's, 100)");
  logs->footer(
      "Examples:\n"
      "  flint logs hello\n"
      "  flint logs hello -n 20\n"
      "Each line is TIME LEVEL [INVOCATION-ID] MESSAGE; 'flint invoke -v' prints the id.");
  std::shared_ptr<EventCommands> event_commands = AddEventCommands(app);
  std::shared_ptr<SecretCommands> secret_commands = AddSecretCommands(app);
  std::shared_ptr<TokenCommands> token_commands = AddTokenCommands(app);
  CLI::App* up = app.add_subcommand("up", "Run flintd in the foreground (arguments go to flintd)");
  up->allow_extras();
  up->footer("Examples:\n  flint up\n  flint up --listen 127.0.0.1:9090 --no-isolation");
  CLI::App* version = app.add_subcommand("version", "Print flint's version and flintd's");
  version->footer("Examples:\n  flint version\n  flint --json version");
  CLI::App* completion =
      app.add_subcommand("completion", "Print a shell completion script: bash, zsh or fish");
  completion->add_option("SHELL", a.shell, "bash, zsh or fish")->required();
  completion->footer(
      "Examples:\n"
      "  source <(flint completion bash)                 # in ~/.bashrc\n"
      "  source <(flint completion zsh)                  # in ~/.zshrc\n"
      "  flint completion fish > ~/.config/fish/completions/flint.fish");
  app.footer(
      "Examples:\n"
      "  flint init hello && cd hello && flint deploy\n"
      "  flint deploy add add.mjs && flint invoke add -d '{\"a\": 1, \"b\": 2}'\n"
      "  flint logs add\n"
      "Run 'flint COMMAND --help' for a command's flags and examples (docs/cli.md).");

  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    io.out << HelpOf(app);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    io.out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion& v) {
    io.out << v.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    // The first word that is not a global flag names the command; say so when it is unknown.
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--json") continue;
      const std::string& word = args[i];
      bool known =
          !app.get_subcommands([&](CLI::App* sub) { return sub->check_name(word); }).empty();
      if (!word.empty() && word[0] != '-' && !known) {
        return Fail(io, kExitUsage, "unknown command '" + word + "' (see 'flint --help')");
      }
      break;
    }
    return Fail(io, kExitUsage, std::string(e.what()) + " (see 'flint --help')");
  }

  if (int code = RunDeployCommands(*deploy_commands, io, a.json); code >= 0) return code;
  if (init->parsed()) return Init(io, a);
  if (invoke->parsed()) return Invoke(io, a, *invoke);
  if (ls->parsed()) return List(io, a);
  if (describe->parsed()) return Describe(io, a);
  if (bill->parsed()) return Bill(io, a);
  if (rm->parsed()) return Remove(io, a);
  if (top->parsed()) return Top(io, a);
  if (logs->parsed()) return Logs(io, a);
  if (int code = RunEventCommands(*event_commands, io, a.json); code >= 0) return code;
  if (int code = RunSecretCommands(*secret_commands, io, a.json); code >= 0) return code;
  if (int code = RunTokenCommands(*token_commands, io, a.json); code >= 0) return code;
  if (version->parsed()) return VersionCommand(io, a);
  if (completion->parsed()) {
    Result<std::string> script = CompletionScript(app, a.shell);
    if (!script.ok()) return Fail(io, kExitUsage, script.status().message());
    io.out << *script;
    return kExitOk;
  }
  if (up->parsed()) return Fail(io, kExitUsage, "'up' must be the first argument");
  return Fail(io, kExitUsage, "no command (see 'flint --help')");
}

// The executable's own path, from /proc/self/exe.
std::string SelfExe() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

bool IsExecutable(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

const char* Version() { return FLINT_VERSION; }

Result<std::string> ReadDataArg(const std::string& data, std::istream& in) {
  if (data.empty() || data[0] != '@') return data;
  std::string path = data.substr(1);
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return InvalidArgument("cannot read '" + path + "': " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::vector<std::string> FlintdCandidates(const std::string& self_exe) {
  std::vector<std::string> out;
  if (self_exe.empty()) return out;
  std::filesystem::path dir = std::filesystem::path(self_exe).parent_path();
  for (const auto& candidate : {dir / "flintd", dir / ".." / ".." / "scheduler" / "flintd",
                                dir / ".." / "scheduler" / "flintd"}) {
    std::string path = candidate.lexically_normal().string();
    if (IsExecutable(path)) out.push_back(path);
  }
  return out;
}

int RunCli(const std::vector<std::string>& args, CliIo& io) {
  try {
    if (args.size() <= 1) {
      std::vector<std::string> help = {args.empty() ? "flint" : args[0], "--help"};
      return Dispatch(help, io);
    }
    return Dispatch(args, io);
  } catch (const std::exception& e) {
    return Fail(io, kExitFailed, std::string("internal error: ") + e.what());
  }
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() >= 2 && args[1] == "up") {
    std::vector<char*> exec_args;
    exec_args.push_back(const_cast<char*>("flintd"));
    for (int i = 2; i < argc; ++i) exec_args.push_back(argv[i]);
    exec_args.push_back(nullptr);
    std::cout.flush();
    for (const std::string& path : FlintdCandidates(SelfExe())) {
      exec_args[0] = const_cast<char*>(path.c_str());
      ::execv(path.c_str(), exec_args.data());
    }
    exec_args[0] = const_cast<char*>("flintd");
    ::execvp("flintd", exec_args.data());
    std::cerr << "flint: cannot find flintd: looked beside " << SelfExe()
              << ", in the build tree and on $PATH\n";
    return kExitNoFlintd;
  }
  CliIo io{std::cout,
           std::cerr,
           std::cin,
           [](const char* name) -> const char* { return std::getenv(name); },
           ::isatty(STDOUT_FILENO) == 1,
           ::isatty(STDERR_FILENO) == 1,
           ::isatty(STDIN_FILENO) == 1,
           ""};
  return RunCli(args, io);
}

}  // namespace flint::cli
