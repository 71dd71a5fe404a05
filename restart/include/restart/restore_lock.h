// One restore of a chain at a time (docs/restarting.md "One restore at a
// time"). restore_process claims the chain of the image it restores (the
// directory that holds DIR/ckpt-NNNN, whichever of its images is named) in a
// small lock file, DIR/.ckpt-restore-lock (image_format::kRestoreLock), or a
// per-host one keyed by DIR's device and inode when DIR is not writable. The
// file records who holds the chain: the restorer (pid and /proc start time)
// while it restores, then the restored job, with this host's boot id and PID
// namespace. An flock on the file guards only the short read-decide-write; the
// claim itself lives as long as the recorded process does, so it survives the
// restorer being killed, and a crashed holder leaves no stale lock on its host.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <string>

namespace ckptsim::restart {

// What the lock file says about one process.
struct LockHolder {
  pid_t pid = 0;
  unsigned long long start = 0;  // /proc/PID/stat starttime (clock ticks since boot)
  bool operator==(const LockHolder& o) const { return pid == o.pid && start == o.start; }
};

class RestoreClaim {
 public:
  // Claims the chain of `image` for this process's restore. Throws RestoreBusy
  // (one line naming the running job or restore, and the image it came from)
  // when a restore of this chain is under way or its restored job lives;
  // ImageError when there is no directory there or the lock file is not a
  // regular file of ours. force: claims nothing and checks nothing.
  RestoreClaim(const std::filesystem::path& image, bool force);
  // A restore that failed (left by an exception) gives its claim back.
  ~RestoreClaim();
  RestoreClaim(const RestoreClaim&) = delete;
  RestoreClaim& operator=(const RestoreClaim&) = delete;

  // The restore succeeded and `job` runs: the claim is now the job's, for as
  // long as it lives. Returns job.
  pid_t job(pid_t job);

 private:
  std::string lock_;  // the lock file; empty: nothing claimed
  LockHolder self_;
  bool handed_to_job_ = false;
  int exceptions_ = 0;
};

// A job that RestoreClaim::job recorded in this process has ended (reaped):
// its claim is cleared at once, so that another host, which cannot look at
// this host's processes, may restore the chain again. Nothing for another pid.
void restore_ended(pid_t job);

}  // namespace ckptsim::restart
