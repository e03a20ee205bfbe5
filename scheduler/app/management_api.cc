#include "scheduler/app/management_api.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "scheduler/app/api_json.h"
#include "scheduler/app/api_requests.h"
#include "scheduler/app/deploy.h"
#include "scheduler/meter/report.h"
#include "sdk/core/clock.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

json FunctionInfo(const FunctionVersion& fn) {
  json env = json::object();
  for (const auto& [k, v] : fn.config.env) env[k] = v;
  json secrets = json::array();  // names only: a value never leaves flintd
  for (const auto& secret : fn.secrets) secrets.push_back(secret.first);
  return {{"name", fn.name},
          {"version", fn.version},
          {"runtime", RuntimeName(fn.runtime)},
          {"entry", fn.entry},
          {"code_digest", fn.code_digest},
          {"memory_mb", fn.config.memory_mb},
          {"timeout_ms", fn.config.timeout_ms},
          {"keep_alive_ms", fn.config.keep_alive_ms},
          {"max_instances", fn.config.max_instances},
          {"concurrency", fn.config.concurrency},
          {"min_instances", fn.config.min_instances},
          {"reserved_concurrency", fn.config.reserved_concurrency},
          {"keep_alive_policy", fn.config.keep_alive_policy},
          {"network", fn.config.network},
          {"visibility", fn.config.is_private ? "private" : "public"},
          {"cpu", fn.config.cpu_millis / 1000.0},
          {"max_retries", fn.config.max_retries},
          {"max_event_age_ms", fn.config.max_event_age_ms},
          {"env", env},
          {"secrets", secrets},
          {"created_at", Rfc3339(fn.created_at_ms)}};
}

double Ms(uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

// What each worker of `fn` gets from its cgroup (null without cgroups): the CPU weight (1024 =
// one vCPU's share under contention) and the hard quota in CPUs (null: none).
json LimitsJson(const FunctionVersion& fn, std::optional<isolation::CpuMode> mode) {
  if (!mode) return nullptr;
  isolation::Limits limits = isolation::LimitsFor(fn.config.memory_mb, fn.config.cpu_millis, *mode);
  json quota = nullptr;
  if (limits.cpu_quota_us != 0) {
    quota = static_cast<double>(limits.cpu_quota_us) / static_cast<double>(limits.cpu_period_us);
  }
  return {{"cpu_mode", isolation::CpuModeName(*mode)},
          {"cpu_weight", limits.cpu_shares},
          {"cpu_quota", quota},
          {"cpu_period_ms", limits.cpu_period_us / 1000},
          {"memory_mb", fn.config.memory_mb}};
}

json PoolJson(const PoolStatus& p) {
  json keep_alive = {{"policy", p.adaptive ? "adaptive" : "fixed"},
                     {"fixed_ms", p.keep_alive_ms},
                     {"learned", p.windows.learned}};
  if (p.windows.learned) {
    keep_alive["prewarm_ms"] = p.windows.prewarm_ms;
    keep_alive["window_ms"] = p.windows.keep_alive_ms;
  }
  json pool = {
      {"version", p.version},
      {"workers",
       {{"starting", p.counts.starting}, {"idle", p.counts.idle}, {"busy", p.counts.busy}}},
      {"queue", p.counts.queued},
      {"invocations", p.invocations},
      {"cold_starts", p.cold_starts},
      {"cold_start_ms", {{"p50", Ms(p.cold_start_p50_us)}, {"p99", Ms(p.cold_start_p99_us)}}},
      {"errors", p.errors},
      {"throttles", p.throttles},
      {"evictions", p.evictions},
      {"idle_worker_ms", p.idle_worker_ms},
      {"cpu_ms", Ms(p.cpu_us)},
      {"peak_memory_mb", static_cast<double>(p.peak_memory_bytes) / (1 << 20)},
      {"memory_mb", p.memory_mb},
      {"min_instances", p.min_instances},
      {"keep_alive", keep_alive}};
  if (!p.blocked.empty()) pool["waiting_for"] = p.blocked;
  return pool;
}

}  // namespace

