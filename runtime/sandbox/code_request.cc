#include "runtime/sandbox/code_request.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

namespace flint::runtime::sandbox {

Status RequestCode(int fd, const std::string& code_root, const std::string& code_dir) {
  // code_dir must be a directory right below the code root, named without "..".
  std::string prefix = code_root + "/";
  if (code_root.empty() || code_dir.rfind(prefix, 0) != 0 || code_dir.size() == prefix.size() ||
      code_dir.find('/', prefix.size()) != std::string::npos ||
      code_dir.compare(prefix.size(), std::string::npos, "..") == 0 ||
      code_dir.compare(prefix.size(), std::string::npos, ".") == 0) {
    ::close(fd);
    return InvalidArgument("code directory '" + code_dir + "' is not in the code store " +
                           code_root);
  }
  std::string name = code_dir.substr(prefix.size());
  ssize_t n;
  while ((n = ::send(fd, name.data(), name.size(), MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  char reply[512];
  if (n == static_cast<ssize_t>(name.size())) {
    while ((n = ::recv(fd, reply, sizeof reply, 0)) < 0 && errno == EINTR) {
    }
  }
  int saved = errno;
  ::close(fd);
  if (n <= 0) {
    return n < 0 ? ErrnoStatus("asking the sandbox's PID 1 for the code", saved)
                 : Unavailable("the sandbox's PID 1 is gone");
  }
  if (reply[0] != 'K') {
    return Internal("binding the function's code: " +
                    std::string(reply + 1, static_cast<size_t>(n - 1)));
  }
  return Status::Ok();
}

}  // namespace flint::runtime::sandbox
