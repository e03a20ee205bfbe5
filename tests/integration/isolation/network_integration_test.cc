// Per-function network access end to end (docs/security.md, "Network access"): a C++ function
// (tests/functions/network-cpp) tries connections from a worker of a real flintd running as
// root, with network "none" and "outbound". This machine may have no internet, so the outside
// world is a TCP server the test runs on the host's own non-loopback address. Without root
// every test WARNs and returns (Catch2 2.13 has no SKIP). No assertion depends on timing.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"
#include "tests/support/skip_unless_root.h"

using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::DeployOrFail;
using flint::testing::FlintdProcess;
using flint::testing::GetOrFail;
using flint::testing::StartOrFail;
using namespace std::chrono_literals;

namespace {

const std::string kNetworkFunction =
    std::string(FLINT_TEST_FUNCTIONS_DIR) + "/network-cpp/network.cc";
constexpr const char* kGreeting = "hello from the host";

// The IPv4 address of the first interface that is up and not loopback ("" if none).
std::string HostAddress() {
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) return "";
  std::string out;
  for (ifaddrs* a = all; a != nullptr && out.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) out = text;
  }
  ::freeifaddrs(all);
  return out;
}

// A TCP server on `address`, port 0, that greets every connection with kGreeting and a newline.
class GreetingServer {
 public:
  explicit GreetingServer(const std::string& address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len)) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;  // shut down
        std::string line = std::string(kGreeting) + "\n";
        (void)!::write(c, line.data(), line.size());
        ::close(c);
      }
    });
  }
  ~GreetingServer() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// The function's answer to ?do=connect&host=..&port=.. (HTTP 200 expected).
std::string Connect(const FlintdProcess& flintd, const std::string& host, int port) {
  HttpResponse r =
      GetOrFail(flintd, "/fn/net?do=connect&host=" + host + "&port=" + std::to_string(port));
  INFO(host << ":" << port << ": " << r.status << " " << r.body << "\nflintd log:\n"
            << flintd.LogTail());
  CHECK(r.status == 200);
  return r.body;
}

int FlintdPort(const FlintdProcess& flintd) {
  return std::stoi(flintd.url().substr(flintd.url().rfind(':') + 1));
}

// flintd's slirp4netns processes (alive ones).
std::vector<pid_t> SlirpProcesses(const FlintdProcess& flintd) {
  std::vector<pid_t> out;
  for (pid_t p : flint::testing::Descendants(flintd.pid())) {
    if (flint::testing::ProcessAlive(p) &&
        flint::testing::ProcessCmdline(p).find("slirp4netns --configure") != std::string::npos) {
      out.push_back(p);
    }
  }
  return out;
}

std::string NetNamespace(pid_t pid) {
  char link[64] = {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
  return n > 0 ? std::string(link, static_cast<size_t>(n)) : "";
}

bool AllGone(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) {
    if (flint::testing::ProcessAlive(p)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("A function with network none cannot connect anywhere", "[isolation][network]") {
  FLINT_SKIP_UNLESS_ROOT("network tests (namespaces, slirp4netns)");
  std::string host = HostAddress();
  if (host.empty()) host = "10.0.2.2";  // no interface: any address will do to see the refusal
  GreetingServer server(host);
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployOrFail(flintd, {"net", kNetworkFunction});

  // No route at all: the namespace has only a loopback that is down.
  CHECK(Connect(flintd, host, server.port()) == "ENETUNREACH");
  CHECK(Connect(flintd, "127.0.0.1", FlintdPort(flintd)) == "ENETUNREACH");
  CHECK(Connect(flintd, "10.0.2.2", FlintdPort(flintd)) == "ENETUNREACH");
  CHECK(SlirpProcesses(flintd).empty());
  // The resolver slirp4netns would answer on is named even so (harmless without a network).
  CHECK(GetOrFail(flintd, "/fn/net?do=resolv").body == "nameserver 10.0.2.3\n");
}

TEST_CASE("A function with network outbound connects out, but not to the host's loopback",
          "[isolation][network]") {
  FLINT_SKIP_UNLESS_ROOT("network tests (namespaces, slirp4netns)");
  std::string host = HostAddress();
  if (host.empty()) {
    WARN("skipped: this machine has no non-loopback IPv4 address to stand for the internet");
    return;
  }
  GreetingServer server(host);
  REQUIRE(server.port() > 0);
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployOrFail(flintd, {"net", kNetworkFunction, "--network", "outbound"});

  // Out through slirp4netns to a server on the host's own address, data and all.
  CHECK(Connect(flintd, host, server.port()) == std::string("ok ") + kGreeting);
  // flintd listens on the host's 127.0.0.1: out of reach. 127.0.0.1 is the worker's own
  // loopback, and slirp4netns' gateway (10.0.2.2) does not lead to the host's loopback.
  CHECK(Connect(flintd, "127.0.0.1", FlintdPort(flintd)) == "ECONNREFUSED");
  CHECK(Connect(flintd, "10.0.2.2", FlintdPort(flintd)) == "ENETUNREACH");
  CHECK(GetOrFail(flintd, "/fn/net?do=resolv").body == "nameserver 10.0.2.3\n");

  // One slirp4netns, for the worker's own network namespace (not flintd's). (The one of the
  // worker that checked the function at deploy goes with that worker.)
  REQUIRE(flint::testing::WaitUntil([&] { return SlirpProcesses(flintd).size() == 1; }));
  std::vector<pid_t> slirps = SlirpProcesses(flintd);
  REQUIRE(slirps.size() == 1);
  std::string cmdline = flint::testing::ProcessCmdline(slirps[0]);
  INFO(cmdline);
  CHECK(cmdline.find("--disable-host-loopback") != std::string::npos);
  std::vector<pid_t> workers = flintd.FindWorkers("flint-worker net@");
  REQUIRE(workers.size() == 1);
  CHECK(NetNamespace(workers[0]) != NetNamespace(::getpid()));
  bool targets_worker = false;
  for (pid_t p : flint::testing::Descendants(flintd.pid())) {
    if (cmdline.find(" " + std::to_string(p) + " tap0") != std::string::npos) {
      targets_worker = NetNamespace(p) == NetNamespace(workers[0]);
    }
  }
  CHECK(targets_worker);

  // It ends with its worker: removing the function stops the worker.
  CliResult rm = flintd.RunCli({"rm", "net"});
  INFO(rm.Describe());
  REQUIRE(rm.exit_code == 0);
  CHECK(flint::testing::WaitUntil([&] { return AllGone(slirps); }, 15s));
  CHECK(SlirpProcesses(flintd).empty());
}

TEST_CASE("slirp4netns does not outlive a flintd that is killed", "[isolation][network]") {
  FLINT_SKIP_UNLESS_ROOT("network tests (namespaces, slirp4netns)");
  std::string host = HostAddress();
  if (host.empty()) {
    WARN("skipped: this machine has no non-loopback IPv4 address to stand for the internet");
    return;
  }
  GreetingServer server(host);
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployOrFail(flintd, {"net", kNetworkFunction, "--network", "outbound"});
  CHECK(Connect(flintd, host, server.port()) == std::string("ok ") + kGreeting);
  REQUIRE(flint::testing::WaitUntil([&] { return SlirpProcesses(flintd).size() == 1; }));
  std::vector<pid_t> slirps = SlirpProcesses(flintd);
  REQUIRE(slirps.size() == 1);
  flintd.Kill9();
  // Its exit fd closed with flintd (and PR_SET_PDEATHSIG): it exits by itself.
  CHECK(flint::testing::WaitUntil([&] { return AllGone(slirps); }, 10s));
}
