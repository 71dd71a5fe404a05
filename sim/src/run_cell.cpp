// Running cells: each cell in a forked child with its own SimGrid engine (one
// engine per process is all SimGrid allows), results sent back over a pipe.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include <simgrid/s4u.hpp>

#include "cluster_model.h"
#include "cluster_platform.h"
#include "sim/simulate.h"
#include "sim/statistics.h"

namespace ckptsim::sim {
namespace {

namespace s4u = simgrid::s4u;

std::string describe(const Scenario& s) { return "order " + std::to_string(s.order) + " case " + to_string(s.c); }

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::vector<std::string> engine_arguments(const std::string& log) {
  // Small stacks without guard pages: job actors are shallow, and a run
  // creates hundreds of thousands of them (each stack is zeroed when it is
  // created, which dominates the cost). Telling the story needs more room.
  std::vector<std::string> args = {"ckptsim-simulate",
                                   log.empty() ? "--cfg=contexts/stack-size:32" : "--cfg=contexts/stack-size:256",
                                   "--cfg=contexts/guard-size:0", "--log=xbt_cfg.thres:warning"};
  if (log.empty()) {
    args.push_back("--log=root.thres:critical");
  } else {
    args.push_back("--log=root.thres:warning");
    std::istringstream words(log);
    for (std::string w; words >> w;) args.push_back("--log=" + w);
  }
  return args;
}

// The child: simulate every replication, print one line per replication.
[[noreturn]] void child_main(const Scenario& s, int result_fd) {
  std::ostringstream out;
  out.precision(17);
  int code = 0;
  // Actor stacks come and go by the hundred thousand: keep freed memory in the
  // heap instead of returning it to the kernel and faulting it in again.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  try {
    auto args = engine_arguments(s.log);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int argc = static_cast<int>(args.size());
    s4u::Engine engine(&argc, argv.data());
    const ClusterPlatform platform = build_platform(engine, s.profile, s.nodes, s.spares, s.platform_file);
    const ClusterModel model(s, platform);
    out << "ok\n";
    for (int r = 0; r < s.replications; ++r) {
      const ReplicationResult rep = model.run_replication(engine, r);
      for (double t : rep.turnarounds)
        if (!(t > 0)) throw SimError(describe(s) + ": a job never completed in replication " + std::to_string(r));
      out << "r " << mean(rep.turnarounds) << ' ' << rep.makespan_s << ' ' << rep.kills << ' ' << rep.migrations << ' '
          << rep.migration_waits << ' ' << rep.migration_wait_s << '\n';
      for (const NodeUse& u : rep.node_use)
        out << "u " << u.replication << ' ' << u.node << ' ' << u.job << ' ' << u.start_s << ' ' << u.end_s << '\n';
    }
  } catch (const std::exception& e) {
    out.str("");
    out << "error\n" << e.what();
    code = 3;
  }
  write_all(result_fd, out.str());
  ::close(result_fd);
  std::fflush(nullptr);
  ::_exit(code);
}

struct Child {
  pid_t pid = -1;
  size_t index = 0;
  int result_fd = -1;  // read end of the result pipe
  int stderr_fd = -1;  // memfd holding the child's stderr (quiet runs only)
  std::string data;
};

std::string last_line(int fd) {
  std::string text;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

CellResult parse_result(const Scenario& s, const Child& c, int status) {
  const std::string& d = c.data;
  if (d.rfind("error\n", 0) == 0) throw SimError(d.substr(6));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || d.rfind("ok\n", 0) != 0) {
    std::string why = WIFSIGNALED(status) ? "died of signal " + std::to_string(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
    std::string detail = c.stderr_fd >= 0 ? last_line(c.stderr_fd) : "";
    throw SimError("simulation of " + describe(s) + " " + why + (detail.empty() ? "" : ": " + detail));
  }
  CellResult r;
  r.order = s.order;
  r.c = s.c;
  r.interval_s = s.interval_s;
  std::istringstream in(d.substr(3));
  // "r" lines: one per replication; "u" lines: node use (record_node_use).
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string tag;
    words >> tag;
    if (tag == "r") {
      double m, makespan, wait_s;
      long kills, migrations, waits;
      if (!(words >> m >> makespan >> kills >> migrations >> waits >> wait_s)) break;
      r.replication_means.push_back(m);
      r.replication_makespans.push_back(makespan);
      r.kills += kills;
      r.migrations += migrations;
      r.migration_waits += waits;
      r.migration_wait_s += wait_s;
    } else if (tag == "u") {
      NodeUse u;
      if (!(words >> u.replication >> u.node >> u.job >> u.start_s >> u.end_s)) break;
      r.node_use.push_back(u);
    } else {
      break;
    }
  }
  if (static_cast<int>(r.replication_means.size()) != s.replications)
    throw SimError("simulation of " + describe(s) + ": incomplete result from the worker");
  r.mean_turnaround_s = mean(r.replication_means);
  r.ci95_s = ci95_half_width(r.replication_means);
  r.mean_makespan_s = mean(r.replication_makespans);
  return r;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

void validate(const Scenario& s) {
  auto bad = [](const std::string& what) { throw SimError(what); };
  if (s.nodes < 1) bad("--nodes must be at least 1");
  check_v_placement(s.v_placement, s.spares);
  if (s.jobs_per_node < 1) bad("--jobs-per-node must be at least 1");
  if (s.replications < 1) bad("--replications must be at least 1");
  if (s.order < 1) bad("matrix order must be positive");
  if (!(s.interval_s >= 0) || !std::isfinite(s.interval_s)) bad("--interval must be a non-negative number of seconds");
  if (s.interval_s == 0 && !(s.checkpoint_at > 0 && s.checkpoint_at < 1))
    bad("--checkpoint-at must be a fraction strictly between 0 and 1");
  const auto& f = s.failures;
  if (f.kind == FailureModel::Kind::PerJob && !(f.p >= 0 && f.p <= 1))
    bad("--failure-rate must be a probability between 0 and 1");
  if (f.kind == FailureModel::Kind::Node) {
    if (!(f.mtbf_s > 0) || !std::isfinite(f.mtbf_s)) bad("--mtbf must be a positive number of seconds");
    if (!(f.weibull_shape >= kMinWeibullShape && f.weibull_shape <= kMaxWeibullShape))
      bad(std::string("--weibull-shape must be within ") + kWeibullShapeRange);
  }
  const double work = s.profile.job_compute_s(s.order);
  if (!(work > 0) || !std::isfinite(work))
    bad("the profile gives no positive compute time at order " + std::to_string(s.order));
  if (!(s.profile.reboot_s >= 0)) bad("the profile's reboot_s must not be negative");
  if (!s.platform_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.platform_file, ec))
      bad("platform " + s.platform_file.string() + ": no such file");
    if (::access(s.platform_file.c_str(), R_OK) != 0) bad("platform " + s.platform_file.string() + ": cannot be read");
  }
}

