// A real flint-worker, started over a socketpair on fd 3 as flintd starts it, and driven frame by
// frame: the protocol-level harness of the worker tests (tests/unit/runtime*/). Also CodeDir, a
// function directory under /tmp removed at the end.
//
// Every wait is bounded by kPatience so that a broken worker fails a test instead of hanging it;
// no test asserts on time.
#pragma once

#include <sys/types.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"

namespace flint::testing {

inline constexpr auto kPatience = std::chrono::seconds(30);

struct Frame {
  protocol::MessageType type;
  uint64_t id;
  std::string payload;
};

// A directory under /tmp (or below `parent`), removed with everything in it at the end.
class CodeDir {
 public:
  explicit CodeDir(const std::string& parent = "/tmp");
  ~CodeDir();
  CodeDir(const CodeDir&) = delete;
  CodeDir& operator=(const CodeDir&) = delete;
  // Writes `content` to `name` (a relative path; its folders are created).
  void Write(const std::string& name, const std::string& content) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class WorkerProcess {
 public:
  // Starts `worker_path --fd 3 --runtime RUNTIME --title PADDING EXTRA...`.
  WorkerProcess(const std::string& worker_path, const std::string& runtime,
                const std::vector<std::string>& extra_args = {});
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Send(protocol::MessageType type, uint64_t id, const std::string& payload);
  void SendRaw(const std::string& bytes);
  void CloseSocket();
  // The next frame; nullopt at EOF.
  std::optional<Frame> Next();
  // The next frame of `type`, remembering the LOG, STATS and RESULT frames passed on the way.
  Frame Expect(protocol::MessageType type);
  // The next frame of either type, the same way.
  Frame ExpectEither(protocol::MessageType a, protocol::MessageType b);
  // Reads everything up to EOF.
  void Drain();
  // The exit code (the test fails if the worker does not exit, or dies of a signal).
  int Wait();

  std::vector<protocol::LogLine> LogsOf(uint64_t id) const;
  std::vector<uint64_t> result_ids() const { return result_ids_; }
  size_t stats_count() const { return stats_count_; }
  // The payloads of the CODE_CACHE frames passed so far.
  const std::vector<std::string>& code_caches() const { return code_caches_; }

 private:
  void Remember(const Frame& f);

  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  protocol::FrameDecoder decoder_;
  std::vector<Frame> logs_;
  std::vector<uint64_t> result_ids_;
  size_t stats_count_ = 0;
  std::vector<std::string> code_caches_;
};

protocol::InvokeResult ResultOf(const Frame& f);
// The contents of /proc/PID/WHAT.
std::string ReadProc(pid_t pid, const char* what);

}  // namespace flint::testing
