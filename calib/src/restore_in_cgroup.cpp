// The restore of a memory-limited calibration: `ckptsim restart` inside the
// control group, timed by its own phase clock (--timing), so restore_s is the
// same span restart::restore_process measures in-process without a limit.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "measure_internal.h"
#include "util/owned_fd.h"
#include "util/stop.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

void drop_page_cache(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    util::OwnedFd fd(::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) continue;
    ::fdatasync(fd.get());  // dirty pages cannot be dropped
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
}

namespace {

// "restart: verify         0.0123 s" lines: their sum, or -1 if there are none.
double timed_phases(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  double sum = 0;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.rfind("restart: ", 0) != 0 || line.size() < 3 || line.compare(line.size() - 2, 2, " s") != 0) continue;
    const auto sp = line.rfind(' ', line.size() - 3);
    try {
      sum += std::stod(line.substr(sp + 1));
      any = true;
    } catch (...) {
    }
  }
  return any ? sum : -1;
}

}  // namespace

CgroupRestore restore_in_cgroup(const RepContext& ctx, const fs::path& image) {
  CgroupRestore r;
  const fs::path pid_file = ctx.rep_dir / "restored.pid";
  const fs::path log = ctx.rep_dir / "restart.log";
  util::SpawnSpec s;
  s.argv = {ctx.tools.ckptsim_exe.string(), "restart", "--timing", "--pid-file", pid_file.string(), image.string()};
  s.stderr_path = log.string();
  s.cgroup_procs = ctx.cgroup->procs_file();
  const auto t0 = std::chrono::steady_clock::now();
  r.restarter = util::spawn(s);
  // The pid file appears once the job runs again (restart --pid-file).
  for (;;) {
    if (util::stop_requested()) throw std::runtime_error("interrupted");
    std::ifstream in(pid_file);
    if (in >> r.job) break;
    r.job = -1;
    if (auto st = r.restarter.try_wait()) {
      // Ended without a pid file: a failure, or the job ran and ended at once.
      std::ifstream again(pid_file);
      if (!(again >> r.job)) r.early_status = *st;
      r.job = r.early_status ? -1 : 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double phases = timed_phases(log);
  r.restore_s = phases >= 0 ? phases : wall;
  r.log_tail = util::last_line(log);
  return r;
}

}  // namespace ckptsim::calib