std::vector<CellResult> run_cells(const std::vector<Scenario>& cells, int workers) {
  for (const auto& s : cells) validate(s);
  if (!cells.empty()) check_event_budget(cells);
  workers = std::max(1, workers);
  std::vector<CellResult> results(cells.size());
  std::vector<Child> running;
  size_t next = 0;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);

  auto stop_all = [&running] {
    for (auto& c : running) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
      close_fd(c.result_fd);
      close_fd(c.stderr_fd);
    }
    running.clear();
  };

  try {
    while (next < cells.size() || !running.empty()) {
      while (running.size() < static_cast<size_t>(workers) && next < cells.size()) {
        int fds[2];
        if (::pipe(fds) != 0) throw SimError(std::string("pipe: ") + std::strerror(errno));
        Child c;
        c.index = next;
        c.result_fd = fds[0];
        if (cells[next].log.empty()) c.stderr_fd = ::memfd_create("ckptsim-sim-stderr", 0);
        c.pid = ::fork();
        if (c.pid < 0) throw SimError(std::string("fork: ") + std::strerror(errno));
        if (c.pid == 0) {
          ::close(fds[0]);
          for (auto& other : running) {  // so siblings see their own pipe's end
            ::close(other.result_fd);
            if (other.stderr_fd >= 0) ::close(other.stderr_fd);
          }
          if (c.stderr_fd >= 0) ::dup2(c.stderr_fd, 2);
          child_main(cells[c.index], fds[1]);
        }
        ::close(fds[1]);
        running.push_back(c);
        ++next;
      }
      std::vector<pollfd> polls;
      for (auto& c : running) polls.push_back({c.result_fd, POLLIN, 0});
      if (::poll(polls.data(), polls.size(), -1) < 0) {
        if (errno == EINTR) continue;
        throw SimError(std::string("poll: ") + std::strerror(errno));
      }
      for (size_t i = 0; i < polls.size(); ++i) {
        if (!(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Child& c = running[i];
        char buf[65536];
        const ssize_t n = ::read(c.result_fd, buf, sizeof buf);
        if (n > 0) {
          c.data.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        // End of file: the child is done.
        int status = 0;
        while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
        }
        c.pid = -1;
        Child finished = c;
        close_fd(c.result_fd);
        running[i].result_fd = -1;
        try {
          results[finished.index] = parse_result(cells[finished.index], finished, status);
        } catch (...) {
          close_fd(finished.stderr_fd);
          running.erase(running.begin() + static_cast<long>(i));
          throw;
        }
        close_fd(finished.stderr_fd);
        running[i].stderr_fd = -1;
        running[i].pid = 0;  // marked for removal below
      }
      running.erase(std::remove_if(running.begin(), running.end(), [](const Child& c) { return c.pid == 0; }),
                    running.end());
    }
  } catch (...) {
    stop_all();
    throw;
  }
  return results;
}

CellResult run_cell(const Scenario& s) { return run_cells({s}, 1).front(); }

namespace {
std::filesystem::path bundled(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
#ifdef CKPTSIM_SOURCE_DIR
  candidates.push_back(fs::path(CKPTSIM_SOURCE_DIR) / relative);
#endif
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / relative);  // build/ckptsim -> ./data
    candidates.push_back(exe.parent_path() / relative);
  }
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return c;
  return candidates.empty() ? fs::path(relative) : candidates.front();
}
}  // namespace

std::filesystem::path default_profile_path() { return bundled("data/profiles/paper-p4.json"); }
std::filesystem::path default_platform_path() { return bundled("data/platforms/paper-cluster.xml"); }

}  // namespace ckptsim::sim
