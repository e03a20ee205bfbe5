#include "tests/support/flintd_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

#ifndef FLINT_FLINTD_PATH
#define FLINT_FLINTD_PATH "flintd"
#endif
#ifndef FLINT_CLI_PATH
#define FLINT_CLI_PATH "flint"
#endif
#ifndef FLINT_FUNCTIONS_DIR
#define FLINT_FUNCTIONS_DIR "functions"
#endif

namespace flint::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Converts a wait status to the shell's convention.
int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// waitpid with a deadline; true when reaped (status stored).
bool WaitPid(pid_t pid, int* status, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      *status = 0;
      return true;  // not our child any more (already reaped)
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// The environment for a child: ours, changed by `overrides`.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (overrides.count(name) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : overrides) {
    if (value != kUnset) env.push_back(name + "=" + value);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs `argv` with `envp` in a new process group, dying with its parent. stdin is
// /dev/null; stdout and stderr go to the given fds. Returns the pid, or -1 with errno.
pid_t Spawn(const std::vector<std::string>& argv_in, const std::vector<std::string>& env_in,
            int out_fd, int err_fd, int in_fd = -1, const std::string& cwd = "") {
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = env_in;
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::dup2(in_fd >= 0 ? in_fd : devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    ::_exit(127);
  }
  int saved = errno;
  if (pid > 0) ::setpgid(pid, pid);  // also here, so the group exists before we signal it
  if (devnull >= 0) ::close(devnull);
  errno = saved;
  return pid;
}

}  // namespace

std::string CliResult::Describe() const {
  return "exit " + std::to_string(exit_code) + (timed_out ? " (timed out)" : "") +
         "\nstdout: " + out + "\nstderr: " + err;
}

