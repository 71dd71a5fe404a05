// Asking a running job for a checkpoint: find its image directory and signal
// from its environment, check it really catches that signal through libckpt,
// send it, and (with wait) follow DIR/.ckpt-status until the new image is done.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "ckpt/control.h"
#include "ckpt/signal_rule.h"
#include "status.h"

namespace fs = std::filesystem;

namespace ckptsim::ckpt {

namespace {

std::string read_file(const fs::path& p, bool* ok) {
  std::ifstream in(p, std::ios::binary);
  *ok = bool(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct JobSettings {
  fs::path dir;
  int signal = 3;
};

JobSettings job_settings(pid_t pid) {
  const fs::path proc = "/proc/" + std::to_string(pid);
  bool ok = false;
  const std::string env = read_file(proc / "environ", &ok);
  if (!ok) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) throw CkptError("no process " + std::to_string(pid));
    throw CkptError("cannot read the environment of process " + std::to_string(pid));
  }
  JobSettings s;
  bool have_dir = false;
  std::string signal_name;
  for (size_t start = 0; start < env.size();) {
    size_t end = env.find('\0', start);
    if (end == std::string::npos) end = env.size();
    const std::string var = env.substr(start, end - start);
    const size_t eq = var.find('=');
    const std::string name = var.substr(0, eq), value = eq == std::string::npos ? "" : var.substr(eq + 1);
    if (name == image_format::env::kDir) {
      s.dir = value;
      have_dir = true;
    } else if (name == image_format::env::kSignal) {
      signal_name = value;
    }
    start = end + 1;
  }
  if (!signal_name.empty()) s.signal = parse_signal(signal_name);
  if (!have_dir) s.dir = image_format::kDefaultDir;
  if (s.dir.is_relative()) {
    std::error_code ec;
    fs::path cwd = fs::read_symlink(proc / "cwd", ec);
    s.dir = (ec ? fs::current_path() : cwd) / s.dir;
  }
  s.dir = s.dir.lexically_normal();

  // libckpt is there if its file is mapped (a job started under it) or, for a
  // restored job whose memory now maps the image's core, if its directory has
  // the status file. Either way the job must catch the signal, or it would die of it.
  const std::string maps = read_file(proc / "maps", &ok);
  const bool mapped = maps.find("/libckpt.so") != std::string::npos;
  std::error_code ec;
  const bool restored = have_dir && fs::exists(s.dir / image_format::kStatusFile, ec);
  if (!mapped && !restored)
    throw CkptError("process " + std::to_string(pid) + " does not run under libckpt.so");
  if (!catches_signal(pid, s.signal))
    throw CkptError("process " + std::to_string(pid) + " does not catch signal " + std::to_string(s.signal) +
                    " (is libckpt.so loaded?)");
  return s;
}

// Gone, or dead and not yet reaped: a zombie still answers kill(pid, 0), so a
// job that is its caller's child and was killed mid-dump (the OOM killer, in a
// memory-limited calibration) would otherwise be waited for until the timeout.
bool process_ended(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  bool ok = false;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat", &ok);
  if (!ok) return true;
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && (stat[close + 2] == 'Z' || stat[close + 2] == 'X');
}

// Stopped by SIGSTOP (or SIGTSTP..., a scheduler's suspend): state T. A
// ptrace stop (t) is not: continuing it is the tracer's business.
bool job_stopped(pid_t pid) {
  bool ok = false;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat", &ok);
  const auto close = stat.rfind(')');
  return ok && close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T';
}

// A restored process tree runs under an init of its own (pid 1 of its PID
// namespace, started by `ckptsim restart`, docs/restarting.md "Process
// trees"): asked for that init, the job is its first child, the tree's root.
// Any other pid is the job itself.
pid_t job_of(pid_t pid) {
  bool ok = false;
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status", &ok));
  std::string line;
  std::vector<long> nspid;
  while (ok && std::getline(status, line))
    if (line.rfind("NSpid:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      for (long p; fields >> p;) nspid.push_back(p);
    }
  if (nspid.size() < 2 || nspid.back() != 1) return pid;  // not the init of a namespace below ours
  const std::string task = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  std::istringstream children(read_file(task, &ok));
  long root = 0;
  if (!ok || !(children >> root) || root <= 0)
    throw CkptError("process " + std::to_string(pid) + " is the init of a restored process tree whose root has ended");
  return static_cast<pid_t>(root);
}

// True while a dump's writer holds the image directory's lock (image_dir.cpp
// takes it with flock on the directory itself).
bool dir_locked_by_writer(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

}  // namespace

bool catches_signal(pid_t pid, int sig) {
  if (sig < 1 || sig > 64) return false;
  bool ok = false;
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status", &ok));
  std::string line;
  while (ok && std::getline(status, line))
    if (line.rfind("SigCgt:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1;
  return false;
}

CheckpointResult request_checkpoint(pid_t pid, bool wait, std::chrono::milliseconds timeout) {
  if (pid <= 0) throw CkptError("invalid pid " + std::to_string(pid));
  if (timeout <= std::chrono::milliseconds::zero() ||
      timeout > std::chrono::milliseconds(static_cast<long long>(kMaxDurationS * 1000)))
    throw CkptError("the timeout must be between 0.001 and 1000000 seconds");
  pid = job_of(pid);
  const JobSettings job = job_settings(pid);
  const unsigned long before = highest_image(job.dir);
  const DumpStatus old = read_dump_status(job.dir);
  const auto t0 = std::chrono::steady_clock::now();
  CheckpointResult result;
  // A stopped job never runs its handler until continued. It is continued for
  // the dump, and the request tells libckpt.so to stop it again as soon as the
  // dump no longer needs it running (signal_rule.h): after the fork for a
  // forked dump, whose writer completes the image while the job stays stopped.
  result.was_stopped = job_stopped(pid);
  if (result.was_stopped) {
    union sigval value {};
    value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(kStayStoppedRequest));
    if (::sigqueue(pid, job.signal, value) != 0 || ::kill(pid, SIGCONT) != 0)
      throw CkptError("cannot signal process " + std::to_string(pid) + ": " + std::strerror(errno));
  } else if (::kill(pid, job.signal) != 0) {
    throw CkptError("cannot signal process " + std::to_string(pid) + ": " + std::strerror(errno));
  }
  if (!wait) return result;

  auto delay = std::chrono::microseconds(200);
  for (bool ended = false;; ended = process_ended(pid)) {
    // Once the job has ended, its last word is read once more before giving up.
    const DumpStatus st = read_dump_status(job.dir);
    const bool changed = st.changed_since(old);
    if (st.seq > before && changed && st.word == "ok") {
      result.image = job.dir / st.rest;
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return result;
    }
    // A dump refused before it had a number (threads that cannot be stopped,
    // no memory for its buffers...) reports "fail 0".
    if (changed && st.word == "fail" && (st.seq > before || st.seq == 0)) {
      const bool refused = st.rest.rfind("refused: ", 0) == 0;  // not a failure: the job cannot be dumped as it is
      throw CkptError("checkpoint " + (st.seq ? std::to_string(st.seq) + " " : std::string()) +
                      (refused ? st.rest : "failed: " + st.rest));
    }
    // A forked dump's writer (run's default) outlives a job that ends while
    // it writes, and holds the directory's lock until the image is committed.
    if (ended && !dir_locked_by_writer(job.dir))
      throw CkptError("process " + std::to_string(pid) + " ended before the checkpoint was complete");
    if (std::chrono::steady_clock::now() - t0 > timeout)
      throw CkptError("timed out waiting for the checkpoint of process " + std::to_string(pid));
    std::this_thread::sleep_for(delay);
    if (delay < std::chrono::milliseconds(20)) delay *= 2;
  }
}

}  // namespace ckptsim::ckpt
