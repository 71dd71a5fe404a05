// Running sweep points in forked workers: one point per child process, so each
// simulation gets a fresh SimGrid engine (one engine per process). The child
// sends back one JSON line over a pipe; doubles survive the trip exactly
// (nlohmann writes the shortest round-tripping form).
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "sim/sweep.h"

namespace ckptsim::sim {

namespace {

// A running worker: its pid and the read end of its result pipe. Going out of
// scope kills and reaps the child, so no path leaves a stray process behind.
class Worker {
 public:
  Worker(int point_index, pid_t pid, int fd) : point_(point_index), pid_(pid), fd_(fd) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  int fd() const { return fd_; }
  int point() const { return point_; }
  std::string& buffer() { return buffer_; }

  // After EOF on the pipe: reap the child and return its wait status.
  int reap() {
    ::close(fd_);
    fd_ = -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  int point_;
  pid_t pid_;
  int fd_;
  std::string buffer_;
};

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

[[noreturn]] void child_main(int fd, const Scenario& s, int index, const Evaluator& eval) {
  // The parent decides when to stop (it kills us); a dead parent kills us too.
  std::signal(SIGINT, SIG_IGN);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  nlohmann::json line;
  int code = 0;
  try {
    const CellResult r = eval(s);
    line = {{"index", index}, {"mean_turnaround_s", r.mean_turnaround_s}, {"ci95_s", r.ci95_s}};
  } catch (const std::exception& e) {
    line = {{"index", index}, {"error", e.what()}};
  } catch (...) {
    line = {{"index", index}, {"error", "unknown exception"}};
    code = 1;
  }
  write_all(fd, line.dump() + "\n");
  // _exit: no atexit handlers or stdio buffers inherited from the parent.
  ::_exit(code);
}

std::unique_ptr<Worker> spawn(const SweepOptions& opts, const SweepPoint& p, const Evaluator& eval) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw SweepWorkerError(std::string("pipe: ") + std::strerror(errno));
  std::cout.flush();
  std::cerr.flush();
  const Scenario s = scenario_for(opts, p);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw SweepWorkerError(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], s, p.index, eval);
  }
  ::close(fds[1]);
  return std::make_unique<Worker>(p.index, pid, fds[0]);
}

std::string describe(const SweepPoint& p) {
  std::string s = "order " + std::to_string(p.order);
  if (p.kind != PointKind::Baseline) s += ", interval " + std::to_string(p.interval_s) + " s";
  return s;
}

PointResult finish(Worker& w, const SweepPoint& p) {
  const int status = w.reap();
  const auto nl = w.buffer().find('\n');
  if (nl == std::string::npos) {
    std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
    throw SweepWorkerError("the worker for " + describe(p) + " " + how + " without a result");
  }
  const auto j = nlohmann::json::parse(w.buffer().substr(0, nl), nullptr, false);
  if (j.is_discarded() || j.value("index", -1) != p.index)
    throw SweepWorkerError("the worker for " + describe(p) + " sent a garbled result");
  if (j.contains("error")) throw SweepError(describe(p) + ": " + j["error"].get<std::string>());
  return {p.index, j.at("mean_turnaround_s").get<double>(), j.at("ci95_s").get<double>()};
}

}  // namespace

RunOutcome run_points(const SweepOptions& opts, const SweepPlan& plan, const std::vector<int>& indices,
                      const RunControl& control, const Evaluator& eval) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
  const std::size_t workers = static_cast<std::size_t>(control.workers < 1 ? 1 : control.workers);
  const auto stopped = [&] { return control.stop && *control.stop; };

  RunOutcome out;
  std::deque<int> queue(indices.begin(), indices.end());
  std::vector<std::unique_ptr<Worker>> running;
  const auto report = [&] {
    if (control.on_progress) control.on_progress(out.results.size(), indices.size(), elapsed());
  };
  report();

  while (!queue.empty() || !running.empty()) {
    if (stopped()) {
      out.interrupted = true;
      break;  // `running` going out of scope kills and reaps the children
    }
    while (running.size() < workers && !queue.empty()) {
      running.push_back(spawn(opts, plan.points.at(static_cast<std::size_t>(queue.front())), eval));
      queue.pop_front();
    }
    std::vector<pollfd> pfds;
    for (const auto& w : running) pfds.push_back({w->fd(), POLLIN, 0});
    const int n = ::poll(pfds.data(), pfds.size(), 250);
    if (n < 0 && errno != EINTR) throw SweepWorkerError(std::string("poll: ") + std::strerror(errno));
    if (n > 0) {
      for (std::size_t i = pfds.size(); i-- > 0;) {
        if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Worker& w = *running[i];
        char buf[4096];
        const ssize_t got = ::read(w.fd(), buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got > 0) {
          w.buffer().append(buf, static_cast<std::size_t>(got));
          continue;
        }
        const auto& p = plan.points.at(static_cast<std::size_t>(w.point()));
        out.results[p.index] = finish(w, p);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    report();
  }
  if (stopped()) out.interrupted = out.results.size() < indices.size();
  return out;
}

}  // namespace ckptsim::sim
