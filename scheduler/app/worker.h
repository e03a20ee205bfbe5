// Worker: flintd's handle on one flint-worker process and its protocol channel.
//
// A worker moves through kStarting (spawned, waiting for HELLO) -> kGeneric (ready to be
// specialised) -> kLoading (LOAD sent) -> kReady (serving its one function version, forever)
// and ends in kDead, reported exactly once through Observer::OnWorkerExit after the process
// was reaped. A worker is never given a second function. Loop thread only; the fleet
// (worker_fleet.h) owns every Worker and must keep it alive until OnWorkerExit (then it may
// destroy it at once).
//
// A worker may be created before its process exists (the fleet spawns off the loop thread): it
// is kStarting until Attach() gives it its process, or SpawnFailed() reports its exit. Stop()
// and Kill() before that kill the process as soon as it is attached; nothing else may be called
// on it meanwhile (a kStarting worker is sent nothing before HELLO anyway).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/core/pool.h"
#include "scheduler/isolation/outbound_network.h"
#include "scheduler/spawn/worker_spawner.h"
#include "sdk/core/runtime.h"
#include "sdk/loop/frame_channel.h"
#include "sdk/loop/uv_handles.h"
#include "sdk/protocol/messages.h"

namespace flint::scheduler {

class Worker final : private loop::FrameChannel::Delegate {
 public:
  enum class State { kStarting, kGeneric, kLoading, kReady, kDead };

  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void OnWorkerHello(Worker* worker) = 0;
    virtual void OnWorkerLoaded(Worker* worker, const protocol::Loaded& loaded) = 0;
    virtual void OnWorkerLoadFailed(Worker* worker, const std::string& message) = 0;
    virtual void OnWorkerResult(Worker* worker, InvocationId id, protocol::InvokeResult result) = 0;
    virtual void OnWorkerLog(Worker* worker, InvocationId id, protocol::LogLine line) = 0;
    // A loaded worker sent V8's code cache for its function (a well-formed CodeCache payload).
    virtual void OnWorkerCodeCache(Worker* worker, std::string payload) = 0;
    // The worker closed its end of the channel: it is exiting (OnWorkerExit follows once it is
    // reaped, within moments). Nothing new may be sent to it meanwhile.
    virtual void OnWorkerChannelClosed(Worker* worker) = 0;
    // The process is gone and reaped; `reason` reads like "signal SIGSEGV (11)".
    virtual void OnWorkerExit(Worker* worker, const std::string& reason) = 0;
  };

  Worker(uv_loop_t* loop, WorkerId id, Runtime runtime, SpawnedProcess process, Observer* observer);
  // A worker whose process is being spawned elsewhere: Attach() or SpawnFailed() follows.
  Worker(uv_loop_t* loop, WorkerId id, Runtime runtime, Observer* observer);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts reading the channel and watching for exit. On error the caller kills the process.
  Status Start();
  // The process of a worker created without one: takes ownership of it and starts (an error:
  // the caller kills it, as for Start). A worker stopped or killed meanwhile is killed now.
  Status Attach(SpawnedProcess process);
  // The spawn of a worker created without a process failed: reports its exit (OnWorkerExit
  // with `reason`, from within this call).
  void SpawnFailed(const std::string& reason);
  bool attached() const { return attached_; }
  // With `outbound_network` (a function with network "outbound", sandboxed worker), the worker
  // first gets an OutboundNetwork for its network namespace, and the LOAD and every frame after
  // it are held back until that is up; a network that cannot start or is not up within
  // kOutboundNetworkReadyTimeoutMs fails the LOAD (OnWorkerLoadFailed, saying why, never from
  // inside this call). The network ends when the worker is reaped or destroyed.
  void Load(const protocol::LoadRequest& request, bool outbound_network = false);
  // Ready, or loading (the INVOKE follows the LOAD on the socket: the worker runs it once
  // loaded; if the LOAD fails, the worker exits without running it).
  void Invoke(InvocationId id, const std::string& payload);
  void Cancel(InvocationId id);
  // Asks the worker to exit; SIGKILLs it if it has not after `grace_ms`.
  void Stop(uint64_t grace_ms);
  // SIGKILLs the worker's process group now. Exit is still reported through OnWorkerExit.
  void Kill();

  WorkerId id() const { return id_; }
  pid_t pid() const { return process_.pid; }  // -1 before Attach()
  State state() const { return state_; }
  // What it pre-warmed (HELLO): a generic worker may still load a function of any runtime.
  Runtime runtime() const { return runtime_; }
  // What HELLO said of the runtime's build (empty before HELLO, or for a runtime without one).
  const std::string& runtime_version() const { return runtime_version_; }
  // The pool ("name@version") this worker serves or is loading for; empty while generic.
  const std::string& pool_key() const { return pool_key_; }
  void set_pool_key(std::string key) { pool_key_ = std::move(key); }
  std::set<InvocationId>& in_flight() { return in_flight_; }
  uint64_t spawned_at_ns() const { return spawned_at_ns_; }
  // When LOAD was sent (0 before): a pre-warmed worker may wait long before it gets one.
  uint64_t load_sent_ns() const { return load_sent_ns_; }
  uint64_t last_heap_used() const { return heap_used_; }
  // Once reaped: the worker exited with its out-of-memory code (protocol::kWorkerExitOutOfMemory).
  bool exited_out_of_memory() const { return exited_out_of_memory_; }

 private:
  void OnFrame(const protocol::FrameView& frame) override;
  void OnChannelClosed(const Status& why) override;
  void OnProcessReadable();
  void ProtocolError(const std::string& what);
  // Sends a frame, or holds it while the outbound network comes up.
  void Send(protocol::MessageType type, InvocationId id, std::string_view payload);
  void StartNetwork();
  void OnNetworkReadable();
  void OnNetworkFailed(const Status& why);
  void StopNetworkWatch();

  uv_loop_t* loop_;
  WorkerId id_;
  Runtime runtime_;
  std::string runtime_version_;
  SpawnedProcess process_;
  Observer* observer_;
  State state_ = State::kStarting;
  std::string pool_key_;
  std::set<InvocationId> in_flight_;
  loop::FrameChannel channel_;
  std::unique_ptr<loop::Poll> exit_watch_;
  std::unique_ptr<loop::Timer> kill_timer_;
  bool killed_ = false;
  bool attached_ = true;         // false until Attach() for a worker created without a process
  bool kill_on_attach_ = false;  // Stop() or Kill() came before the process
  uint64_t spawned_at_ns_;
  uint64_t load_sent_ns_ = 0;
  uint64_t heap_used_ = 0;
  bool exited_out_of_memory_ = false;
  // Outbound network (Load); frames wait in held_ while it comes up.
  std::unique_ptr<isolation::OutboundNetwork> network_;
  std::unique_ptr<loop::Poll> network_watch_;
  std::unique_ptr<loop::Timer> network_timer_;
  struct HeldFrame {
    protocol::MessageType type;
    InvocationId id;
    std::string payload;
  };
  std::vector<HeldFrame> held_;
  bool holding_ = false;
};

}  // namespace flint::scheduler
