// The emulated gigabit link: network namespace + veth pair + tc tbf.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "calib/copy_target.h"

namespace ckptsim::calib {

namespace {
constexpr int kSlots = 32;  // /30s in 169.254.231.0/24 we may use, one per concurrent calibration

std::string first_line(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  return l.empty() ? "no output" : l;
}

void must(const std::vector<std::string>& argv) {
  util::CommandResult r = util::run_command(argv);
  if (r.status != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    throw NetnsUnavailable(cmd + ": " + first_line(r.output));
  }
}

bool pid_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// A calibration that was SIGKILLed cannot clean up; the next one removes what
// it left (namespaces and veths named after a pid that no longer exists).
void remove_stale_links() {
  util::CommandResult ns = util::run_command({"ip", "netns", "list"});
  std::istringstream in(ns.output);
  std::string line;
  while (std::getline(in, line)) {
    std::string name = line.substr(0, line.find(' '));
    if (name.rfind("ckptsim-", 0) != 0) continue;
    const std::string num = name.substr(8);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!pid_alive(std::stol(num))) util::run_command({"ip", "netns", "del", name});
  }
  util::CommandResult links = util::run_command({"ip", "-o", "link", "show"});
  std::istringstream lin(links.output);
  while (std::getline(lin, line)) {
    // "12: ckv1234h@if11: <...>"
    auto a = line.find(": ");
    if (a == std::string::npos) continue;
    std::string dev = line.substr(a + 2);
    dev = dev.substr(0, dev.find_first_of("@:"));
    if (dev.size() < 5 || dev.rfind("ckv", 0) != 0 || dev.back() != 'h') continue;
    const std::string num = dev.substr(3, dev.size() - 4);
    if (num.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!pid_alive(std::stol(num))) util::run_command({"ip", "link", "del", dev});
  }
}

// Takes the first free slot (a non-blocking flock; released by the kernel when we die).
util::OwnedFd take_slot(int& slot) {
  for (slot = 0; slot < kSlots; ++slot) {
    std::string path = "/run/lock/ckptsim-netns-" + std::to_string(slot) + ".lock";
    util::OwnedFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) fd.reset(open(("/tmp/ckptsim-netns-" + std::to_string(slot) + ".lock").c_str(),
                           O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw NetnsUnavailable(std::string("cannot create a lock file: ") + std::strerror(errno));
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
  }
  throw NetnsUnavailable("all " + std::to_string(kSlots) + " link slots are in use");
}
}  // namespace

NetnsLink::NetnsLink(const std::string& rate) : rate_(rate) {
  if (geteuid() != 0) throw NetnsUnavailable("not root (network namespaces need CAP_NET_ADMIN)");
  if (util::run_command({"ip", "-V"}).status != 0) throw NetnsUnavailable("the `ip` command (iproute2) is missing");
  remove_stale_links();
  int slot = 0;
  slot_lock_ = take_slot(slot);
  const std::string pid = std::to_string(getpid());
  ns_ = "ckptsim-" + pid;
  host_dev_ = "ckv" + pid + "h";
  ns_dev_ = "ckv" + pid + "n";
  host_ip_ = "169.254.231." + std::to_string(4 * slot + 1);
  ns_ip_ = "169.254.231." + std::to_string(4 * slot + 2);
  try {
    must({"ip", "netns", "add", ns_});
    ns_created_ = true;
    must({"ip", "link", "add", host_dev_, "type", "veth", "peer", "name", ns_dev_});
    veth_created_ = true;
    must({"ip", "link", "set", ns_dev_, "netns", ns_});
    must({"ip", "addr", "add", host_ip_ + "/30", "dev", host_dev_});
    must({"ip", "link", "set", host_dev_, "up"});
    must({"ip", "-n", ns_, "addr", "add", ns_ip_ + "/30", "dev", ns_dev_});
    must({"ip", "-n", ns_, "link", "set", ns_dev_, "up"});
    must({"ip", "-n", ns_, "link", "set", "lo", "up"});
    // Shape what we send (host -> namespace). The burst must hold a whole
    // 64 KiB GSO packet; a 256 KiB bucket does, and at 1 Gbit/s it is ~2 ms.
    std::vector<std::string> tbf = {"tc", "qdisc", "add", "dev", host_dev_, "root", "tbf",
                                    "rate", rate_, "burst", "256kb", "latency", "20ms"};
    must(tbf);
    qdisc_ = "tbf rate " + rate_ + " burst 256kb latency 20ms";
  } catch (...) {
    cleanup();
    throw;
  }
}

NetnsLink::~NetnsLink() { cleanup(); }

void NetnsLink::cleanup() noexcept {
  try {
    // Deleting the namespace destroys its veth end, which takes the peer with it.
    if (ns_created_) util::run_command({"ip", "netns", "del", ns_});
    if (veth_created_) util::run_command({"ip", "link", "del", host_dev_});  // usually already gone
  } catch (...) {
  }
  ns_created_ = veth_created_ = false;
}

nlohmann::json NetnsLink::describe() const {
  return {{"kind", "netns"},
          {"namespace", ns_},
          {"veth", host_dev_ + " <-> " + ns_dev_},
          {"host_ip", host_ip_},
          {"ns_ip", ns_ip_},
          {"shaping", qdisc_}};
}

}  // namespace ckptsim::calib