std::string FlintdBinary() { return FLINT_FLINTD_PATH; }
std::string FlintBinary() { return FLINT_CLI_PATH; }
std::string FunctionsDir() { return FLINT_FUNCTIONS_DIR; }

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buffer(tmpl.begin(), tmpl.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& rel, const std::string& text) const {
  fs::path p = fs::path(path_) / rel;
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

CliResult RunProcess(const std::string& path, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout, const std::string& stdin_text,
                     const std::string& cwd) {
  CliResult result;
  // stdin: a temporary file holding `stdin_text` (unlinked at once), or /dev/null.
  int in_fd = -1;
  if (!stdin_text.empty()) {
    char name[] = "/tmp/flint-stdin-XXXXXX";
    in_fd = ::mkstemp(name);
    if (in_fd < 0) return result;
    ::unlink(name);
    if (::write(in_fd, stdin_text.data(), stdin_text.size()) !=
            static_cast<ssize_t>(stdin_text.size()) ||
        ::lseek(in_fd, 0, SEEK_SET) != 0) {
      ::close(in_fd);
      return result;
    }
  }
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  std::vector<std::string> argv = {path};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = Spawn(argv, ChildEnvironment(env), out_pipe[1], err_pipe[1], in_fd, cwd);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (in_fd >= 0) ::close(in_fd);
  if (pid < 0) {
    result.err = std::string("fork: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }
  auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buffer[16384];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int status = 0;
  if (!WaitPid(pid, &status, result.timed_out ? 5000ms : timeout)) {
    ::kill(-pid, SIGKILL);
    WaitPid(pid, &status, 5000ms);
    result.timed_out = true;
  }
  result.exit_code = ExitCodeOf(status);
  return result;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

namespace {

// pid -> parent pid for every process, from /proc/<pid>/stat.
std::map<pid_t, pid_t> ParentMap() {
  std::map<pid_t, pid_t> parents;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return parents;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string stat = ReadFile("/proc/" + std::string(e->d_name) + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state;
    long ppid;
    if (rest >> state >> ppid) parents[static_cast<pid_t>(pid)] = static_cast<pid_t>(ppid);
  }
  ::closedir(proc);
  return parents;
}

}  // namespace

std::vector<pid_t> Descendants(pid_t root) {
  std::map<pid_t, pid_t> parents = ParentMap();
  std::vector<pid_t> out;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    pid_t p = frontier.back();
    frontier.pop_back();
    for (const auto& [child, parent] : parents) {
      if (parent == p) {
        out.push_back(child);
        frontier.push_back(child);
      }
    }
  }
  return out;
}

bool ProcessAlive(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

std::string ProcessCmdline(pid_t pid) {
  std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
  return cmdline;
}

FlintdProcess::FlintdProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/flint-it-XXXXXX";
  std::vector<char> buffer(tmpl.begin(), tmpl.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) != nullptr) root_ = buffer.data();
  data_dir_ = root_ + "/data";
  log_path_ = root_ + "/flintd.log";
}

FlintdProcess::FlintdProcess(std::vector<std::string> extra_args, const std::string& data_subdir)
    : FlintdProcess(std::move(extra_args)) {
  data_dir_ = root_ + "/" + data_subdir;
  precreate_data_dir_ = false;
}

FlintdProcess::~FlintdProcess() {
  if (running()) Stop(10s);
  KillLeftovers();
  std::error_code ec;
  if (!root_.empty()) fs::remove_all(root_, ec);
}

Status FlintdProcess::Start(std::chrono::milliseconds timeout) {
  if (running()) return Status(Code::kInternal, "flintd is already running");
  if (root_.empty()) return Status(Code::kIo, "could not create a temporary directory");
  std::error_code ec;
  if (precreate_data_dir_) fs::create_directories(data_dir_, ec);
  std::string url_file = data_dir_ + "/flintd.url";
  fs::remove(url_file, ec);  // a stale one from a killed flintd
  url_.clear();
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoStatus("open " + log_path_, errno);
  std::vector<std::string> argv = {FlintdBinary(), "--listen", "127.0.0.1:0", "--data-dir",
                                   data_dir_};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  // Isolation needs root: elsewhere (a developer's shell) flintd runs without it, as it would
  // refuse to start otherwise. CI runs as root, so the suite runs isolated there.
  if (::geteuid() != 0 && std::find(argv.begin(), argv.end(), "--no-isolation") == argv.end()) {
    argv.push_back("--no-isolation");
  }
  // flintd reads FLINT_DATA_DIR too; make sure nothing from the test's environment leaks in.
  std::map<std::string, std::string> env = {
      {"FLINT_DATA_DIR", data_dir_}, {"FLINT_URL", kUnset}, {"FLINT_TOKEN", kUnset}};
  pid_ = Spawn(argv, ChildEnvironment(env), log_fd, log_fd);
  int spawn_errno = errno;
  ::close(log_fd);
  if (pid_ < 0) return ErrnoStatus("fork", spawn_errno);

  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string text = ReadFile(url_file);
    if (!text.empty() && text.back() == '\n') {
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      url_ = text;
      tree_ = Descendants(pid_);
      return Status::Ok();
    }
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return Status(Code::kUnavailable, "flintd exited (status " +
                                            std::to_string(ExitCodeOf(status)) +
                                            ") before writing flintd.url; log:\n" + LogTail());
    }
    if (Clock::now() >= deadline) {
      Stop(5s);
      return Status(Code::kUnavailable, "flintd did not write " + url_file + " within " +
                                            std::to_string(timeout.count()) + " ms; log:\n" +
                                            LogTail());
    }
    std::this_thread::sleep_for(20ms);
  }
}

int FlintdProcess::Stop(std::chrono::milliseconds timeout) {
  if (!running()) return -1;
  for (pid_t p : Descendants(pid_)) tree_.push_back(p);
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!WaitPid(pid_, &status, timeout)) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    WaitPid(pid_, &status, 10s);
  }
  pid_ = -1;
  return ExitCodeOf(status);
}

