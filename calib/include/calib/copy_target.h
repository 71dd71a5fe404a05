// Where calibration copies images to: "the other node".
//  - netns: a network namespace joined to us by a veth pair shaped to 1 Gbit/s
//    (the paper's Gigabit Ethernet), with `ckptsim receive` running inside;
//  - loopback: the fallback without the rights for namespaces (unshaped);
//  - remote: `ckptsim receive --listen PORT` on a real node at HOST:PORT.
// Everything is owned by RAII objects: the receiver is stopped and the
// namespace and veth deleted on every path out, including Ctrl-C.
#pragma once
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "calib/transfer.h"
#include "util/owned_fd.h"
#include "util/subprocess.h"

namespace ckptsim::calib {

struct NetnsUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A namespace "ckptsim-<pid>" and a veth pair with a /30 of 169.254.231.0/24
// (slot 0: 169.254.231.1 here, .2 in the namespace; concurrent calibrations
// take the next free /30, serialised by a lock file per slot). Link-local, and
// only ever used between the two ends of this veth.
class NetnsLink {
 public:
  // rate: tc tbf rate, e.g. "1gbit". Throws NetnsUnavailable if we lack the rights.
  explicit NetnsLink(const std::string& rate = "1gbit");
  NetnsLink(const NetnsLink&) = delete;
  NetnsLink& operator=(const NetnsLink&) = delete;
  ~NetnsLink();

  const std::string& ns_name() const { return ns_; }
  const std::string& host_ip() const { return host_ip_; }
  const std::string& ns_ip() const { return ns_ip_; }
  const std::string& host_dev() const { return host_dev_; }
  nlohmann::json describe() const;

 private:
  void cleanup() noexcept;
  std::string ns_, host_dev_, ns_dev_, host_ip_, ns_ip_, rate_, qdisc_;
  util::OwnedFd slot_lock_;
  bool ns_created_ = false, veth_created_ = false;
};

// A `ckptsim receive` child (inside a namespace or not), stopped on destruction.
class ReceiverProcess {
 public:
  // Starts it and waits for its "listening on" line. Throws std::runtime_error.
  ReceiverProcess(const std::filesystem::path& ckptsim_exe, const std::filesystem::path& dir,
                  const std::string& listen_ip, const std::string& netns, const std::filesystem::path& log);
  ~ReceiverProcess();
  Endpoint endpoint() const { return endpoint_; }
  bool alive();

 private:
  util::ChildProcess child_;
  Endpoint endpoint_;
};

struct CopyTarget {
  std::unique_ptr<NetnsLink> link;           // netns only; destroyed after the receiver
  std::unique_ptr<ReceiverProcess> receiver; // netns/loopback
  Endpoint to;
  std::string kind;                          // "netns", "loopback", "remote"
  std::filesystem::path received_dir;        // where copies land (empty for remote)
  nlohmann::json description;                // for the profile's machine.link
  double nominal_Bps = 0;                    // shaped rate, 0 when unshaped/unknown

  CopyTarget() = default;
  CopyTarget(CopyTarget&&) = default;
  CopyTarget& operator=(CopyTarget&&) = default;
  ~CopyTarget() { receiver.reset(); link.reset(); }  // receiver first, then its namespace
};

// spec: "netns", "loopback" or "HOST:PORT". Warnings (fallback to loopback) go to warn.
// Throws TransferError (one line) for an unreachable HOST:PORT.
CopyTarget open_copy_target(const std::string& spec, const std::filesystem::path& ckptsim_exe,
                            const std::filesystem::path& work_dir, std::ostream& warn);

}  // namespace ckptsim::calib
