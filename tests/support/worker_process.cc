#include "tests/support/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace flint::testing {

namespace fs = std::filesystem;
using protocol::MessageType;

CodeDir::CodeDir(const std::string& parent) {
  std::string tmpl = parent + "/flint-worker-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  path_ = tmpl;
}

CodeDir::~CodeDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void CodeDir::Write(const std::string& name, const std::string& content) const {
  fs::path file = fs::path(path_) / name;
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
}

WorkerProcess::WorkerProcess(const std::string& worker_path, const std::string& runtime,
                             const std::vector<std::string>& extra_args) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  // Keep the child's end away from fd 3 so dup2 always clears close-on-exec.
  int child_end = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  ::close(sv[1]);
  std::vector<std::string> args = {
      worker_path, "--fd", "3", "--runtime", runtime, "--title", std::string(200, ' ')};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    ::dup2(child_end, 3);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(child_end);
  fd_ = sv[0];
}

WorkerProcess::~WorkerProcess() {
  if (fd_ >= 0) ::close(fd_);
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void WorkerProcess::Send(MessageType type, uint64_t id, const std::string& payload) {
  std::string bytes;
  protocol::AppendFrame(&bytes, type, id, payload);
  SendRaw(bytes);
}

void WorkerProcess::SendRaw(const std::string& bytes) {
  REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
}

void WorkerProcess::CloseSocket() {
  ::close(fd_);
  fd_ = -1;
}

std::optional<Frame> WorkerProcess::Next() {
  auto give_up = std::chrono::steady_clock::now() + kPatience;
  for (;;) {
    protocol::FrameView view;
    if (decoder_.Next(&view)) {
      return Frame{view.header.type, view.header.invocation_id, std::string(view.payload)};
    }
    REQUIRE_FALSE(decoder_.failed());
    if (eof_) return std::nullopt;
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    struct pollfd p = {fd_, POLLIN, 0};
    ::poll(&p, 1, 100);
    if ((p.revents & (POLLIN | POLLHUP)) == 0) continue;
    char buf[65536];
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    REQUIRE(decoder_.Feed(buf, static_cast<size_t>(n)).ok());
  }
}

Frame WorkerProcess::Expect(MessageType type) { return ExpectEither(type, type); }

Frame WorkerProcess::ExpectEither(MessageType a, MessageType b) {
  for (;;) {
    std::optional<Frame> f = Next();
    INFO("waiting for " << protocol::MessageTypeName(a) << " or " << protocol::MessageTypeName(b));
    REQUIRE(f.has_value());
    Remember(*f);
    if (f->type == a || f->type == b) return *f;
  }
}

void WorkerProcess::Drain() {
  while (std::optional<Frame> f = Next()) Remember(*f);
}

int WorkerProcess::Wait() {
  auto give_up = std::chrono::steady_clock::now() + kPatience;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reaped_ = true;
  INFO("wait status " << status);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

std::vector<protocol::LogLine> WorkerProcess::LogsOf(uint64_t id) const {
  std::vector<protocol::LogLine> out;
  for (const Frame& f : logs_) {
    if (f.id == id) out.push_back(*protocol::LogLine::Decode(f.payload));
  }
  return out;
}

void WorkerProcess::Remember(const Frame& f) {
  if (f.type == MessageType::kLog) logs_.push_back(f);
  if (f.type == MessageType::kResult) result_ids_.push_back(f.id);
  if (f.type == MessageType::kCodeCache) code_caches_.push_back(f.payload);
  if (f.type == MessageType::kStats) {
    REQUIRE(protocol::Stats::Decode(f.payload).ok());
    ++stats_count_;
  }
}

protocol::InvokeResult ResultOf(const Frame& f) {
  Result<protocol::InvokeResult> r = protocol::InvokeResult::Decode(f.payload);
  REQUIRE(r.ok());
  return *r;
}

std::string ReadProc(pid_t pid, const char* what) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + what, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace flint::testing
