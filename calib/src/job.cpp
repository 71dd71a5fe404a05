#include "calib/job.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "calib/probes.h"
#include "util/owned_fd.h"

#include "ckpt/image_format.h"
#include "util/stop.h"

namespace ckptsim::calib {

using namespace std::chrono_literals;

MatmulJob::MatmulJob(const JobSpec& spec) : spec_(spec) {
  util::SpawnSpec s;
  s.argv = {spec.matmul.string(), "--n", std::to_string(spec.order), "--out", spec.out.string(), "--progress"};
  if (spec.stop_when_ready) s.argv.push_back("--stop-when-ready");
  if (spec.threads > 1) s.argv.insert(s.argv.end(), {"--threads", std::to_string(spec.threads)});
  s.stderr_path = spec.log.string();
  s.cgroup_procs = spec.cgroup_procs;
  if (!spec.ckpt_dir.empty()) {
    // The same environment ckpt::spawn_preloaded gives a job (see ckpt/control.h).
    namespace env = image_format::env;
    s.extra_env = {"LD_PRELOAD=" + spec.libckpt.string(), std::string(env::kDir) + "=" + spec.ckpt_dir.string(),
                   std::string(env::kSignal) + "=" + spec.ckpt_signal};
    if (spec.incremental) s.extra_env.push_back(std::string(env::kIncremental) + "=1");
    if (spec.fork) s.extra_env.push_back(std::string(env::kFork) + "=1");
  }
  try {
    child_ = util::spawn(s);
  } catch (const std::runtime_error& e) {
    throw JobFailed(e.what(), false);
  }
}

namespace {
std::string describe_end(int status) {
  if (status > 128) return "was killed by signal " + std::to_string(status - 128) +
                           (status - 128 == 9 ? " (out of memory?)" : "");
  return "exited with status " + std::to_string(status);
}

bool log_has(const std::filesystem::path& log, const std::string& what) {
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find(what) != std::string::npos;
}
}  // namespace

void MatmulJob::wait_ready(std::chrono::seconds timeout) {
  // inotify wakes us as soon as the job writes its log: at small orders the
  // multiplication after "matrices ready" lasts only milliseconds.
  util::OwnedFd watch(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (watch) inotify_add_watch(watch.get(), spec_.log.c_str(), IN_MODIFY);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!log_has(spec_.log, "matrices ready")) {
    if (util::stop_requested()) throw std::runtime_error("interrupted");
    if (auto st = child_.try_wait())
      throw JobFailed("ckpt-matmul --n " + std::to_string(spec_.order) + " " + describe_end(*st) +
                          " before its matrices were ready (log: " + spec_.log.string() + ")",
                      *st > 128);
    if (std::chrono::steady_clock::now() > deadline) {
      child_.terminate();
      throw JobFailed("ckpt-matmul --n " + std::to_string(spec_.order) + " did not get its matrices ready in " +
                          std::to_string(timeout.count()) + " s",
                      false);
    }
    if (watch) {
      pollfd p{watch.get(), POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        while (read(watch.get(), buf, sizeof buf) > 0) {
        }
      }
    } else {
      std::this_thread::sleep_for(2ms);
    }
  }
  // The job stops itself right after that line (--stop-when-ready), so that it
  // cannot finish before it is checkpointed. Until it is really stopped, a
  // checkpoint signal could be taken first and the job stop inside its handler.
  if (!spec_.stop_when_ready) return;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (process_stat(child_.pid()).state != 'T') {
    if (auto st = child_.try_wait())
      throw JobFailed("ckpt-matmul --n " + std::to_string(spec_.order) + " " + describe_end(*st) +
                          " instead of stopping when its matrices were ready",
                      *st > 128);
    if (std::chrono::steady_clock::now() > until)
      throw JobFailed("ckpt-matmul --n " + std::to_string(spec_.order) + " did not stop when its matrices were ready",
                      false);
    std::this_thread::sleep_for(100us);
  }
}

int wait_child_exit(util::ChildProcess& child, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto st = child.try_wait()) return *st;
    if (util::stop_requested()) throw std::runtime_error("interrupted");
    if (std::chrono::steady_clock::now() > deadline) {
      child.terminate();
      throw JobFailed("the job did not finish within " + std::to_string(timeout.count()) + " s", false);
    }
    std::this_thread::sleep_for(20ms);
  }
}

int MatmulJob::wait_exit(std::chrono::seconds timeout) { return wait_child_exit(child_, timeout); }

}  // namespace ckptsim::calib
