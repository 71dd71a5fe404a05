// The copy channel: namespace, receivers and the forked senders.
#include "copy.h"

#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "calib/copy_target.h"
#include "calib/transfer.h"
#include "experiment/experiment.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {

struct CopyChannel::Impl {
  std::unique_ptr<calib::NetnsLink> link;
  std::vector<std::unique_ptr<calib::ReceiverProcess>> receivers;  // one per slot
  ~Impl() {
    receivers.clear();  // the receivers first, then their namespace
    link.reset();
  }
};

CopyChannel::CopyChannel(const std::string& kind, const fs::path& ckptsim_exe, const std::vector<Slot>& slots,
                         const fs::path& work_dir)
    : impl_(std::make_unique<Impl>()), kind_(kind), slots_(slots) {
  if (kind == "local") {
    description_ = {{"kind", "local"}, {"shaping", "none: a plain file copy (--copy local)"}};
    return;
  }
  if (kind != "netns") throw ExperimentError("--copy must be netns or local");
  try {
    impl_->link = std::make_unique<calib::NetnsLink>("1gbit");
  } catch (const calib::NetnsUnavailable& e) {
    throw ExperimentError(std::string("no network namespace for case V's copies (") + e.what() +
                          "); --copy local copies the files instead");
  } catch (const std::exception& e) {
    throw ExperimentError(std::string("the network namespace for case V's copies is unusable: ") + e.what() +
                          "; --copy local copies the files instead");
  }
  try {
    for (const Slot& s : slots)
      impl_->receivers.push_back(std::make_unique<calib::ReceiverProcess>(
          ckptsim_exe, s.incoming, impl_->link->ns_ip(), impl_->link->ns_name(),
          work_dir / ("receiver-" + std::to_string(s.index + 1) + ".log")));
  } catch (const std::exception& e) {
    throw ExperimentError(std::string("the network namespace for case V's copies is unusable: ") + e.what() +
                          "; --copy local copies the files instead");
  }
  description_ = impl_->link->describe();
  description_["rate_bps"] = 1e9;
  nominal_Bps_ = 125e6;
}

CopyChannel::~CopyChannel() = default;

fs::path CopyChannel::destination(int to, const std::string& name) const { return slots_.at(to).incoming / name; }

pid_t CopyChannel::start(const fs::path& image_dir, int to, const std::string& name) const {
  calib::Endpoint endpoint;
  if (kind_ == "netns") endpoint = impl_->receivers.at(static_cast<size_t>(to))->endpoint();
  const fs::path dest = destination(to, name);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::setpgid(0, 0);
    int code = 0;
    try {
      if (kind_ == "netns") {
        calib::send_image(image_dir, endpoint, name);
      } else {
        const fs::path tmp = dest.string() + ".part";
        fs::copy(image_dir, tmp, fs::copy_options::recursive);
        fs::permissions(tmp, fs::perms::owner_all, fs::perm_options::replace);
        fs::rename(tmp, dest);
      }
    } catch (const std::exception& e) {
      std::cerr << "experiment: copy of " << image_dir.string() << " to slot " << to + 1 << ": " << e.what() << "\n";
      code = 1;
    }
    std::cerr.flush();
    ::_exit(code);
  }
  if (pid < 0) throw RunFailed(std::string("fork: ") + std::strerror(errno));
  return pid;
}

}  // namespace ckptsim::experiment
