#include "transfer_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/stop.h"

namespace ckptsim::calib {

namespace {
// Waits for fd to be ready; false with errno set on timeout (ETIMEDOUT) or stop (EINTR).
bool wait_ready(int fd, short events, std::chrono::milliseconds idle) {
  auto deadline = std::chrono::steady_clock::now() + idle;
  for (;;) {
    if (util::stop_requested()) {
      errno = EINTR;
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}
}  // namespace

util::OwnedFd connect_to(const Endpoint& to, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(to.host.c_str(), std::to_string(to.port).c_str(), &hints, &res);
  if (gai != 0) throw TransferError("cannot reach " + to.str() + ": " + gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  util::OwnedFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) throw TransferError(std::string("socket: ") + std::strerror(errno));
  int r = connect(s.get(), res->ai_addr, res->ai_addrlen);
  if (r != 0 && errno != EINPROGRESS)
    throw TransferError("cannot reach " + to.str() + ": " + std::strerror(errno));
  if (r != 0) {
    if (!wait_ready(s.get(), POLLOUT, timeout))
      throw TransferError("cannot reach " + to.str() + ": " +
                          (errno == ETIMEDOUT ? "connection timed out" : std::strerror(errno)));
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw TransferError("cannot reach " + to.str() + ": " + std::strerror(err));
  }
  return s;
}

bool write_all(int fd, const void* buf, size_t len, std::chrono::milliseconds idle) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_ready(fd, POLLOUT, idle)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool read_all(int fd, void* buf, size_t len, std::chrono::milliseconds idle) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
    } else if (n == 0) {
      errno = 0;
      return false;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_ready(fd, POLLIN, idle)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool read_line(int fd, std::string& line, size_t max, std::chrono::milliseconds idle) {
  line.clear();
  char c;
  while (line.size() < max) {
    if (!read_all(fd, &c, 1, idle)) return !line.empty() && errno == 0;
    if (c == '\n') return true;
    line.push_back(c);
  }
  return true;
}

}  // namespace ckptsim::calib
