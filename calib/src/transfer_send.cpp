// The sending side: header, then every file with sendfile (zero copy).
#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "calib/transfer.h"
#include "transfer_io.h"
#include "util/stop.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace ckptsim::calib {

namespace {
constexpr auto kConnectTimeout = 5s;
constexpr auto kIdleTimeout = 120s;  // no progress at all for this long: the peer is gone

std::string io_failure(const Endpoint& to, const char* what) {
  if (errno == EINTR && util::stop_requested()) return "interrupted";
  return std::string(what) + " " + to.str() + " failed: " +
         (errno == ETIMEDOUT ? "timed out" : errno == 0 ? "connection closed" : std::strerror(errno));
}

void send_file(int sock, const fs::path& path, uint64_t size, const Endpoint& to) {
  util::OwnedFd in(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw TransferError("cannot read " + path.string() + ": " + std::strerror(errno));
  off_t off = 0;
  while (static_cast<uint64_t>(off) < size) {
    if (util::stop_requested()) throw TransferError("interrupted");
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(size - static_cast<uint64_t>(off), 16u << 20));
    ssize_t n = sendfile(sock, in.get(), &off, chunk);
    if (n > 0) continue;
    if (n == 0) throw TransferError(path.string() + " shrank while it was being sent");
    if (errno == EAGAIN || errno == EINTR) {
      pollfd p{sock, POLLOUT, 0};
      poll(&p, 1, 200);
      continue;
    }
    throw TransferError(io_failure(to, "sending to"));
  }
}
}  // namespace

void probe_endpoint(const Endpoint& to) { connect_to(to, kConnectTimeout); }

std::string send_raw(const Endpoint& to, const TransferHeader& header, const fs::path& image_dir) {
  util::OwnedFd s = connect_to(to, kConnectTimeout);
  const std::string body = header.to_json().dump();
  uint64_t len = body.size();
  unsigned char len_le[8];
  for (int i = 0; i < 8; ++i) len_le[i] = static_cast<unsigned char>(len >> (8 * i));
  std::string reply;
  try {
    if (!write_all(s.get(), kMagic, sizeof kMagic, kIdleTimeout) ||
        !write_all(s.get(), len_le, sizeof len_le, kIdleTimeout) ||
        !write_all(s.get(), body.data(), body.size(), kIdleTimeout))
      throw TransferError(io_failure(to, "sending to"));
    for (const auto& f : header.files) send_file(s.get(), image_dir / f.path, f.size, to);
  } catch (const TransferError&) {
    // The receiver may have refused early and said why: prefer its reason.
    if (!util::stop_requested() && read_line(s.get(), reply, 4096, 2s) && reply.rfind("fail", 0) == 0) return reply;
    throw;
  }
  if (!read_line(s.get(), reply, 4096, kIdleTimeout)) throw TransferError(io_failure(to, "waiting for the reply of"));
  return reply;
}

SendResult send_image(const fs::path& image_dir, const Endpoint& to, const std::string& name) {
  SendResult r;
  auto t0 = std::chrono::steady_clock::now();
  TransferHeader h = describe_image(image_dir, name);
  auto t1 = std::chrono::steady_clock::now();
  std::string reply = send_raw(to, h, image_dir);
  auto t2 = std::chrono::steady_clock::now();
  if (reply.rfind("ok", 0) != 0) {
    std::string why = reply.rfind("fail ", 0) == 0 ? reply.substr(5) : reply;
    throw TransferError("receiver " + to.str() + " rejected " + name + ": " + why);
  }
  r.bytes = h.total_bytes();
  r.hash_s = std::chrono::duration<double>(t1 - t0).count();
  r.copy_s = std::chrono::duration<double>(t2 - t1).count();
  return r;
}

}  // namespace ckptsim::calib