void ManagementApi::List(HttpResponder responder) {
  auto result = std::make_shared<Result<std::vector<FunctionVersion>>>(Internal("not run"));
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_, [store, result] { *result = store->ListLive(); },
      [this, result, shared] {
        if (!result->ok()) return shared->Send(ErrorResponse(result->status()));
        json list = json::array();
        for (auto& fn : **result) {
          // The names of its secrets, which the store's versions do not carry.
          if (auto live = dispatcher_->FindLive(fn.name)) fn.secrets = live->secrets;
          list.push_back(FunctionInfo(fn));
        }
        shared->Send(Json(200, {{"functions", list}}));
      });
}

void ManagementApi::Pools(HttpResponder responder) {
  NodeStatus n = dispatcher_->Node();
  json pools = json::array();
  for (const auto& p : dispatcher_->AllPoolStatuses()) {
    json pool = PoolJson(p);
    pool["name"] = p.name;
    pools.push_back(std::move(pool));
  }
  responder.Send(Json(200, {{"node",
                             {{"memory_budget_mb", n.memory_budget_mb},
                              {"memory_used_mb", n.memory_used_mb},
                              {"memory_reserved_mb", n.memory_reserved_mb},
                              {"workers", n.workers},
                              {"generic_ready", n.generic_ready},
                              {"generic_spawning", n.generic_spawning},
                              {"generic_target", n.generic_target},
                              {"spawn_waits", n.spawn_waits},
                              {"idle_worker_ms", n.idle_worker_ms},
                              {"evictions", n.evictions},
                              {"cold_starts", n.cold_starts},
                              {"invocations", n.invocations}}},
                            {"pools", pools}}));
}

void ManagementApi::Describe(const std::string& name, HttpResponder responder) {
  struct Out {
    Result<FunctionVersion> live = Internal("not run");
    Result<std::vector<FunctionVersion>> versions = Internal("not run");
    Result<meter::Report> usage = Internal("not run");  // the last 24 hours
  };
  auto out = std::make_shared<Out>();
  auto store = store_;
  auto ledger = ledger_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_,
      [store, ledger, out, name] {
        out->live = store->GetLive(name);
        if (out->live.ok()) out->versions = store->ListVersions(name);
        meter::ReportParams day;
        day.to_ms = WallClockMs();
        day.from_ms = day.to_ms - 24 * 3600 * 1000;
        day.function = name;
        day.by = LedgerGroupBy::kNone;
        out->usage = meter::RunReport(*ledger, day);
      },
      [this, out, shared, name] {
        if (!out->live.ok()) return shared->Send(ErrorResponse(out->live.status()));
        if (!out->versions.ok()) return shared->Send(ErrorResponse(out->versions.status()));
        if (auto live = dispatcher_->FindLive(name)) out->live->secrets = live->secrets;
        json versions = json::array();
        for (const auto& v : *out->versions) {
          versions.push_back({{"version", v.version},
                              {"created_at", Rfc3339(v.created_at_ms)},
                              {"code_digest", v.code_digest},
                              {"runtime", RuntimeName(v.runtime)}});
        }
        json pools = json::array();
        PoolStatus empty;
        empty.version = out->live->version;
        empty.memory_mb = out->live->config.memory_mb;
        empty.min_instances = out->live->config.min_instances;
        json live_pool = PoolJson(empty);
        for (const auto& p : dispatcher_->PoolStatuses(name)) {
          json pool = PoolJson(p);
          if (p.version == out->live->version) live_pool = pool;
          pools.push_back(pool);
        }
        json usage = nullptr;
        if (out->usage.ok()) {
          usage = json::parse(meter::RowJson(out->usage->total));
          usage.erase("key");
          usage["from"] = Rfc3339(out->usage->params.from_ms);
          usage["to"] = Rfc3339(out->usage->params.to_ms);
        }
        shared->Send(Json(200, {{"function", FunctionInfo(*out->live)},
                                {"limits", LimitsJson(*out->live, cpu_mode_)},
                                {"versions", versions},
                                {"pool", live_pool},
                                {"pools", pools},
                                {"usage", usage}}));
      });
}

void ManagementApi::Delete(const std::string& name, HttpResponder responder) {
  auto status = std::make_shared<Status>();
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  auto secrets = secrets_;
  loop::RunBlocking(
      loop_,
      [store, secrets, status, name] {
        *status = store->DeleteFunction(name);
        if (status->ok()) *status = secrets->DeleteAll(name);
      },
      [this, status, shared, name] {
        if (!status->ok()) return shared->Send(ErrorResponse(*status));
        dispatcher_->Remove(name);
        spdlog::info("deleted function {}", name);
        shared->Send(Json(200, {{"deleted", name}}));
      });
}

