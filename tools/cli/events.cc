#include "tools/cli/events.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sdk/client/flint_client.h"
#include "sdk/core/text.h"
#include "tools/cli/commands.h"
#include "tools/cli/flintd_call.h"
#include "tools/cli/output.h"

namespace flint::cli {

using client::BuildTarget;
using nlohmann::json;

struct EventCommands {
  CLI::App* invocation = nullptr;
  CLI::App* dlq = nullptr;
  CLI::App* schedule = nullptr;
  CLI::App* subscribe = nullptr;
  CLI::App* unsubscribe = nullptr;
  CLI::App* subscriptions = nullptr;
  CLI::App* publish = nullptr;
  std::vector<std::string> words;  // positional arguments of the parsed command
  std::string data;
  uint32_t limit = 0;
};

namespace {

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string FormatInvocation(const json& j) {
  const json& e = j.at("invocation");
  std::ostringstream out;
  out << "id:        " << Str(e, "id") << "\n"
      << "function:  " << Str(e, "function") << "\n"
      << "trigger:   " << Str(e, "trigger")
      << (e.contains("source") ? " (" + Str(e, "source") + ")" : "") << "\n"
      << "status:    " << Str(e, "status") << "\n"
      << "attempts:  " << Str(e, "attempts") << "\n"
      << "created:   " << Str(e, "created_at") << "\n"
      << "updated:   " << Str(e, "updated_at") << "\n";
  if (e.contains("next_attempt_at")) out << "next:      " << Str(e, "next_attempt_at") << "\n";
  if (e.contains("result")) out << "result:    " << Str(e, "result") << "\n";
  if (e.contains("error")) out << "error:     " << Str(e, "error") << "\n";
  return out.str();
}

std::string FormatDlq(const json& j) {
  const json& list = j.at("dead_letters");
  if (list.empty()) return "no dead letters for " + Str(j, "function") + "\n";
  std::ostringstream out;
  out << "ID                                    ATTEMPTS  UPDATED                   ERROR\n";
  for (const json& e : list) {
    std::string error = Str(e, "error");
    if (e.contains("error") && e["error"].is_object() && e["error"].contains("error")) {
      error = Str(e["error"]["error"], "message");
    }
    char line[128];
    snprintf(line, sizeof line, "%-37s %-9s %-25s ", Str(e, "id").c_str(),
             Str(e, "attempts").c_str(), Str(e, "updated_at").c_str());
    out << line << error.substr(0, 120) << "\n";
  }
  return out.str();
}

std::string FormatSchedules(const json& j) {
  const json& list = j.at("schedules");
  if (list.empty()) return "no schedules\n";
  std::vector<std::vector<std::string>> rows = {{"ID", "FUNCTION", "SCHEDULE (UTC)", "NEXT RUN"}};
  for (const json& s : list) {
    rows.push_back({Str(s, "id"), Str(s, "function"), Str(s, "schedule"), Str(s, "next_run_at")});
  }
  return FormatTable(rows);
}

}  // namespace

std::shared_ptr<EventCommands> AddEventCommands(CLI::App& app) {
  auto c = std::make_shared<EventCommands>();
  c->invocation = app.add_subcommand("invocation", "Show an async invocation's status and result");
  c->invocation->add_option("ID", c->words, "Invocation id (from 'flint invoke --async')")
      ->required()
      ->expected(1);
  c->invocation->footer(
      "Examples:\n"
      "  flint invoke add --async -d '{\"a\": 1, \"b\": 2}'   # prints {\"invocation_id\": ...}\n"
      "  flint invocation 0190b6a2-7c3e-7a1b-9c2d-3e4f5a6b7c8d");
  c->dlq =
      app.add_subcommand("dlq", "List a function's dead letters; 'dlq redrive NAME' retries them");
  c->dlq->add_option("ARGS", c->words, "NAME, or redrive NAME")->required()->expected(1, 2);
  c->dlq->add_option("--limit,-n", c->limit, "Most dead letters to list (default 100)");
  c->dlq->footer(
      "Examples:\n"
      "  flint dlq orders               # what failed, with the last error\n"
      "  flint dlq redrive orders       # run them all again");
  c->schedule = app.add_subcommand(
      "schedule", "Cron schedules (UTC): 'add NAME CRON [--data JSON]', 'ls [NAME]', 'rm ID'");
  c->schedule->add_option("ARGS", c->words, "add NAME CRON | ls [NAME] | rm ID")
      ->required()
      ->expected(1, 3);
  c->schedule->add_option("--data,-d", c->data, "JSON payload of each run, @FILE or @-");
  c->schedule->footer(
      "Examples:\n"
      "  flint schedule add report \"0 6 * * 1-5\"            # 06:00 UTC on weekdays\n"
      "  flint schedule add ping \"@every 30s\" -d '{\"n\": 1}'\n"
      "  flint schedule ls ping\n"
      "  flint schedule rm sch-0190b6a2-7c3e-7a1b-9c2d-3e4f5a6b7c8d");
  c->subscribe = app.add_subcommand("subscribe", "Subscribe a function to a topic");
  c->subscribe->add_option("ARGS", c->words, "NAME TOPIC")->required()->expected(2);
  c->subscribe->footer(
      "Example:\n  flint subscribe mailer orders && flint publish orders -d '{\"id\": 7}'");
  c->unsubscribe = app.add_subcommand("unsubscribe", "Unsubscribe a function from a topic");
  c->unsubscribe->add_option("ARGS", c->words, "NAME TOPIC")->required()->expected(2);
  c->unsubscribe->footer("Example:\n  flint unsubscribe mailer orders");
  c->subscriptions = app.add_subcommand("subscriptions", "List topic subscriptions");
  c->subscriptions->add_option("TOPIC", c->words, "Only this topic")->expected(0, 1);
  c->subscriptions->footer("Examples:\n  flint subscriptions\n  flint subscriptions orders");
  c->publish = app.add_subcommand("publish", "Publish a message to every function on a topic");
  c->publish->add_option("TOPIC", c->words, "Topic")->required()->expected(1);
  c->publish->add_option("--data,-d", c->data, "The message (JSON), @FILE or @-");
  c->publish->footer(
      "Examples:\n"
      "  flint publish orders -d '{\"id\": 7}'\n"
      "  flint publish orders -d @order.json");
  return c;
}

int RunEventCommands(const EventCommands& c, CliIo& io, bool json_out) {
  const std::vector<std::string>& w = c.words;
  if (c.invocation->parsed()) {
    return CallAndPrint(io, json_out, "GET", BuildTarget({"v1", "invocations", w[0]}), "",
                        FormatInvocation);
  }
  if (c.dlq->parsed()) {
    bool redrive = w.size() == 2 && w[0] == "redrive";
    if (w.size() == 2 && !redrive) {
      return Fail(io, kExitUsage, "use 'flint dlq NAME' or 'flint dlq redrive NAME'");
    }
    const std::string& name = redrive ? w[1] : w[0];
    if (Status v = ValidateFunctionName(name); !v.ok()) return Fail(io, kExitUsage, v.message());
    if (redrive) {
      return CallAndPrint(io, json_out, "POST", BuildTarget({"v1", "dlq", name, "redrive"}), "",
                          [](const json& j) {
                            return "re-queued " + Str(j, "redriven") + " dead letter(s) of " +
                                   Str(j, "function") + "\n";
                          });
    }
    std::string target =
        BuildTarget({"v1", "dlq", name}, {{"limit", c.limit > 0 ? std::to_string(c.limit) : ""}});
    return CallAndPrint(io, json_out, "GET", target, "", FormatDlq);
  }
  if (c.schedule->parsed()) {
    const std::string& verb = w[0];
    if (verb == "add" && w.size() == 3) {
      if (Status v = ValidateFunctionName(w[1]); !v.ok()) return Fail(io, kExitUsage, v.message());
      json body = {{"function", w[1]}, {"schedule", w[2]}};
      if (!c.data.empty()) {
        auto data = ReadDataArg(c.data, io.in);
        if (!data.ok()) return Fail(io, kExitUsage, "--data: " + data.status().message());
        json payload = json::parse(*data, nullptr, /*allow_exceptions=*/false);
        if (payload.is_discarded()) return Fail(io, kExitUsage, "--data must be JSON");
        body["payload"] = payload;
      }
      return CallAndPrint(io, json_out, "POST", "/v1/schedules", body.dump(), [](const json& j) {
        const json& s = j.at("schedule");
        return "schedule " + Str(s, "id") + ": " + Str(s, "function") + " at '" +
               Str(s, "schedule") + "' (UTC), next run " + Str(s, "next_run_at") + "\n";
      });
    }
    if ((verb == "ls" || verb == "list") && w.size() <= 2) {
      std::string target =
          BuildTarget({"v1", "schedules"}, {{"function", w.size() == 2 ? w[1] : ""}});
      return CallAndPrint(io, json_out, "GET", target, "", FormatSchedules);
    }
    if (verb == "rm" && w.size() == 2) {
      return CallAndPrint(
          io, json_out, "DELETE", BuildTarget({"v1", "schedules", w[1]}), "",
          [](const json& j) { return "deleted schedule " + Str(j, "deleted") + "\n"; });
    }
    return Fail(io, kExitUsage,
                "use 'flint schedule add NAME \"CRON\" [--data JSON]', 'flint schedule ls "
                "[NAME]' or 'flint schedule rm ID'");
  }
  if (c.subscribe->parsed()) {
    json body = {{"function", w[0]}, {"topic", w[1]}};
    return CallAndPrint(io, json_out, "POST", "/v1/subscriptions", body.dump(),
                        [&](const json&) { return w[0] + " is subscribed to " + w[1] + "\n"; });
  }
  if (c.unsubscribe->parsed()) {
    return CallAndPrint(io, json_out, "DELETE", BuildTarget({"v1", "subscriptions", w[1], w[0]}),
                        "",
                        [&](const json&) { return w[0] + " is unsubscribed from " + w[1] + "\n"; });
  }
  if (c.subscriptions->parsed()) {
    std::string target = BuildTarget({"v1", "subscriptions"}, {{"topic", w.empty() ? "" : w[0]}});
    return CallAndPrint(io, json_out, "GET", target, "", [](const json& j) {
      std::string out;
      for (const json& s : j.at("subscriptions")) {
        out += Str(s, "topic") + " -> " + Str(s, "function") + "\n";
      }
      return out.empty() ? std::string("no subscriptions\n") : out;
    });
  }
  if (c.publish->parsed()) {
    std::string body = "{}";
    if (!c.data.empty()) {
      auto data = ReadDataArg(c.data, io.in);
      if (!data.ok()) return Fail(io, kExitUsage, "--data: " + data.status().message());
      body = std::move(data).value();
    }
    return CallAndPrint(io, json_out, "POST", BuildTarget({"v1", "topics", w[0]}), body,
                        [](const json& j) {
                          std::string out;
                          for (const json& d : j.at("deliveries")) {
                            out += Str(d, "function") + " " + Str(d, "invocation_id") + "\n";
                          }
                          return out.empty() ? "no subscribers to " + Str(j, "topic") + "\n" : out;
                        });
  }
  return -1;
}

}  // namespace flint::cli
