#include "util/subprocess.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "util/owned_fd.h"

extern char** environ;

namespace ckptsim::util {

int shell_status(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

std::string last_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    terminate();
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { terminate(); }

std::optional<int> ChildProcess::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int ws = 0;
  pid_t r = waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) status_ = shell_status(ws);
  else if (r < 0 && errno == ECHILD) status_ = -1;  // reaped elsewhere
  return status_;
}

int ChildProcess::wait() {
  while (!status_ && pid_ > 0) {
    int ws = 0;
    pid_t r = waitpid(pid_, &ws, 0);
    if (r == pid_) status_ = shell_status(ws);
    else if (r < 0 && errno != EINTR) status_ = -1;
  }
  return status_.value_or(-1);
}

void ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || try_wait()) return;
  if (grace.count() > 0) {
    kill(pid_, SIGTERM);
    auto until = std::chrono::steady_clock::now() + grace;
    while (!try_wait() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (status_) return;
  }
  kill(pid_, SIGKILL);
  wait();
}

namespace {

// Everything the child needs, built before fork (the child only makes syscalls).
struct PreparedExec {
  std::vector<std::string> env_storage;
  std::vector<char*> argv, envp;
};

PreparedExec prepare(const SpawnSpec& spec) {
  PreparedExec p;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : spec.extra_env)
      if (x.substr(0, x.find('=')) == name) replaced = true;
    if (!replaced) p.env_storage.push_back(entry);
  }
  for (const auto& x : spec.extra_env) p.env_storage.push_back(x);
  for (auto& s : p.env_storage) p.envp.push_back(s.data());
  p.envp.push_back(nullptr);
  for (const auto& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  return p;
}

[[noreturn]] void child_fail(int report_fd, int err) {
  (void)!write(report_fd, &err, sizeof err);
  _exit(127);
}

// The child writes its own pid to the group's cgroup.procs before exec, so
// the program and everything it forks are charged to the group from the start.
void join_cgroup(int report_fd, const char* procs) {
  char buf[24];
  char* p = buf + sizeof buf;
  unsigned long v = static_cast<unsigned long>(getpid());
  do *--p = static_cast<char>('0' + v % 10);
  while (v /= 10);
  const int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) child_fail(report_fd, errno);
  const ssize_t len = buf + sizeof buf - p;
  if (write(fd, p, static_cast<size_t>(len)) != len) child_fail(report_fd, errno);
  close(fd);
}

void redirect(int report_fd, int target, int fd, const std::string& path, int flags) {
  if (fd < 0) {
    fd = open(path.c_str(), flags, 0600);
    if (fd < 0) child_fail(report_fd, errno);
  }
  if (fd != target && dup2(fd, target) < 0) child_fail(report_fd, errno);
}

}  // namespace

ChildProcess spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) throw std::runtime_error("spawn: empty command");
  PreparedExec p = prepare(spec);
  // A CLOEXEC pipe tells the parent whether exec worked (and errno if not).
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  OwnedFd report_r(report[0]), report_w(report[1]);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int w = report_w.get();
    if (spec.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
    }
    if (spec.own_process_group) setpgid(0, 0);
    if (!spec.cgroup_procs.empty()) join_cgroup(w, spec.cgroup_procs.c_str());
    // Children must not inherit our "ignore"/handler dispositions in a surprising way.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    redirect(w, 0, -1, spec.stdin_path, O_RDONLY);
    redirect(w, 1, spec.stdout_fd, spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(w, 2, spec.stderr_fd, spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC);
    if (spec.stdout_fd > 2) close(spec.stdout_fd);
    if (spec.stderr_fd > 2 && spec.stderr_fd != spec.stdout_fd) close(spec.stderr_fd);
    // Only 0-2 are the child's: fds we (or a test harness) happen to hold are
    // not, and a job image holding them could not be restored elsewhere.
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    execvpe(p.argv[0], p.argv.data(), p.envp.data());
    child_fail(w, errno);
  }
  report_w.reset();
  ChildProcess child(pid);
  int err = 0;
  ssize_t n;
  do n = read(report_r.get(), &err, sizeof err);
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err)) {
    child.wait();
    throw std::runtime_error("cannot start " + spec.argv[0] + ": " + std::strerror(err));
  }
  return child;
}

CommandResult run_command(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  OwnedFd r(fds[0]), w(fds[1]);
  SpawnSpec spec;
  spec.argv = argv;
  spec.stdout_fd = w.get();
  spec.stderr_fd = w.get();
  spec.own_process_group = false;
  ChildProcess child = spawn(spec);
  w.reset();
  CommandResult result;
  char buf[4096];
  for (;;) {
    ssize_t n = read(r.get(), buf, sizeof buf);
    if (n > 0) result.output.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  result.status = child.wait();
  return result;
}

}  // namespace ckptsim::util
