#include "tools/cli/deploy_command.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sdk/client/flint_client.h"
#include "sdk/core/text.h"
#include "tools/cli/config_flags.h"
#include "tools/cli/deploy_archive.h"
#include "tools/cli/deploy_package.h"
#include "tools/cli/flintd_call.h"
#include "tools/cli/output.h"
#include "tools/cli/progress.h"
#include "tools/cli/project.h"
#include "tools/cli/upload_progress.h"

namespace flint::cli {

using client::BuildTarget;
using nlohmann::json;

struct DeployCommands {
  CLI::App* deploy = nullptr;
  CLI::App* config = nullptr;
  std::string name;
  std::string path;
  std::string entry;
  std::string runtime;
  ConfigFlags flags;
};

namespace {

std::string WorkDir(const CliIo& io) {
  if (!io.cwd.empty()) return io.cwd;
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  return ec ? "." : cwd;
}

// Puts `flags`' settings over `base` (the project file's): given flags win; --env and
// --env-file add to the file's environment.
client::FunctionConfig Overlay(client::FunctionConfig base, const client::FunctionConfig& flags) {
  auto take = [](auto& to, const auto& from) {
    if (from) to = from;
  };
  take(base.memory_mb, flags.memory_mb);
  take(base.timeout_ms, flags.timeout_ms);
  take(base.keep_alive_ms, flags.keep_alive_ms);
  take(base.max_instances, flags.max_instances);
  take(base.concurrency, flags.concurrency);
  take(base.min_instances, flags.min_instances);
  take(base.reserved_concurrency, flags.reserved_concurrency);
  take(base.keep_alive_policy, flags.keep_alive_policy);
  take(base.network, flags.network);
  take(base.max_retries, flags.max_retries);
  take(base.max_event_age_ms, flags.max_event_age_ms);
  if (!base.env) base.env.emplace();
  for (const auto& [k, v] : flags.env_set) (*base.env)[k] = v;
  return base;
}

// Collapses runs of blanks, for comparing cron texts.
std::string Squeeze(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Makes the function's schedules and subscriptions those of the project file (the kinds it
// lists). Prints one line per change.
Status SyncTriggers(CliIo& io, client::FlintClient& flint, const Project& p) {
  if (p.schedules) {
    FLINT_ASSIGN_OR_RETURN(
        std::string listed,
        flint.Call("GET", BuildTarget({"v1", "schedules"}, {{"function", p.name}})));
    json have = json::parse(listed, nullptr, false);
    std::vector<bool> wanted_found(p.schedules->size(), false);
    if (have.is_object() && have.contains("schedules")) {
      for (const json& s : have["schedules"]) {
        std::string cron = s.value("schedule", "");
        json payload = s.contains("payload") ? s["payload"] : json::object();
        bool keep = false;
        for (size_t i = 0; i < p.schedules->size(); ++i) {
          const ProjectSchedule& want = (*p.schedules)[i];
          json want_payload =
              want.payload.empty() ? json::object() : json::parse(want.payload, nullptr, false);
          if (!wanted_found[i] && Squeeze(want.cron) == Squeeze(cron) && want_payload == payload) {
            wanted_found[i] = keep = true;
            break;
          }
        }
        if (keep) continue;
        std::string id = s.value("id", "");
        FLINT_RETURN_IF_ERROR(flint.Call("DELETE", BuildTarget({"v1", "schedules", id})).status());
        io.out << "  removed schedule '" << cron << "'\n";
      }
    }
    for (size_t i = 0; i < p.schedules->size(); ++i) {
      if (wanted_found[i]) continue;
      const ProjectSchedule& want = (*p.schedules)[i];
      json body = {{"function", p.name}, {"schedule", want.cron}};
      if (!want.payload.empty()) body["payload"] = json::parse(want.payload, nullptr, false);
      FLINT_RETURN_IF_ERROR(flint.Call("POST", "/v1/schedules", body.dump()).status());
      io.out << "  schedule '" << want.cron << "' (UTC)\n";
    }
  }
  if (p.topics) {
    FLINT_ASSIGN_OR_RETURN(std::string listed, flint.Call("GET", "/v1/subscriptions"));
    json have = json::parse(listed, nullptr, false);
    std::vector<std::string> current;
    if (have.is_object() && have.contains("subscriptions")) {
      for (const json& s : have["subscriptions"]) {
        if (s.value("function", "") == p.name) current.push_back(s.value("topic", ""));
      }
    }
    for (const std::string& topic : current) {
      if (std::find(p.topics->begin(), p.topics->end(), topic) != p.topics->end()) continue;
      FLINT_RETURN_IF_ERROR(
          flint.Call("DELETE", BuildTarget({"v1", "subscriptions", topic, p.name})).status());
      io.out << "  unsubscribed from " << topic << "\n";
    }
    for (const std::string& topic : *p.topics) {
      if (std::find(current.begin(), current.end(), topic) != current.end()) continue;
      json body = {{"function", p.name}, {"topic", topic}};
      FLINT_RETURN_IF_ERROR(flint.Call("POST", "/v1/subscriptions", body.dump()).status());
      io.out << "  subscribed to " << topic << "\n";
    }
  }
  return Status::Ok();
}

int Deploy(const DeployCommands& c, CliIo& io, bool json_out) {
  Result<client::FunctionConfig> flags = ToFunctionConfig(c.flags, *c.deploy);
  if (!flags.ok()) return Fail(io, kExitUsage, flags.status().message());

  std::optional<Project> project;
  std::string name = c.name;
  std::string path = c.path;
  std::string entry = c.entry;
  std::string runtime = c.runtime;
  client::DeploySpec spec;
  if (name.empty()) {
    std::string dir = WorkDir(io);
    Result<Project> read = ReadProject(dir);
    if (!read.ok()) {
      if (read.status().code() == Code::kNotFound) {
        return Fail(io, kExitUsage,
                    "no flint.toml in " + dir +
                        ": give NAME and PATH ('flint deploy hello index.mjs'), or create a "
                        "project with 'flint init NAME'");
      }
      return Fail(io, kExitUsage, read.status().message());
    }
    project = std::move(read).value();
    name = project->name;
    path = project->dir;
    if (entry.empty()) entry = project->entry;
    if (runtime.empty()) runtime = project->runtime;
    spec.config = Overlay(project->config, *flags);
  } else {
    if (path.empty()) {
      return Fail(io, kExitUsage,
                  "missing PATH: 'flint deploy " + name +
                      " FILE-OR-FOLDER', or 'flint deploy' alone in a folder with flint.toml");
    }
    spec.config = *flags;
  }
  if (Status s = ValidateFunctionName(name); !s.ok()) return Fail(io, kExitUsage, s.message());

  Result<DeployPackage> package = BuildDeployPackage(path, entry, runtime);
  if (!package.ok()) return Fail(io, kExitUsage, package.status().message());
  spec.entry = package->entry;
  spec.runtime = package->runtime;
  if (project) {
    std::erase_if(package->files, [&](const auto& file) {
      if (file.first == spec.entry) return false;
      for (const std::string& pattern : project->exclude) {
        if (MatchesExclude(file.first, pattern)) {
          package->total_bytes -= file.second.size;
          return true;
        }
      }
      return false;
    });
  }

  return WithFlintd(
      io, /*need_token=*/true,
      [&](client::FlintClient& flint, const client::ClientConfig& config) -> Result<int> {
        // The files go as one tar.gz (node_modules/ can be thousands of files), read as it is
        // packed; a large package shows its packing and upload (upload_progress.h), then the
        // wait for flintd's answer.
        UploadProgress upload(io.err, io.stderr_is_tty, package->total_bytes,
                              package->files.size());
        Result<std::string> archive = PackDeployArchive(
            *package, [&](uint64_t done, uint64_t total) { upload.Packed(done, total); });
        if (!archive.ok()) {
          upload.Finish();
          return Fail(io, kExitUsage, archive.status().message());
        }
        upload.PackingDone(archive->size());
        spec.archive = std::move(archive).value();
        ProgressLine progress(io.err, io.stderr_is_tty,
                              spec.runtime == "cpp" ? "building on flintd" : "loading on flintd");
        bool uploading = true;
        flint.set_progress([&](const client::TransferProgress& p) {
          if (uploading && p.upload_total > 0) {
            upload.Sent(p.uploaded, p.upload_total);
            if (p.uploaded < p.upload_total) return;
            upload.Finish();
            uploading = false;
          }
          if (!uploading) progress.Update(p);
        });
        Result<client::Reply<client::FunctionInfo>> reply = flint.Deploy(name, spec);
        if (uploading) upload.Finish();
        progress.Finish();
        flint.set_progress({});
        FLINT_RETURN_IF_ERROR(reply.status());
        PrintReply(io, json_out, *reply, [&](const client::FunctionInfo& info) {
          return FormatDeployed(info, config.url.ToString());
        });
        if (project) FLINT_RETURN_IF_ERROR(SyncTriggers(io, flint, *project));
        return kExitOk;
      });
}

int Config(const DeployCommands& c, CliIo& io, bool json_out) {
  if (Status s = ValidateFunctionName(c.name); !s.ok()) return Fail(io, kExitUsage, s.message());
  Result<client::FunctionConfig> settings = ToFunctionConfig(c.flags, *c.config);
  if (!settings.ok()) return Fail(io, kExitUsage, settings.status().message());
  if (settings->empty()) {
    return Fail(io, kExitUsage,
                "nothing to change: give a setting, e.g. 'flint config " + c.name +
                    " --memory 256' ('flint describe " + c.name + "' shows the current ones)");
  }
  return WithFlintd(io, /*need_token=*/true,
                    [&](client::FlintClient& flint, const client::ClientConfig&) -> Result<int> {
                      FLINT_ASSIGN_OR_RETURN(auto reply, flint.Configure(c.name, *settings));
                      return PrintReply(io, json_out, reply, FormatConfigured);
                    });
}

}  // namespace

std::shared_ptr<DeployCommands> AddDeployCommands(CLI::App& app) {
  auto c = std::make_shared<DeployCommands>();
  c->deploy = app.add_subcommand(
      "deploy",
      "Deploy new code as a new version; settings not given are kept. Without arguments: the "
      "project (flint.toml) in this folder");
  c->deploy->add_option("NAME", c->name, "Function name (a-z, 0-9, '-')");
  c->deploy->add_option("PATH", c->path, "Entry file, or a folder with the function's files");
  AddConfigFlags(*c->deploy, c->flags, /*with_unset=*/false);
  c->deploy->add_option("--entry", c->entry, "Entry file inside the folder");
  c->deploy->add_option("--runtime", c->runtime,
                        "node, v8 or cpp; js is node (default: from the entry's extension)");
  c->deploy->footer(
      "Examples:\n"
      "  flint deploy                                  # the project (flint.toml) in this folder\n"
      "  flint deploy add add.mjs                      # one file\n"
      "  flint deploy hello functions/hello            # a folder\n"
      "  flint deploy hello-cpp functions/hello-cpp    # C++, built on flintd\n"
      "  flint deploy api ./api --memory 512M --timeout 10 --env-file .env\n"
      "Settings not given keep their values; 'flint config' changes settings alone.");

  c->config = app.add_subcommand(
      "config", "Change a function's settings alone (a new version with the same code)");
  c->config->add_option("NAME", c->name, "Function name")->required();
  AddConfigFlags(*c->config, c->flags, /*with_unset=*/true);
  c->config->footer(
      "Examples:\n"
      "  flint config api --memory 1g --timeout 30\n"
      "  flint config api --env LOG_LEVEL=debug --unset-env OLD_FLAG\n"
      "  flint config api --env-file .env.production\n"
      "Every other setting, and the code, stay as they are.");
  return c;
}

int RunDeployCommands(const DeployCommands& c, CliIo& io, bool json) {
  if (c.deploy->parsed()) return Deploy(c, io, json);
  if (c.config->parsed()) return Config(c, io, json);
  return -1;
}

}  // namespace flint::cli