void FlintdProcess::Kill9() {
  if (!running()) return;
  for (pid_t p : Descendants(pid_)) tree_.push_back(p);
  ::kill(pid_, SIGKILL);
  int status = 0;
  WaitPid(pid_, &status, 10s);
  pid_ = -1;
}

Status FlintdProcess::Restart() {
  Stop();
  return Start();
}

void FlintdProcess::KillLeftovers() {
  // Workers normally die with flintd; anything that did not gets SIGKILL so no test leaves a
  // process behind. (Pids seen in this flintd's tree; reuse within a test run is unlikely.)
  for (pid_t p : tree_) {
    if (ProcessAlive(p)) ::kill(p, SIGKILL);
  }
  tree_.clear();
}

std::string FlintdProcess::token() const {
  std::string t = ReadFile(data_dir_ + "/admin.token");
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

std::string FlintdProcess::LogTail(size_t bytes) const {
  std::string log = ReadFile(log_path_);
  return log.size() > bytes ? "..." + log.substr(log.size() - bytes) : log;
}

std::vector<pid_t> FlintdProcess::FindWorkers(const std::string& needle) const {
  std::vector<pid_t> out;
  if (!running()) return out;
  for (pid_t p : Descendants(pid_)) {
    if (ProcessAlive(p) && ProcessCmdline(p).find(needle) != std::string::npos) {
      out.push_back(p);
    }
  }
  return out;
}

Result<client::HttpResponse> FlintdProcess::Http(const client::HttpRequest& request) const {
  Result<client::HttpUrl> url = client::ParseHttpUrl(url_);
  if (!url.ok()) return url.status();
  client::HttpClientOptions options;
  options.keep_alive = false;
  options.io_timeout_ms = 60'000;
  client::HttpClient http(*url, options);
  return http.Send(request);
}

Result<client::HttpResponse> FlintdProcess::HttpGet(const std::string& target,
                                                    std::vector<client::Header> headers) const {
  client::HttpRequest request;
  request.target = target;
  request.headers = std::move(headers);
  return Http(request);
}

Result<client::HttpResponse> FlintdProcess::HttpPost(const std::string& target,
                                                     const std::string& body,
                                                     const std::string& content_type) const {
  client::HttpRequest request;
  request.method = "POST";
  request.target = target;
  request.body = body;
  request.headers.push_back({"Content-Type", content_type});
  return Http(request);
}

client::FlintClient FlintdProcess::Client() const {
  Result<client::HttpUrl> url = client::ParseHttpUrl(url_);
  client::FlintClientOptions options;
  options.management_timeout_ms = 60'000;
  options.invoke_timeout_ms = 60'000;
  return client::FlintClient(url.ok() ? *url : client::HttpUrl{"127.0.0.1", 1, ""}, token(),
                             options);
}

CliResult FlintdProcess::RunCli(const std::vector<std::string>& args,
                                const std::map<std::string, std::string>& env,
                                std::chrono::milliseconds timeout, const std::string& stdin_text,
                                const std::string& cwd) const {
  std::map<std::string, std::string> full = {
      {"FLINT_DATA_DIR", data_dir_}, {"FLINT_URL", kUnset}, {"FLINT_TOKEN", kUnset}};
  for (const auto& [k, v] : env) full[k] = v;
  return RunProcess(FlintBinary(), args, full, timeout, stdin_text, cwd);
}

CliResult FlintdProcess::Deploy(std::vector<std::string> args,
                                std::chrono::milliseconds timeout) const {
  args.insert(args.begin(), "deploy");
  return RunCli(args, {}, timeout);
}

CliResult FlintdProcess::DeployJs(const std::string& name, const std::string& code,
                                  std::vector<std::string> flags) const {
  TempDir dir("flint-fn");
  dir.Write(name + "/index.mjs", code);
  std::vector<std::string> args = {name, dir.path() + "/" + name};
  args.insert(args.end(), flags.begin(), flags.end());
  return Deploy(std::move(args));
}

}  // namespace flint::testing
