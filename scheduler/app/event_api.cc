#include "scheduler/app/event_api.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "scheduler/app/api_json.h"
#include "scheduler/app/api_requests.h"
#include "sdk/core/clock.h"
#include "sdk/core/text.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

json EventJson(const EventRow& r, bool running) {
  json out = {{"id", r.id},
              {"function", r.function},
              {"trigger", r.trigger},
              {"status", running ? "running" : r.state},
              {"attempts", r.attempts},
              {"created_at", Rfc3339(r.created_ms)},
              {"updated_at", Rfc3339(r.updated_ms)}};
  if (!r.source.empty()) out["source"] = r.source;
  if (r.state == "queued") out["next_attempt_at"] = Rfc3339(r.due_ms);
  if (!r.idempotency_key.empty()) out["idempotency_key"] = r.idempotency_key;
  if (!r.last_error.empty()) out["error"] = AsJson(r.last_error);
  if (r.state == "succeeded") out["result"] = AsJson(r.result);
  return out;
}

std::string QueryParam(const std::string& query, const std::string& name) {
  for (size_t pos = 0; pos <= query.size();) {
    size_t amp = query.find('&', pos);
    std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (part.rfind(name + "=", 0) == 0) {
      return PercentDecode(part.substr(name.size() + 1), /*plus_is_space=*/true);
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

// A 429 that tells the client when to retry.
HttpResponse TooManyRequests(const Status& status) {
  HttpResponse response = ErrorResponse(status);
  SetRetryAfter(response, 1);
  return response;
}

}  // namespace

void EventApi::Submit(const std::shared_ptr<const FunctionVersion>& fn, HttpRequest&& request,
                      HttpResponder responder) {
  if (events_->stopped()) {
    return responder.Send(ErrorResponse(Unavailable("flintd is shutting down")));
  }
  const EventOptions& options = events_->options();
  auto payload = EventPayload(std::move(request.body), options.max_payload_bytes);
  if (!payload.ok()) return responder.Send(ErrorResponse(payload.status()));
  if (events_->DepthOf(fn->name) >= options.max_queue_depth) {
    return responder.Send(
        TooManyRequests(Status(Code::kTooManyRequests, "function '" + fn->name + "' has " +
                                                           std::to_string(options.max_queue_depth) +
                                                           " events queued, its limit")));
  }
  std::string idempotency_key;
  if (const std::string* key = request.FindHeader("x-flint-idempotency-key")) {
    idempotency_key = key->substr(0, 256);
  }
  events_->Accept(fn->name, std::move(payload).value(), std::move(idempotency_key),
                  [r = std::make_shared<HttpResponder>(std::move(responder))](
                      Result<EventService::Accepted> accepted) {
                    if (!accepted.ok()) return r->Send(ErrorResponse(accepted.status()));
                    HttpResponse response = Json(202, {{"invocation_id", accepted->id}});
                    response.headers.emplace_back("x-flint-invocation-id", accepted->id);
                    if (accepted->duplicate) {
                      response.headers.emplace_back("x-flint-duplicate", "true");
                    }
                    r->Send(std::move(response));
                  });
}

void EventApi::GetInvocation(const std::string& id, HttpResponder responder) {
  auto out = std::make_shared<Result<std::optional<EventRow>>>(Internal("not run"));
  auto queue = queue_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_, [queue, out, id] { *out = queue->Get(id); },
      [this, out, shared, id] {
        if (!out->ok()) return shared->Send(ErrorResponse(out->status()));
        if (!out->value()) {
          return shared->Send(ErrorResponse(NotFound("no invocation '" + id + "'")));
        }
        shared->Send(Json(200, {{"invocation", EventJson(*out->value(), events_->running(id))}}));
      });
}

void EventApi::DeadLetters(const std::string& function, const HttpRequest& request,
                           HttpResponder responder) {
  uint32_t limit = 100;
  if (std::string l = QueryParam(request.query, "limit"); !l.empty()) {
    limit = static_cast<uint32_t>(std::strtoul(l.c_str(), nullptr, 10));
    if (limit == 0 || limit > 1000) limit = 1000;
  }
  auto out = std::make_shared<Result<std::vector<EventRow>>>(Internal("not run"));
  auto queue = queue_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_, [queue, out, function, limit] { *out = queue->DeadLetters(function, limit); },
      [this, out, shared, function] {
        if (!out->ok()) return shared->Send(ErrorResponse(out->status()));
        // A deleted function's dead letters are still listed; a name never deployed is a 404.
        if ((*out)->empty() && !dispatcher_->FindLive(function)) {
          return shared->Send(
              ErrorResponse(NotFound("function '" + function + "' does not exist")));
        }
        json list = json::array();
        for (const EventRow& r : **out) {
          json e = EventJson(r, false);
          e["payload"] = AsJson(r.payload);
          list.push_back(std::move(e));
        }
        shared->Send(Json(200, {{"function", function}, {"dead_letters", list}}));
      });
}

void EventApi::Redrive(const std::string& function, HttpResponder responder) {
  events_->Redrive(function, [function, r = std::make_shared<HttpResponder>(std::move(responder))](
                                 Result<size_t> redriven) {
    if (!redriven.ok()) return r->Send(ErrorResponse(redriven.status()));
    r->Send(Json(200, {{"function", function}, {"redriven", *redriven}}));
  });
}

