#include "tools/cli/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "sdk/client/flint_client.h"
#include "sdk/core/text.h"
#include "tools/cli/bill.h"
#include "tools/cli/deploy_package.h"
#include "tools/cli/events.h"
#include "tools/cli/flintd_call.h"
#include "tools/cli/output.h"

#ifndef FLINT_VERSION
#define FLINT_VERSION "unknown"
#endif

namespace flint::cli {
namespace {

// Everything the command line can set; CLI11 writes into it.
struct Args {
  bool json = false;
  std::string name;
  // deploy
  std::string path;
  uint32_t memory_mb = 0;
  double cpu = 0;
  std::string timeout;
  std::string keep_alive;
  uint32_t max_instances = 0;
  uint32_t concurrency = 0;
  uint32_t min_instances = 0;
  uint32_t reserved_concurrency = 0;
  std::string keep_alive_policy;
  std::string network;
  uint32_t max_retries = 0;
  std::string max_event_age;
  std::vector<std::string> env;
  std::string entry;
  std::string runtime;
  // invoke
  std::string data;
  std::string rest_path;
  std::string method;
  std::vector<std::string> headers;
  bool async = false;  // docs/triggers.md
  std::string idempotency_key;
  // logs
  uint32_t limit = 0;
  // top
  std::string interval = "1s";
  uint32_t iterations = 0;
  // bill
  BillOptions bill;
};

int Deploy(CliIo& io, const Args& a, const CLI::App& cmd) {
  Status name_ok = ValidateFunctionName(a.name);
  if (!name_ok.ok()) return Fail(io, kExitUsage, name_ok.message());
  client::DeploySpec spec;
  client::FunctionConfig& c = spec.config;
  if (cmd.count("--memory") > 0) c.memory_mb = a.memory_mb;
  if (cmd.count("--cpu") > 0) c.cpu = a.cpu;
  if (cmd.count("--max-instances") > 0) c.max_instances = a.max_instances;
  if (cmd.count("--concurrency") > 0) c.concurrency = a.concurrency;
  if (cmd.count("--min-instances") > 0) c.min_instances = a.min_instances;
  if (cmd.count("--reserved-concurrency") > 0) c.reserved_concurrency = a.reserved_concurrency;
  if (cmd.count("--keep-alive-policy") > 0) {
    if (a.keep_alive_policy != "fixed" && a.keep_alive_policy != "adaptive") {
      return Fail(
          io, kExitUsage,
          "--keep-alive-policy must be 'fixed' or 'adaptive', got '" + a.keep_alive_policy + "'");
    }
    c.keep_alive_policy = a.keep_alive_policy;
  }
  if (cmd.count("--timeout") > 0) {
    Result<uint64_t> ms = ParseDurationMs(a.timeout);
    if (!ms.ok()) return Fail(io, kExitUsage, "--timeout: " + ms.status().message());
    c.timeout_ms = *ms;
  }
  if (cmd.count("--keep-alive") > 0) {
    Result<uint64_t> ms = ParseDurationMs(a.keep_alive);
    if (!ms.ok()) return Fail(io, kExitUsage, "--keep-alive: " + ms.status().message());
    c.keep_alive_ms = *ms;
  }
  if (cmd.count("--network") > 0) {
    if (a.network != "none" && a.network != "outbound") {
      return Fail(io, kExitUsage,
                  "--network must be 'none' or 'outbound', got '" + a.network + "'");
    }
    c.network = a.network;
  }
  if (cmd.count("--max-retries") > 0) c.max_retries = a.max_retries;
  if (cmd.count("--max-event-age") > 0) {
    Result<uint64_t> ms = ParseDurationMs(a.max_event_age);
    if (!ms.ok()) return Fail(io, kExitUsage, "--max-event-age: " + ms.status().message());
    c.max_event_age_ms = *ms;
  }
  for (const std::string& kv : a.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(io, kExitUsage, "invalid --env '" + kv + "': use KEY=VALUE");
    }
    c.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  Result<DeployPackage> package = BuildDeployPackage(a.path, a.entry, a.runtime);
  if (!package.ok()) return Fail(io, kExitUsage, package.status().message());
  spec.entry = package->entry;
  spec.runtime = package->runtime;
  spec.files = std::move(package->files);

  return WithFlintd(
      io, /*need_token=*/true,
      [&](client::FlintClient& flint, const client::ClientConfig& config) -> Result<int> {
        FLINT_ASSIGN_OR_RETURN(auto reply, flint.Deploy(a.name, spec));
        return PrintReply(io, a.json, reply, [&](const client::FunctionInfo& info) {
          return FormatDeployed(info, config.url.ToString());
        });
      });
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
  request.path = a.rest_path;
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

  return WithFlintd(io, /*need_token=*/false,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      FLINT_ASSIGN_OR_RETURN(client::HttpResponse r, flint.Invoke(a.name, request));
                      bool success = r.status >= 200 && r.status <= 299;
                      bool flint_error = !success && client::IsFlintErrorBody(r.body);
                      if (!flint_error) {
                        io.out << r.body;
                        if (io.stdout_is_tty && !r.body.empty() && r.body.back() != '\n')
                          io.out << "\n";
                        io.out.flush();
                      }
                      if (success) return kExitOk;
                      std::string message = client::ErrorFromResponse(r).message();
                      if (const std::string* retry = r.FindHeader("Retry-After");
                          retry && r.status == 429) {
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

int Dispatch(const std::vector<std::string>& args, CliIo& io) {
  Args a;
  CLI::App app{
      "flint: deploy and run serverless functions on flintd.\n"
      "Server: $FLINT_URL, else <data dir>/flintd.url, else http://127.0.0.1:8080.\n"
      "Token: $FLINT_TOKEN, else <data dir>/admin.token. Data dir: $FLINT_DATA_DIR,\n"
      "else $XDG_DATA_HOME/flint, else ~/.local/share/flint.",
      "flint"};
  app.add_flag("--json", a.json, "Print flintd's raw JSON answer instead of text");
  app.require_subcommand(1);
  app.fallthrough();

  CLI::App* deploy = app.add_subcommand("deploy", "Deploy a file or folder as a new version");
  deploy->add_option("NAME", a.name, "Function name (a-z, 0-9, '-')")->required();
  deploy->add_option("PATH", a.path, "Entry file, or a folder with the function's files")
      ->required();
  deploy->add_option("--memory", a.memory_mb, "Memory size in MB");
  deploy->add_option("--cpu", a.cpu,
                     "Hard CPU limit in CPUs, e.g. 0.5 or 2 (default: none; a share of the CPU "
                     "in proportion to memory under contention)");
  deploy->add_option("--timeout", a.timeout, "Longest run of one invocation (e.g. 3s, 300ms)");
  deploy->add_option("--keep-alive", a.keep_alive, "Idle time before a warm worker stops");
  deploy->add_option("--max-instances", a.max_instances, "Most workers at once");
  deploy->add_option("--concurrency", a.concurrency, "Invocations at once per worker");
  deploy->add_option("--min-instances", a.min_instances,
                     "Workers kept warm even without traffic (default 0: scale to zero)");
  deploy->add_option("--reserved-concurrency", a.reserved_concurrency,
                     "Workers' worth of node memory reserved for this function only");
  deploy->add_option("--keep-alive-policy", a.keep_alive_policy,
                     "fixed or adaptive (default: flintd's --keep-alive-policy)");
  deploy->add_option("--network", a.network,
                     "none (default) or outbound: may open connections out, not to the host");
  deploy->add_option("--max-retries", a.max_retries,
                     "Retries of a failed event (default: flintd's --event-max-retries, 2)");
  deploy->add_option("--max-event-age", a.max_event_age,
                     "Oldest an event may get before it is dead-lettered (e.g. 10m; default 6h)");
  deploy->add_option("--env", a.env, "Environment variable KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  deploy->add_option("--entry", a.entry, "Entry file inside the folder");
  deploy->add_option("--runtime", a.runtime,
                     "node, v8 or cpp; js is node (default: from the entry's extension)");

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

  CLI::App* ls = app.add_subcommand("ls", "List deployed functions");
  ls->alias("list");
  CLI::App* describe = app.add_subcommand("describe", "Show a function's config, versions, pool");
  describe->add_option("NAME", a.name, "Function name")->required();
  CLI::App* bill = app.add_subcommand("bill", "Usage and cost by function, version, day or hour");
  bill->add_option("--from", a.bill.from, "Start: 2025-01-02, RFC 3339, epoch ms, or 24h (ago)");
  bill->add_option("--to", a.bill.to, "End (exclusive), same forms (default: now)");
  bill->add_option("--function", a.bill.function, "Only this function");
  bill->add_option("--by", a.bill.by, "function, version, day, hour or none")
      ->capture_default_str();
  bill->add_option("--format", a.bill.format, "table, json or csv")->capture_default_str();
  CLI::App* top = app.add_subcommand("top", "Live view of the node's worker pools (like top)");
  top->add_option("--interval", a.interval, "Refresh interval (e.g. 1s, 500ms)")
      ->capture_default_str();
  top->add_option("--iterations,-n", a.iterations, "Refreshes before exiting (0: until Ctrl-C)");
  CLI::App* rm = app.add_subcommand("rm", "Delete a function");
  rm->add_option("NAME", a.name, "Function name")->required();
  CLI::App* logs = app.add_subcommand("logs", "Show a function's recent console output");
  logs->add_option("NAME", a.name, "Function name")->required();
  logs->add_option("--limit,-n", a.limit, "Most records to show (default: flintd's, 100)");
  CLI::App* up = app.add_subcommand("up", "Run flintd in the foreground (arguments go to flintd)");
  up->allow_extras();
  CLI::App* version = app.add_subcommand("version", "Print flint's version");
  std::shared_ptr<EventCommands> event_commands = AddEventCommands(app);

  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    io.out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    io.out << app.help("", CLI::AppFormatMode::All);
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

  if (deploy->parsed()) return Deploy(io, a, *deploy);
  if (invoke->parsed()) return Invoke(io, a, *invoke);
  if (ls->parsed()) return List(io, a);
  if (describe->parsed()) return Describe(io, a);
  if (bill->parsed()) return Bill(io, a);
  if (rm->parsed()) return Remove(io, a);
  if (top->parsed()) return Top(io, a);
  if (logs->parsed()) return Logs(io, a);
  if (int code = RunEventCommands(*event_commands, io, a.json); code >= 0) return code;
  if (version->parsed()) {
    io.out << "flint " << FLINT_VERSION << "\n";
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
  CliIo io{std::cout, std::cerr, std::cin,
           [](const char* name) -> const char* { return std::getenv(name); },
           ::isatty(STDOUT_FILENO) == 1};
  return RunCli(args, io);
}

}  // namespace flint::cli
