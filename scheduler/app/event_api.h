// EventApi: the HTTP handlers of event triggers (docs/http-api.md, docs/triggers.md), beside
// the other API handlers (management_api.h); Flintd routes to them (flintd.h lists the routes).
// They parse and check requests, call the EventService (the delivery engine) or read the
// EventQueue on libuv's thread pool, and format the answers.
//
// Loop thread only. The EventService, the Dispatcher and the queue must outlive the EventApi.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "scheduler/app/dispatcher.h"
#include "scheduler/app/event_service.h"
#include "scheduler/server/http_server.h"
#include "scheduler/store/event_queue.h"

namespace flint::scheduler {

class EventApi {
 public:
  EventApi(uv_loop_t* loop, EventService* events, std::shared_ptr<EventQueue> queue,
           const Dispatcher* dispatcher)
      : loop_(loop), events_(events), queue_(std::move(queue)), dispatcher_(dispatcher) {}

  // POST /fn/NAME with "X-Flint-Invocation-Type: Event": 202 {"invocation_id": ID} once stored.
  void Submit(const std::shared_ptr<const FunctionVersion>& fn, HttpRequest&& request,
              HttpResponder responder);
  // GET /v1/invocations/ID
  void GetInvocation(const std::string& id, HttpResponder responder);
  // GET /v1/dlq/NAME[?limit=N]
  void DeadLetters(const std::string& function, const HttpRequest& request,
                   HttpResponder responder);
  // POST /v1/dlq/NAME/redrive
  void Redrive(const std::string& function, HttpResponder responder);
  // GET /v1/schedules[?function=NAME] and POST /v1/schedules
  void Schedules(HttpRequest& request, HttpResponder responder);
  // DELETE /v1/schedules/ID
  void DeleteSchedule(const std::string& id, HttpResponder responder);
  // GET /v1/subscriptions[?topic=T] and POST /v1/subscriptions
  void Subscriptions(HttpRequest& request, HttpResponder responder);
  // DELETE /v1/subscriptions/TOPIC/NAME
  void Unsubscribe(const std::string& topic, const std::string& function, HttpResponder responder);
  // POST /v1/topics/TOPIC
  void Publish(const std::string& topic, HttpRequest& request, HttpResponder responder);

 private:
  uv_loop_t* loop_;
  EventService* events_;
  std::shared_ptr<EventQueue> queue_;
  const Dispatcher* dispatcher_;
};

}  // namespace flint::scheduler