void ManagementApi::Logs(const std::string& name, const HttpRequest& request,
                         HttpResponder responder) {
  size_t limit = 100;
  if (auto pos = request.query.find("limit="); pos != std::string::npos) {
    limit = std::strtoul(request.query.c_str() + pos + 6, nullptr, 10);
    if (limit == 0 || limit > 1000) limit = 1000;
  }
  if (!dispatcher_->FindLive(name)) {
    return responder.Send(ErrorResponse(NotFound("function '" + name + "' does not exist")));
  }
  json logs = json::array();
  for (const auto& r : dispatcher_->logs().Tail(name, limit)) {
    logs.push_back({{"time", Rfc3339(static_cast<int64_t>(r.time_ms))},
                    {"request_id", r.request_id},
                    {"trace_id", r.trace_id},
                    {"level", r.level},
                    {"message", r.message}});
  }
  responder.Send(Json(200, {{"logs", logs}}));
}

void ManagementApi::Deploy(const std::string& name, HttpRequest&& request,
                           HttpResponder responder) {
  // Step 1 (thread pool): parse, decode and store the code content-addressed; a C++ build the
  // cache cannot answer runs next, through the build service (step 1b). Settings the request
  // does not give keep the live version's values.
  struct State {
    std::string body;
    std::string content_type;
    Result<PreparedDeploy> prepared = Internal("not run");
    bool built = false;  // a C++ build ran for this deploy
  };
  auto state = std::make_shared<State>();
  state->body = std::move(request.body);
  if (const std::string* type = request.FindHeader("content-type")) state->content_type = *type;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  auto store = store_;
  auto code = code_;
  std::string data_dir = data_dir_;
  BuildOptions build = build_;
  // Step 2: load in a worker, record the new immutable version, make it live (CommitVersion).
  auto commit = [this, state, shared, name] {
    const PreparedDeploy& p = *state->prepared;
    FunctionVersion candidate;
    candidate.name = name;
    candidate.runtime = p.runtime;
    candidate.entry = p.entry;
    candidate.code_digest = p.code_digest;
    candidate.config = p.config;
    std::string warning;
    if (build_.sandbox_path.empty() && (state->built || p.build_cached)) {
      warning =
          "isolation is off (flintd --no-isolation): C++ functions are built without the build "
          "sandbox";
    }
    CommitVersion(std::move(candidate), 201, std::to_string(p.file_count) + " file(s)",
                  std::move(*shared), warning);
  };
  loop::RunBlocking(
      loop_,
      [state, store, code, data_dir, build, name] {
        Result<FunctionVersion> live = store->GetLive(name);
        if (!live.ok() && live.status().code() != Code::kNotFound) {
          state->prepared = live.status();
          return;
        }
        FunctionConfig base = live.ok() ? live->config : FunctionConfig();
        state->prepared =
            PrepareDeploy(state->body, state->content_type, *code, data_dir, build, base);
        state->body = std::string();  // frees it: a deploy body can be hundreds of megabytes
      },
      [this, state, shared, commit] {
        if (!state->prepared.ok()) return shared->Send(ErrorResponse(state->prepared.status()));
        std::shared_ptr<PendingBuild> pending = state->prepared->build;
        if (!pending) return commit();
        auto built = [state, shared, commit](Result<std::string> digest, uint32_t retry_after_s) {
          if (!digest.ok()) {
            HttpResponse response = ErrorResponse(digest.status());
            if (retry_after_s > 0) {
              SetRetryAfter(response, retry_after_s);
            }
            return shared->Send(std::move(response));
          }
          state->prepared->code_digest = *digest;
          state->prepared->build.reset();
          state->built = true;
          commit();
        };
        if (Status submitted = builds_->Submit(std::move(pending), built); !submitted.ok()) {
          HttpResponse response = ErrorResponse(submitted);
          SetRetryAfter(response, builds_->RetryAfterSeconds());
          shared->Send(std::move(response));
        }
      });
}

