#include "scheduler/app/worker.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

namespace flint::scheduler {

using protocol::MessageType;

Worker::Worker(uv_loop_t* loop, WorkerId id, Runtime runtime, SpawnedProcess process,
               Observer* observer)
    : loop_(loop),
      id_(id),
      runtime_(runtime),
      process_(process),
      observer_(observer),
      channel_(loop, this),
      spawned_at_ns_(uv_hrtime()) {}

Worker::Worker(uv_loop_t* loop, WorkerId id, Runtime runtime, Observer* observer)
    : loop_(loop),
      id_(id),
      runtime_(runtime),
      observer_(observer),
      channel_(loop, this),
      attached_(false),
      spawned_at_ns_(uv_hrtime()) {}

Worker::~Worker() {
  if (state_ != State::kDead && attached_) {
    // Destroyed while alive (flintd is shutting down hard): never leave an orphan behind.
    Kill();
    (void)TryReap(process_.pid);
  }
  exit_watch_.reset();
  if (process_.pidfd >= 0) close(process_.pidfd);
  StopNetworkWatch();
  network_.reset();  // ends and reaps slirp4netns
}

Status Worker::Start() {
  int socket_fd = process_.socket_fd;
  process_.socket_fd = -1;  // the channel owns it now
  FLINT_RETURN_IF_ERROR(channel_.Open(socket_fd));
  exit_watch_ = std::make_unique<loop::Poll>(loop_, process_.pidfd);
  return exit_watch_->StartReadable([this] { OnProcessReadable(); });
}

Status Worker::Attach(SpawnedProcess process) {
  FLINT_CHECK(!attached_ && state_ == State::kStarting);
  process_ = process;
  attached_ = true;
  FLINT_RETURN_IF_ERROR(Start());
  if (kill_on_attach_) Kill();
  return Status::Ok();
}

void Worker::SpawnFailed(const std::string& reason) {
  FLINT_CHECK(!attached_ && state_ == State::kStarting);
  state_ = State::kDead;
  observer_->OnWorkerExit(this, reason);
}

void Worker::Load(const protocol::LoadRequest& request, bool outbound_network) {
  FLINT_CHECK(state_ == State::kGeneric);
  state_ = State::kLoading;
  load_sent_ns_ = uv_hrtime();
  if (outbound_network) StartNetwork();
  Send(MessageType::kLoad, 0, request.Encode());
}

void Worker::StartNetwork() {
  // The LOAD waits for the network: the function must find it up from its first instruction.
  // The process flintd spawned made the worker's network namespace (unshare) and stays in it
  // until the worker ends; it is not reaped before OnProcessReadable, so its pid is stable.
  holding_ = true;
  network_timer_ = std::make_unique<loop::Timer>(loop_);
  Status failed = Status::Ok();
  auto network = isolation::OutboundNetwork::Start(process_.pid);
  if (network.ok()) {
    network_ = std::move(network).value();
    network_watch_ = std::make_unique<loop::Poll>(loop_, network_->ready_fd());
    Status watching = network_watch_->StartReadable([this] { OnNetworkReadable(); });
    if (!watching.ok()) failed = network_->Failure("watching its ready fd: " + watching.message());
  } else {
    failed = network.status();
  }
  // A failure is reported from the timer, never from inside Load (the caller is mid-update).
  if (!failed.ok()) {
    network_timer_->Start(0, 0, [this, failed] { OnNetworkFailed(failed); });
    return;
  }
  network_timer_->Start(isolation::kOutboundNetworkReadyTimeoutMs, 0, [this] {
    OnNetworkFailed(network_->Failure("slirp4netns was not ready within " +
                                      std::to_string(isolation::kOutboundNetworkReadyTimeoutMs) +
                                      " ms"));
  });
}

void Worker::Send(MessageType type, InvocationId id, std::string_view payload) {
  if (holding_) {
    held_.push_back({type, id, std::string(payload)});
    return;
  }
  channel_.Send(type, id, payload);
}

void Worker::OnNetworkReadable() {
  Result<bool> ready = network_->CheckReady();
  if (!ready.ok()) return OnNetworkFailed(ready.status());
  if (!*ready) return;
  StopNetworkWatch();
  holding_ = false;
  spdlog::debug("worker {} (pid {}): outbound network up after {} us (slirp4netns pid {})", id_,
                process_.pid, (uv_hrtime() - load_sent_ns_) / 1000, network_->pid());
  for (HeldFrame& frame : held_) channel_.Send(frame.type, frame.id, frame.payload);
  held_.clear();
}

void Worker::OnNetworkFailed(const Status& why) {
  StopNetworkWatch();
  held_.clear();  // nothing reaches the worker any more: it is killed
  if (state_ != State::kLoading) return;
  spdlog::error("worker {} (pid {}): {}; killing it", id_, process_.pid, why.message());
  // As for LOAD_FAILED: the function never ran, and never runs without the network it asked for.
  state_ = State::kGeneric;
  Kill();
  observer_->OnWorkerLoadFailed(this, why.message());
}

void Worker::StopNetworkWatch() {
  network_watch_.reset();  // before the fd it watches closes with network_
  if (network_timer_) network_timer_->Stop();
}

void Worker::Invoke(InvocationId id, const std::string& payload) {
  // While loading: pipelined behind the LOAD (the worker runs it once loaded, or exits).
  FLINT_CHECK(state_ == State::kReady || state_ == State::kLoading);
  in_flight_.insert(id);
  Send(MessageType::kInvoke, id, payload);
}

void Worker::Cancel(InvocationId id) {
  if (in_flight_.erase(id) > 0) Send(MessageType::kCancel, id, {});
}

void Worker::Stop(uint64_t grace_ms) {
  if (state_ == State::kDead) return;
  if (!attached_) {
    kill_on_attach_ = true;  // not started yet: nothing to wind down
    return;
  }
  Send(MessageType::kShutdown, 0, {});
  if (!kill_timer_) kill_timer_ = std::make_unique<loop::Timer>(loop_);
  kill_timer_->Start(grace_ms, 0, [this] { Kill(); });
}

void Worker::Kill() {
  if (state_ == State::kDead || killed_) return;
  // Invariant: no signal before the process exists (pid -1 would signal every process).
  if (!attached_) {
    kill_on_attach_ = true;
    return;
  }
  killed_ = true;
  // The process is not reaped before OnProcessReadable, so its pid (and group) cannot have been
  // reused: signalling it is always safe.
  ::kill(-process_.pid, SIGKILL);
  ::kill(process_.pid, SIGKILL);
}

void Worker::OnFrame(const protocol::FrameView& frame) {
  switch (frame.header.type) {
    case MessageType::kHello: {
      auto hello = protocol::Hello::Decode(frame.payload);
      if (!hello.ok() || state_ != State::kStarting) return ProtocolError("unexpected HELLO");
      if (hello->protocol_version != protocol::kProtocolVersion) {
        return ProtocolError("protocol version " + std::to_string(hello->protocol_version) +
                             ", expected " + std::to_string(protocol::kProtocolVersion));
      }
      // A worker started for one runtime must be that runtime (a Node.js worker cannot load a
      // lean one's function, nor the other way round).
      if (hello->runtime != RuntimeName(runtime_)) {
        return ProtocolError("HELLO for runtime '" + hello->runtime + "', expected '" +
                             std::string(RuntimeName(runtime_)) + "'");
      }
      runtime_version_ = hello->runtime_version;
      state_ = State::kGeneric;
      observer_->OnWorkerHello(this);
      return;
    }
    case MessageType::kLoaded: {
      auto loaded = protocol::Loaded::Decode(frame.payload);
      if (!loaded.ok() || state_ != State::kLoading) return ProtocolError("unexpected LOADED");
      state_ = State::kReady;
      observer_->OnWorkerLoaded(this, *loaded);
      return;
    }
    case MessageType::kLoadFailed: {
      auto failed = protocol::LoadFailed::Decode(frame.payload);
      if (!failed.ok() || state_ != State::kLoading) return ProtocolError("unexpected LOAD_FAILED");
      // The worker exits by itself; make sure of it.
      state_ = State::kGeneric;
      Kill();
      observer_->OnWorkerLoadFailed(this, failed->message);
      return;
    }
    case MessageType::kResult: {
      auto result = protocol::InvokeResult::Decode(frame.payload);
      if (!result.ok()) return ProtocolError("malformed RESULT");
      // A result for an invocation flintd already gave up on (cancelled) is dropped.
      if (in_flight_.erase(frame.header.invocation_id) == 0) return;
      observer_->OnWorkerResult(this, frame.header.invocation_id, std::move(result).value());
      return;
    }
    case MessageType::kLog: {
      auto line = protocol::LogLine::Decode(frame.payload);
      if (!line.ok()) return ProtocolError("malformed LOG");
      observer_->OnWorkerLog(this, frame.header.invocation_id, std::move(line).value());
      return;
    }
    case MessageType::kStats: {
      auto stats = protocol::Stats::Decode(frame.payload);
      if (!stats.ok()) return ProtocolError("malformed STATS");
      heap_used_ = stats->heap_used_bytes;
      return;
    }
    case MessageType::kCodeCache: {
      if (state_ != State::kReady || frame.payload.size() > protocol::CodeCache::kMaxBytes ||
          !protocol::CodeCache::Decode(frame.payload).ok()) {
        return ProtocolError("unexpected CODE_CACHE");
      }
      observer_->OnWorkerCodeCache(this, std::string(frame.payload));
      return;
    }
    default:
      return ProtocolError("unexpected " +
                           std::string(protocol::MessageTypeName(frame.header.type)));
  }
}

void Worker::ProtocolError(const std::string& what) {
  spdlog::error("worker {} (pid {}): protocol error: {}; killing it", id_, process_.pid, what);
  channel_.Close();
  Kill();
}

constexpr uint64_t kExitGraceMs = 2000;

void Worker::OnChannelClosed(const Status& why) {
  // The worker closed its socket: it is exiting, or broken. Give it a moment to exit on its own
  // (so its exit status tells what happened), then make sure. The sandbox's wrapper processes
  // pass the status on one by one: on a loaded machine that takes more than a few hundred ms.
  spdlog::debug("worker {} (pid {}) channel closed: {}", id_, process_.pid, why.message());
  if (!kill_timer_) {
    kill_timer_ = std::make_unique<loop::Timer>(loop_);
    kill_timer_->Start(kExitGraceMs, 0, [this] { Kill(); });
  }
  if (state_ != State::kDead) observer_->OnWorkerChannelClosed(this);
}

void Worker::OnProcessReadable() {
  int status = TryReap(process_.pid);
  if (status == -1) return;
  exit_watch_->Stop();
  channel_.Close();
  if (kill_timer_) kill_timer_->Stop();
  // Invariant: slirp4netns ends with its worker (scheduler/isolation/outbound_network.h).
  StopNetworkWatch();
  network_.reset();
  held_.clear();
  state_ = State::kDead;
  exited_out_of_memory_ =
      WIFEXITED(status) && WEXITSTATUS(status) == protocol::kWorkerExitOutOfMemory;
  observer_->OnWorkerExit(this, DescribeWaitStatus(status));
}

}  // namespace flint::scheduler
