// Misbehaves on request (?do=...) and reports what the kernel answered, as "ok" or the errno's
// name. The isolation suite (tests/integration/isolation) asserts the exact outcome.
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <flint/flint.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string Outcome(int rc) {
  if (rc >= 0) return "ok";
  const char* name = strerrorname_np(errno);
  return name != nullptr ? name : std::to_string(errno);
}

std::string TryOpen(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  std::string out = Outcome(fd);
  if (fd >= 0) ::close(fd);
  return out;
}

double Seconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

flint::Response Handle(const flint::Request& req, flint::Context&) {
  std::string what = req.query("do").value_or("");
  std::string arg = req.query("arg").value_or("");
  if (what == "read") return flint::Response::Text(TryOpen(arg, O_RDONLY));
  if (what == "write") return flint::Response::Text(TryOpen(arg, O_WRONLY | O_CREAT | O_TRUNC));
  if (what == "uid") {
    return flint::Response::Text(std::to_string(getuid()) + ":" + std::to_string(getgid()));
  }
  if (what == "fill-tmp") {
    // Files of 8 MB until a write fails.
    std::vector<char> chunk(1 << 20, 'x');
    for (int file = 0;; ++file) {
      int fd = ::open(("/tmp/fill" + std::to_string(file)).c_str(),
                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return flint::Response::Text(Outcome(fd));
      for (int mb = 0; mb < 8; ++mb) {
        ssize_t n = ::write(fd, chunk.data(), chunk.size());
        if (n < static_cast<ssize_t>(chunk.size())) {
          std::string out = n < 0 ? Outcome(-1) : "short write";
          if (n >= 0) {  // the next write says why
            n = ::write(fd, chunk.data(), chunk.size());
            out = Outcome(n < 0 ? -1 : 0);
          }
          ::close(fd);
          return flint::Response::Text(out);
        }
      }
      ::close(fd);
    }
  }
  if (what == "connect") {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return flint::Response::Text(Outcome(s));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::atoi(arg.c_str())));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    std::string out = Outcome(rc);
    ::close(s);
    return flint::Response::Text(out);
  }
  // Signal 0: checks whether a signal could be delivered, harmlessly.
  if (what == "kill") return flint::Response::Text(Outcome(::kill(std::atoi(arg.c_str()), 0)));
  if (what == "ptrace") {
    return flint::Response::Text(Outcome(
        static_cast<int>(::ptrace(PTRACE_ATTACH, std::atoi(arg.c_str()), nullptr, nullptr))));
  }
  if (what == "procs") {
    // The processes this function can see.
    int count = 0;
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) return flint::Response::Text(Outcome(-1));
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9') ++count;
    }
    ::closedir(dir);
    return flint::Response::Text(std::to_string(count));
  }
  if (what == "fork") {
    // Fork without end (up to a cap, so a broken sandbox cannot take the host down): reports
    // how many forks worked and how the first failure failed, then ends the children.
    std::vector<pid_t> children;
    std::string why = "unlimited";
    while (children.size() < 500) {
      pid_t pid = ::fork();
      if (pid == 0) {
        for (;;) ::pause();
      }
      if (pid < 0) {
        why = Outcome(-1);
        break;
      }
      children.push_back(pid);
    }
    for (pid_t child : children) ::kill(child, SIGKILL);
    for (pid_t child : children) ::waitpid(child, nullptr, 0);
    return flint::Response::Text(std::to_string(children.size()) + " " + why);
  }
  if (what == "alloc") {
    std::vector<char*> hoard;
    for (;;) {
      char* p = static_cast<char*>(std::malloc(1 << 20));
      if (p == nullptr) return flint::Response::Text("malloc failed");
      std::memset(p, 1, 1 << 20);  // touch it, so it is really charged
      hoard.push_back(p);
    }
  }
  if (what == "spin") {
    volatile unsigned long i = 0;
    for (;;) i = i + 1;
  }
  if (what == "spin-all") {
    // Every core, for `arg` ms of wall time; reports the process's CPU time and the wall time.
    int ms = std::atoi(arg.c_str());
    unsigned n = std::max(2u, std::thread::hardware_concurrency());
    double start = Seconds(CLOCK_MONOTONIC);
    double cpu_start = Seconds(CLOCK_PROCESS_CPUTIME_ID);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < n; ++t) {
      threads.emplace_back([&] {
        while (!stop.load(std::memory_order_relaxed)) {
        }
      });
    }
    while (Seconds(CLOCK_MONOTONIC) - start < ms / 1000.0) ::usleep(10000);
    stop = true;
    for (auto& t : threads) t.join();
    double wall = Seconds(CLOCK_MONOTONIC) - start;
    double cpu = Seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    return flint::Response::Text(std::to_string(static_cast<long>(cpu * 1e6)) + " " +
                                 std::to_string(static_cast<long>(wall * 1e6)) + " " +
                                 std::to_string(n));
  }
  return flint::Response::Text("ok");
}

}  // namespace

FLINT_HANDLER(Handle)