void ManagementApi::Configure(const std::string& name, HttpRequest&& request,
                              HttpResponder responder) {
  // Thread pool: the live version's code with the request's settings applied.
  auto candidate = std::make_shared<Result<FunctionVersion>>(Internal("not run"));
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_,
      [store, candidate, name, body = std::move(request.body)] {
        Result<ConfigPatch> patch = ParseConfigPatch(body);
        if (!patch.ok()) {
          *candidate = patch.status();
          return;
        }
        *candidate = store->GetLive(name);
        if (!candidate->ok()) return;
        Result<FunctionConfig> config = ApplyConfigPatch((*candidate)->config, *patch);
        if (!config.ok()) {
          *candidate = config.status();
          return;
        }
        (*candidate)->config = std::move(config).value();
      },
      [this, candidate, shared] {
        if (!candidate->ok()) return shared->Send(ErrorResponse(candidate->status()));
        CommitVersion(std::move(candidate->value()), 200, "configuration", std::move(*shared));
      });
}

void ManagementApi::CommitVersion(FunctionVersion candidate, int http_status,
                                  const std::string& what, HttpResponder responder,
                                  const std::string& warning) {
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  auto fn = std::make_shared<FunctionVersion>(std::move(candidate));
  // The code must load with its settings (and its secrets in the environment): syntax errors,
  // a missing handler or too little memory are reported now, not on the first request.
  auto secrets = secrets_;
  auto values = std::make_shared<Result<std::vector<EnvVar>>>(Internal("not run"));
  loop::RunBlocking(
      loop_, [secrets, values, name = fn->name] { *values = secrets->Values(name); },
      [this, fn, values, shared, http_status, what, warning] {
        if (!values->ok()) return shared->Send(ErrorResponse(values->status()));
        fn->secrets = std::move(values->value());
        dispatcher_->CheckLoads(*fn, [this, fn, shared, http_status, what, warning](Status loaded) {
          if (!loaded.ok()) return shared->Send(ErrorResponse(loaded));
          // Thread pool: record the new immutable version.
          auto created = std::make_shared<Result<FunctionVersion>>(Internal("not run"));
          auto store = store_;
          loop::RunBlocking(
              loop_,
              [store, fn, created] {
                *created = store->CreateVersion(fn->name, std::string(RuntimeName(fn->runtime)),
                                                fn->entry, fn->code_digest, fn->config);
              },
              [this, fn, created, shared, http_status, what, warning] {
                if (!created->ok()) return shared->Send(ErrorResponse(created->status()));
                (*created)->secrets = fn->secrets;
                auto live = std::make_shared<const FunctionVersion>(std::move(created->value()));
                dispatcher_->SetLive(live);
                spdlog::info("{}@{}: new version ({}, digest {})", live->name, live->version, what,
                             live->code_digest.substr(0, 12));
                HttpResponse response = Json(http_status, {{"function", FunctionInfo(*live)}});
                if (!warning.empty()) response.headers.emplace_back("x-flint-warning", warning);
                shared->Send(std::move(response));
              });
        });
      });
}

void ManagementApi::Secrets(const std::string& name, const std::string& key, HttpRequest&& request,
                            HttpResponder responder) {
  const std::string method = request.method;
  auto live = dispatcher_->FindLive(name);
  if (!live) {
    return responder.Send(ErrorResponse(NotFound("function '" + name + "' does not exist")));
  }
  std::string value;
  if (method == "PUT") {
    json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("value") || !body["value"].is_string()) {
      return responder.Send(
          ErrorResponse(InvalidArgument("the body must be {\"value\": \"...\"}")));
    }
    value = body["value"].get<std::string>();
  }
  struct Out {
    Status status;
    bool found = true;
    std::vector<std::string> names;
  };
  auto out = std::make_shared<Out>();
  auto secrets = secrets_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_,
      [secrets, out, name, key, method, value = std::move(value)] {
        if (method == "PUT") {
          out->status = secrets->Put(name, key, value);
        } else if (method == "DELETE") {
          auto removed = secrets->Delete(name, key);
          out->status = removed.status();
          out->found = removed.ok() && *removed;
        } else {
          auto names = secrets->Names(name);
          out->status = names.status();
          if (names.ok()) out->names = std::move(names).value();
        }
      },
      [this, out, shared, live, name, key, method] {
        if (!out->status.ok()) return shared->Send(ErrorResponse(out->status));
        if (method == "GET") {
          return shared->Send(Json(200, {{"function", name}, {"secrets", out->names}}));
        }
        if (!out->found) {
          return shared->Send(
              ErrorResponse(NotFound("function '" + name + "' has no secret '" + key + "'")));
        }
        // A new version with the same code and settings: new workers get the new secrets.
        FunctionVersion next = *live;
        next.secrets.clear();
        CommitVersion(std::move(next), 200, "secret " + key, std::move(*shared));
      });
}

