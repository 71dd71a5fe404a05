// The receiver process and the choice of copy target (netns, loopback, remote).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "calib/copy_target.h"
#include "util/stop.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

ReceiverProcess::ReceiverProcess(const fs::path& ckptsim_exe, const fs::path& dir, const std::string& listen_ip,
                                 const std::string& netns, const fs::path& log) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  util::OwnedFd r(p[0]), w(p[1]);
  util::SpawnSpec spec;
  if (!netns.empty()) spec.argv = {"ip", "netns", "exec", netns};
  for (const std::string& a : {ckptsim_exe.string(), std::string("receive"), std::string("--listen"),
                               listen_ip + ":0", std::string("--dir"), dir.string()})
    spec.argv.push_back(a);
  spec.stdout_fd = w.get();
  spec.stderr_path = log.string();
  child_ = util::spawn(spec);
  w.reset();
  // Wait for "listening on IP:PORT" (10 s is plenty even on a loaded machine).
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.find('\n') == std::string::npos) {
    if (util::stop_requested()) throw std::runtime_error("interrupted");
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the receiver did not start listening within 10 s (log: " + log.string() + ")");
    pollfd pfd{r.get(), POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(r.get(), buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n == 0) throw std::runtime_error("the receiver exited before listening (log: " + log.string() + ")");
  }
  const std::string line = out.substr(0, out.find('\n'));
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) throw std::runtime_error("unexpected receiver output: " + line);
  endpoint_ = parse_endpoint(line.substr(prefix.size()));
  endpoint_.host = listen_ip;
}

ReceiverProcess::~ReceiverProcess() { child_.terminate(std::chrono::milliseconds(2000)); }

bool ReceiverProcess::alive() { return !child_.try_wait().has_value(); }

CopyTarget open_copy_target(const std::string& spec, const fs::path& ckptsim_exe, const fs::path& work_dir,
                            std::ostream& warn) {
  CopyTarget t;
  if (spec != "netns" && spec != "loopback") {
    t.to = parse_endpoint(spec);
    probe_endpoint(t.to);  // unreachable -> TransferError, before any measurement
    t.kind = "remote";
    t.description = {{"kind", "remote"}, {"endpoint", t.to.str()}, {"shaping", "none (a real link)"}};
    return t;
  }
  t.received_dir = work_dir / "received";
  fs::create_directories(t.received_dir);
  fs::permissions(t.received_dir, fs::perms::owner_all);
  if (spec == "netns") {
    try {
      t.link = std::make_unique<NetnsLink>("1gbit");
      t.receiver = std::make_unique<ReceiverProcess>(ckptsim_exe, t.received_dir, t.link->ns_ip(),
                                                     t.link->ns_name(), work_dir / "receiver.log");
      t.to = t.receiver->endpoint();
      t.kind = "netns";
      t.description = t.link->describe();
      t.description["rate_bps"] = 1e9;
      t.nominal_Bps = 125e6;
      return t;
    } catch (const NetnsUnavailable& e) {
      warn << "calibrate: cannot create a network namespace (" << e.what()
           << "); copying over loopback 127.0.0.1 instead, unshaped\n";
      t.receiver.reset();
      t.link.reset();
    }
  }
  t.receiver = std::make_unique<ReceiverProcess>(ckptsim_exe, t.received_dir, "127.0.0.1", "",
                                                 work_dir / "receiver.log");
  t.to = t.receiver->endpoint();
  t.kind = "loopback";
  t.description = {{"kind", "loopback"},
                   {"endpoint", t.to.str()},
                   {"shaping", "none"},
                   {"note", spec == "netns" ? "fallback: no rights for network namespaces" : "requested"}};
  return t;
}

}  // namespace ckptsim::calib