void EventApi::Schedules(HttpRequest& request, HttpResponder responder) {
  if (request.method == "GET") {
    json list = json::array();
    for (const ScheduleRow& s : events_->Schedules(QueryParam(request.query, "function"))) {
      json item = {{"id", s.id},
                   {"function", s.function},
                   {"schedule", s.cron},
                   {"payload", AsJson(s.payload)},
                   {"created_at", Rfc3339(s.created_ms)}};
      if (s.next_due_ms != std::numeric_limits<int64_t>::max()) {
        item["next_run_at"] = Rfc3339(s.next_due_ms);
      }
      list.push_back(std::move(item));
    }
    return responder.Send(Json(200, {{"schedules", list}}));
  }
  // POST {"function": "NAME", "schedule": "*/5 * * * *", "payload": {...}}
  auto parsed = ParseScheduleRequest(request.body);
  if (!parsed.ok()) return responder.Send(ErrorResponse(parsed.status()));
  const std::string& name = parsed->function;
  if (!dispatcher_->FindLive(name)) {
    return responder.Send(ErrorResponse(NotFound("function '" + name + "' does not exist")));
  }
  auto cron = events::CronSchedule::Parse(parsed->schedule);
  if (!cron.ok()) return responder.Send(ErrorResponse(cron.status()));
  std::string payload = std::move(parsed->payload);
  if (payload.size() > events_->options().max_payload_bytes) {
    return responder.Send(ErrorResponse(
        Status(Code::kPayloadTooLarge, "the payload is larger than the event limit")));
  }
  events_->AddSchedule(
      name, std::move(cron).value(), std::move(payload),
      [r = std::make_shared<HttpResponder>(std::move(responder))](Result<ScheduleRow> row) {
        if (!row.ok()) return r->Send(ErrorResponse(row.status()));
        r->Send(Json(201, {{"schedule",
                            {{"id", row->id},
                             {"function", row->function},
                             {"schedule", row->cron},
                             {"payload", AsJson(row->payload)},
                             {"next_run_at", Rfc3339(row->next_due_ms)}}}}));
      });
}

void EventApi::DeleteSchedule(const std::string& id, HttpResponder responder) {
  events_->RemoveSchedule(
      id, [id, r = std::make_shared<HttpResponder>(std::move(responder))](Result<bool> found) {
        if (!found.ok()) return r->Send(ErrorResponse(found.status()));
        if (!*found) return r->Send(ErrorResponse(NotFound("no schedule '" + id + "'")));
        r->Send(Json(200, {{"deleted", id}}));
      });
}

void EventApi::Subscriptions(HttpRequest& request, HttpResponder responder) {
  if (request.method == "GET") {
    std::string topic = QueryParam(request.query, "topic");
    auto out = std::make_shared<Result<std::vector<SubscriptionRow>>>(Internal("not run"));
    auto queue = queue_;
    auto shared = std::make_shared<HttpResponder>(std::move(responder));
    loop::RunBlocking(
        loop_, [queue, out, topic] { *out = queue->Subscriptions(topic); },
        [out, shared] {
          if (!out->ok()) return shared->Send(ErrorResponse(out->status()));
          json list = json::array();
          for (const auto& s : **out) {
            list.push_back({{"topic", s.topic},
                            {"function", s.function},
                            {"created_at", Rfc3339(s.created_ms)}});
          }
          shared->Send(Json(200, {{"subscriptions", list}}));
        });
    return;
  }
  auto parsed = ParseSubscriptionRequest(request.body);
  if (!parsed.ok()) return responder.Send(ErrorResponse(parsed.status()));
  std::string topic = parsed->topic, function = parsed->function;
  if (!dispatcher_->FindLive(function)) {
    return responder.Send(ErrorResponse(NotFound("function '" + function + "' does not exist")));
  }
  events_->Write(
      [topic, function](EventWrites& w) { return w.Subscribe(topic, function, WallClockMs()); },
      [topic, function, r = std::make_shared<HttpResponder>(std::move(responder))](Status s) {
        if (!s.ok()) return r->Send(ErrorResponse(s));
        r->Send(Json(201, {{"subscription", {{"topic", topic}, {"function", function}}}}));
      });
}

void EventApi::Unsubscribe(const std::string& topic, const std::string& function,
                           HttpResponder responder) {
  auto found = std::make_shared<bool>(false);
  events_->Write(
      [topic, function, found](EventWrites& w) {
        FLINT_ASSIGN_OR_RETURN(*found, w.Unsubscribe(topic, function));
        return Status::Ok();
      },
      [topic, function, found,
       r = std::make_shared<HttpResponder>(std::move(responder))](Status s) {
        if (!s.ok()) return r->Send(ErrorResponse(s));
        if (!*found) {
          return r->Send(ErrorResponse(
              NotFound("function '" + function + "' is not subscribed to '" + topic + "'")));
        }
        r->Send(Json(200, {{"unsubscribed", {{"topic", topic}, {"function", function}}}}));
      });
}

void EventApi::Publish(const std::string& topic, HttpRequest& request, HttpResponder responder) {
  if (events_->stopped()) {
    return responder.Send(ErrorResponse(Unavailable("flintd is shutting down")));
  }
  if (Status v = ValidateTopic(topic); !v.ok()) return responder.Send(ErrorResponse(v));
  auto payload = EventPayload(std::move(request.body), events_->options().max_payload_bytes);
  if (!payload.ok()) return responder.Send(ErrorResponse(payload.status()));
  events_->Publish(
      topic, std::move(payload).value(),
      [topic, r = std::make_shared<HttpResponder>(std::move(responder))](
          Result<std::vector<EventRow>> rows) {
        if (!rows.ok()) {
          if (rows.status().code() == Code::kTooManyRequests) {
            return r->Send(TooManyRequests(rows.status()));
          }
          return r->Send(ErrorResponse(rows.status()));
        }
        json deliveries = json::array();
        for (const EventRow& row : *rows) {
          deliveries.push_back({{"function", row.function}, {"invocation_id", row.id}});
        }
        r->Send(Json(202, {{"topic", topic}, {"deliveries", deliveries}}));
      });
}

}  // namespace flint::scheduler
