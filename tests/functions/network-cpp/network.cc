// Tries the network on request and reports what the kernel answered. The network suite
// (tests/integration/isolation/network_integration_test.cc) asserts the exact outcome.
//
//   ?do=connect&host=IPV4&port=N  "ok <first line the server sent>", or the errno's name
//                                 (ETIMEDOUT after 3 s without an answer)
//   ?do=resolv                    the contents of /etc/resolv.conf, or the errno's name
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <flint/flint.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

std::string Connect(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return "bad host";
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return ErrnoName(errno);
  std::string out;
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    out = ErrnoName(errno);
  } else {
    pollfd p = {s, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 3000) != 1) {
      out = "ETIMEDOUT";
    } else if (::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      out = ErrnoName(err != 0 ? err : errno);
    } else {
      // Connected: the first line the server sends proves the connection carries data.
      char buf[128];
      std::string line;
      p = {s, POLLIN, 0};
      while (line.find('\n') == std::string::npos && ::poll(&p, 1, 3000) == 1) {
        ssize_t n = ::read(s, buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
      }
      out = "ok " + line.substr(0, line.find('\n'));
    }
  }
  ::close(s);
  return out;
}

flint::Response Handle(const flint::Request& req, flint::Context&) {
  std::string what = req.query("do").value_or("");
  if (what == "connect") {
    return flint::Response::Text(Connect(req.query("host").value_or(""),
                                         std::atoi(req.query("port").value_or("0").c_str())));
  }
  if (what == "resolv") {
    int fd = ::open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return flint::Response::Text(ErrnoName(errno));
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    return flint::Response::Text(n > 0 ? std::string(buf, static_cast<size_t>(n)) : "");
  }
  return flint::Response::Text("unknown ?do=" + what);
}

}  // namespace

FLINT_HANDLER(Handle)