void ManagementApi::Billing(const HttpRequest& request, HttpResponder responder) {
  auto params = meter::ParseReportParams(meter::SplitQuery(request.query), WallClockMs());
  if (!params.ok()) return responder.Send(ErrorResponse(params.status()));
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  auto ledger = ledger_;
  // Flush first: every invocation answered before this request is in the report.
  meter_->Flush([this, shared, ledger, p = *params] {
    auto out = std::make_shared<Result<meter::Report>>(Internal("not run"));
    loop::RunBlocking(
        loop_, [ledger, out, p] { *out = meter::RunReport(*ledger, p); },
        [out, shared] {
          if (!out->ok()) return shared->Send(ErrorResponse(out->status()));
          HttpResponse response;
          std::string type;
          response.body = meter::RenderReport(**out, &type);
          response.headers.emplace_back("content-type", type);
          shared->Send(std::move(response));
        });
  });
}

void ManagementApi::Prices(HttpRequest&& request, HttpResponder responder) {
  auto sheet_json = [](const meter::PriceSheet& s) {
    return json{{"id", s.id},
                {"effective_from", Rfc3339(s.effective_from_ms)},
                {"per_million_requests_usd", meter::FormatDollars(s.per_million_requests_pico)},
                {"per_gb_second_usd", meter::FormatDollars(s.per_gb_second_pico)},
                {"bill_init", s.bill_init}};
  };
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  if (request.method == "GET") {
    auto rows = std::make_shared<Result<std::vector<PriceSheetRow>>>(Internal("not run"));
    auto ledger = ledger_;
    loop::RunBlocking(
        loop_, [ledger, rows] { *rows = ledger->PriceSheets(); },
        [rows, shared, sheet_json] {
          if (!rows->ok()) return shared->Send(ErrorResponse(rows->status()));
          json list = json::array();
          for (const auto& r : **rows) {
            meter::PriceSheet s;
            s.id = r.id;
            s.effective_from_ms = r.effective_from_ms;
            s.per_million_requests_pico = r.per_million_requests_pico;
            s.per_gb_second_pico = r.per_gb_second_pico;
            s.bill_init = r.bill_init;
            list.push_back(sheet_json(s));
          }
          shared->Send(Json(200, {{"prices", list}}));
        });
    return;
  }
  // PUT {"per_million_requests_usd": "0.20", "per_gb_second_usd": "0.0000166667",
  //      "bill_init": false, "effective_from": "2030-01-01T00:00:00Z" (default: now)}
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return shared->Send(ErrorResponse(InvalidArgument("the body must be a JSON object")));
  }
  meter::PriceSheet sheet;
  for (const char* key : {"per_million_requests_usd", "per_gb_second_usd"}) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string()) {
      return shared->Send(ErrorResponse(InvalidArgument(
          std::string("'") + key + "' is required, as a decimal string such as \"0.20\"")));
    }
    auto pico = meter::ParseDollars(it->get<std::string>());
    if (!pico.ok()) return shared->Send(ErrorResponse(pico.status()));
    (std::string(key) == "per_gb_second_usd" ? sheet.per_gb_second_pico
                                             : sheet.per_million_requests_pico) = *pico;
  }
  if (auto it = body.find("bill_init"); it != body.end()) {
    if (!it->is_boolean()) {
      return shared->Send(ErrorResponse(InvalidArgument("'bill_init' must be true or false")));
    }
    sheet.bill_init = it->get<bool>();
  }
  if (auto it = body.find("effective_from"); it != body.end()) {
    if (!it->is_string()) {
      return shared->Send(ErrorResponse(InvalidArgument("'effective_from' must be a time string")));
    }
    auto t = meter::ParseTime(it->get<std::string>(), WallClockMs());
    if (!t.ok()) return shared->Send(ErrorResponse(t.status()));
    sheet.effective_from_ms = *t;
  }
  meter_->SetPrices(sheet, [shared, sheet_json](Result<meter::PriceSheet> added) {
    if (!added.ok()) return shared->Send(ErrorResponse(added.status()));
    spdlog::info("price sheet {} takes effect at {}", added->id, Rfc3339(added->effective_from_ms));
    shared->Send(Json(201, {{"price_sheet", sheet_json(*added)}}));
  });
}

}  // namespace flint::scheduler
