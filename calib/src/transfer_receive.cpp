// The receiving side ("the other node"): `ckptsim receive --listen PORT`.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "calib/transfer.h"
#include "transfer_io.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/scratch_dir.h"
#include "util/stop.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace ckptsim::calib {

namespace {
constexpr auto kIdleTimeout = 60s;

struct Rejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void make_private_dir(const fs::path& p) {
  if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
    throw Rejected("cannot create " + p.string() + ": " + std::strerror(errno));
  chmod(p.c_str(), 0700);  // umask must not loosen or tighten it
}

struct XxhFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

void receive_file(int sock, const fs::path& root, const FileEntry& f, std::vector<char>& buf) {
  fs::path target = root / f.path;
  // parents, 0700 each
  fs::path rel = fs::path(f.path).parent_path(), cur = root;
  for (const auto& comp : rel) make_private_dir(cur /= comp);
  util::OwnedFd out(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) throw Rejected("cannot create " + target.string() + ": " + std::strerror(errno));
  fchmod(out.get(), 0600);
  std::unique_ptr<XXH3_state_t, XxhFree> st(XXH3_createState());
  XXH3_64bits_reset(st.get());
  uint64_t left = f.size;
  while (left > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    if (!read_all(sock, buf.data(), chunk, kIdleTimeout))
      throw Rejected("transfer of " + f.path + " cut short (" +
                     (errno == 0 ? std::string("connection closed") : std::strerror(errno)) + ")");
    XXH3_64bits_update(st.get(), buf.data(), chunk);
    if (!util::write_all(out.get(), buf.data(), chunk))
      throw Rejected("writing " + target.string() + ": " + std::strerror(errno));
    left -= chunk;
  }
  std::string got = util::hex64(XXH3_64bits_digest(st.get()));
  if (got != f.xxh3) throw Rejected("checksum mismatch on " + f.path + " (expected " + f.xxh3 + ", got " + got + ")");
}

enum class Outcome { Probe, Received, Rejected };

// One connection. A reachability probe (connect, then close) is not a transfer.
Outcome handle_connection(int sock, const fs::path& dir, const std::string& peer) {
  char magic[8];
  if (!read_all(sock, magic, sizeof magic, kIdleTimeout)) {
    if (errno == 0) return Outcome::Probe;
    std::cerr << "receive: connection from " << peer << " failed before the header\n";
    return Outcome::Rejected;
  }
  std::string name = "?";
  auto reply = [&](const std::string& line) { write_all(sock, line.data(), line.size(), 5s); };
  try {
    if (std::memcmp(magic, kMagic, sizeof magic) != 0) throw Rejected("not a ckptsim image transfer");
    unsigned char len_le[8];
    if (!read_all(sock, len_le, sizeof len_le, kIdleTimeout)) throw Rejected("header cut short");
    uint64_t len = 0;
    for (int i = 7; i >= 0; --i) len = (len << 8) | len_le[i];
    if (len == 0 || len > kMaxHeaderBytes) throw Rejected("bad header length");
    std::string body(len, '\0');
    if (!read_all(sock, body.data(), body.size(), kIdleTimeout)) throw Rejected("header cut short");
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) throw Rejected("header is not JSON");
    TransferHeader h;
    try {
      h = TransferHeader::from_json(j);
    } catch (const TransferError& e) {
      throw Rejected(e.what());
    }
    name = h.name;
    fs::path final_dir = dir / h.name;
    if (fs::exists(final_dir)) throw Rejected(final_dir.string() + " already exists");
    // Removed with what arrived unless it is renamed into place.
    util::ScratchDir tmp(dir / (".recv-" + h.name + "-" + std::to_string(getpid())));
    std::error_code ec;
    fs::remove_all(tmp.path(), ec);
    make_private_dir(tmp.path());
    std::vector<char> buf(1 << 20);
    for (const auto& f : h.files) receive_file(sock, tmp.path(), f, buf);
    if (rename(tmp.path().c_str(), final_dir.c_str()) != 0)
      throw Rejected("cannot rename into " + final_dir.string() + ": " + std::strerror(errno));
    tmp.keep();
    reply("ok " + std::to_string(h.total_bytes()) + "\n");
    std::cerr << "receive: got " << h.name << " (" << h.files.size() << " files, " << h.total_bytes()
              << " bytes) from " << peer << ", checksums verified\n";
    return Outcome::Received;
  } catch (const Rejected& e) {
    reply(std::string("fail ") + e.what() + "\n");
    // Let the sender finish writing (discarding it) so it reads our reply
    // instead of a connection reset; a sender that stalls is dropped.
    shutdown(sock, SHUT_WR);
    char sink[1 << 16];
    while (read_all(sock, sink, 1, 5s)) {
      ssize_t n;
      while ((n = recv(sock, sink, sizeof sink, 0)) > 0) {
      }
      if (n == 0) break;
    }
    std::cerr << "receive: rejected " << name << " from " << peer << ": " << e.what() << "\n";
    return Outcome::Rejected;
  }
}

}  // namespace

int serve_images(const ReceiveOptions& opts) {
  if (opts.dir.empty()) throw TransferError("receive: no directory");
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec || !fs::is_directory(opts.dir)) throw TransferError("cannot create " + opts.dir.string());

  util::OwnedFd ls(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!ls) throw TransferError(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(ls.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(opts.port);
  if (inet_pton(AF_INET, opts.listen_host.c_str(), &addr.sin_addr) != 1)
    throw TransferError("bad listen address '" + opts.listen_host + "' (a numeric IPv4 address)");
  if (bind(ls.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw TransferError("cannot listen on " + opts.listen_host + ":" + std::to_string(opts.port) + ": " +
                        std::strerror(errno));
  if (listen(ls.get(), 8) != 0) throw TransferError(std::string("listen: ") + std::strerror(errno));
  socklen_t alen = sizeof addr;
  getsockname(ls.get(), reinterpret_cast<sockaddr*>(&addr), &alen);
  std::cout << "listening on " << opts.listen_host << ":" << ntohs(addr.sin_port) << std::endl;

  while (!util::stop_requested()) {
    pollfd p{ls.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    util::OwnedFd c(accept4(ls.get(), reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c) continue;
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    std::string who = std::string(ip) + ":" + std::to_string(ntohs(peer.sin_port));
    Outcome o = handle_connection(c.get(), opts.dir, who);
    if (opts.once && o != Outcome::Probe) return o == Outcome::Received ? 0 : 1;
  }
  return 0;
}

}  // namespace ckptsim::calib
