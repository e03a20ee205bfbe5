// ManagementApi: the HTTP handlers of flintd's management API for functions, pools and billing
// (docs/http-api.md), beside the event handlers (event_api.h); Flintd routes to them (flintd.h
// lists the routes). Blocking work (SQLite, writing uploaded code, building C++) runs on libuv's
// thread pool; the handlers format the answers on the loop.
//
// Loop thread only. The meter, the Dispatcher and the BuildService must outlive the
// ManagementApi.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <string>

#include "scheduler/app/dispatcher.h"
#include "scheduler/build/build_service.h"
#include "scheduler/build/cpp_build.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/meter/meter.h"
#include "scheduler/server/http_server.h"
#include "scheduler/store/code_store.h"
#include "scheduler/store/ledger.h"
#include "scheduler/store/secret_store.h"
#include "scheduler/store/store.h"

namespace flint::scheduler {

class ManagementApi {
 public:
  // `data_dir`: flintd's data directory (C++ builds keep their cache there). `build`: how C++
  // functions are built (the SDK, the build sandbox or none, the limits). `builds` runs the
  // builds the cache cannot answer. `secrets`: the functions' secrets (never shown in answers).
  ManagementApi(uv_loop_t* loop, std::shared_ptr<Store> store, std::shared_ptr<CodeStore> code,
                std::shared_ptr<Ledger> ledger, meter::Meter* meter, Dispatcher* dispatcher,
                std::string data_dir, BuildOptions build, BuildService* builds,
                std::shared_ptr<SecretStore> secrets)
      : loop_(loop),
        store_(std::move(store)),
        code_(std::move(code)),
        ledger_(std::move(ledger)),
        meter_(meter),
        dispatcher_(dispatcher),
        data_dir_(std::move(data_dir)),
        build_(std::move(build)),
        builds_(builds),
        secrets_(std::move(secrets)) {}

  // The node's CPU mode, for the limits Describe shows; unset (the default): no cgroups.
  void set_cpu_mode(isolation::CpuMode mode) { cpu_mode_ = mode; }

  // GET /v1/functions
  void List(HttpResponder responder);
  // PUT or POST /v1/functions/NAME: a new version, once its code loads in a worker. Settings
  // the request does not give keep the live version's values.
  void Deploy(const std::string& name, HttpRequest&& request, HttpResponder responder);
  // PATCH /v1/functions/NAME: the live version's code with new settings, as a new version.
  void Configure(const std::string& name, HttpRequest&& request, HttpResponder responder);
  // /v1/functions/NAME/secrets (GET: names) and /v1/functions/NAME/secrets/KEY (PUT
  // {"value": ...}, DELETE). A change makes a new version (same code and settings) so that new
  // workers see it.
  void Secrets(const std::string& name, const std::string& key, HttpRequest&& request,
               HttpResponder responder);
  // GET /v1/functions/NAME: config, versions, pools, the last day's usage.
  void Describe(const std::string& name, HttpResponder responder);
  // DELETE /v1/functions/NAME
  void Delete(const std::string& name, HttpResponder responder);
  // GET /v1/functions/NAME/logs[?limit=N]
  void Logs(const std::string& name, const HttpRequest& request, HttpResponder responder);
  // GET /v1/pools
  void Pools(HttpResponder responder);
  // GET /v1/billing: a report.
  void Billing(const HttpRequest& request, HttpResponder responder);
  // GET and PUT /v1/billing/prices
  void Prices(HttpRequest&& request, HttpResponder responder);

 private:
  uv_loop_t* loop_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<CodeStore> code_;
  std::shared_ptr<Ledger> ledger_;
  meter::Meter* meter_;
  Dispatcher* dispatcher_;
  std::string data_dir_;
  BuildOptions build_;
  BuildService* builds_;
  std::optional<isolation::CpuMode> cpu_mode_;
  std::shared_ptr<SecretStore> secrets_;

  // Loads `candidate` (with the function's current secrets) in a worker, records it as a new
  // version, makes it live and answers `http_status` with it. `what` names the change in the
  // log; a non-empty `warning` goes into the answer's x-flint-warning header.
  void CommitVersion(FunctionVersion candidate, int http_status, const std::string& what,
                     HttpResponder responder, const std::string& warning = "");
};

}  // namespace flint::scheduler
