// `ckptsim restart IMAGE`: bring a job back from a checkpoint image and wait
// for it, ending the way it ends (its exit code, or death by its signal).
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "commands.h"
#include "restart/restart.h"

namespace ckptsim::cli {

namespace {

// --pid-file: a temporary beside the file is created before anything is
// restored (so an unusable path is refused with nothing started) and renamed
// into place once the job runs; a failed restore leaves no file behind.
class PidFile {
 public:
  explicit PidFile(const std::string& path) : path_(path) {
    if (path_.empty()) return;
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) throw Exit(2, "restart: --pid-file " + path_ + " is a directory");
    tmp_ = path_ + ".tmp-XXXXXX";
    fd_ = ::mkostemp(tmp_.data(), O_CLOEXEC);
    if (fd_ < 0) throw Exit(2, "restart: cannot write --pid-file " + path_ + ": " + std::strerror(errno));
  }
  ~PidFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Writes pid and moves the file into place; false (errno set) if that failed.
  bool commit(pid_t pid) {
    if (path_.empty()) return true;
    const std::string text = std::to_string(pid) + "\n";
    const bool ok = ::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::close(std::exchange(fd_, -1)) == 0 && ::rename(tmp_.c_str(), path_.c_str()) == 0;
    if (ok) tmp_.clear();
    return ok;
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace

void add_restart(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("restart", "Restart a job from a checkpoint image (DIR/ckpt-NNNN or DIR/latest)");
  auto opts = std::make_shared<restart::RestartOptions>();
  auto verify = std::make_shared<std::string>("full");
  auto pid_file = std::make_shared<std::string>();
  cmd->add_option("image", opts->image, "image directory, or DIR/latest")->required();
  cmd->add_flag("--skip-unrestorable", opts->skip_unrestorable,
                "turn descriptors that cannot be restored (sockets, pipes) into /dev/null instead of refusing");
  cmd->add_option("--verify", *verify,
                  "full (default): every checksum before anything runs; quick: all but the memory segments' "
                  "checksums, so an image whose memory was corrupted or altered runs as it is")
      ->check(CLI::IsMember({"full", "quick"}));
  cmd->add_flag("--allow-foreign-files", opts->allow_foreign_files,
                "as root restoring another user's image: also write and open files that user does not own "
                "(the job still runs as the image's owner)");
  cmd->add_option("--pid-file", *pid_file, "write the restored process's pid to this file once it runs");
  cmd->add_flag("--timing", opts->report_timing, "print how long each restore phase took on stderr");
  cmd->add_flag("--force", opts->force,
                "restore even while another restore of the same job runs (the job then runs twice, "
                "writing its files twice)");
  cmd->callback([&exit_code, opts, verify, pid_file] {
    opts->verify = *verify == "quick" ? restart::Verify::Quick : restart::Verify::Full;
    PidFile pid_out(*pid_file);
    pid_t pid;
    try {
      pid = restart::restore_process(*opts);  // one restore of a chain at a time, unless --force
    } catch (const restart::RestoreBusy& e) {
      throw Exit(4, std::string("restart: ") + e.what());
    } catch (const restart::ImageError& e) {
      throw Exit(2, std::string("restart: ") + e.what());
    } catch (const restart::RestoreError& e) {
      throw Exit(3, std::string("restart: ") + e.what() + " (restore abandoned, nothing left running)");
    }
    if (!pid_out.commit(pid)) {
      const std::string why = std::strerror(errno);
      ::kill(pid, SIGKILL);
      restart::wait_for_exit(pid);
      throw Exit(3, "restart: cannot write --pid-file " + *pid_file + ": " + why + " (restored job killed)");
    }
    // The job now owns the terminal's signals; we only pass on how it ends.
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    const int status = restart::wait_for_exit(pid);
    if (status > 128) {
      const int sig = status - 128;
      signal(sig, SIG_DFL);
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, sig);
      sigprocmask(SIG_UNBLOCK, &set, nullptr);
      kill(getpid(), sig);
    }
    exit_code = status;
  });
}

}  // namespace ckptsim::cli
