#include "forked_workers.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>

#include "sim/simulate.h"
#include "util/io.h"

namespace ckptsim::sim {
namespace {

std::string last_line(int fd) {
  std::string text;
  char buf[4096];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

[[noreturn]] void child_main(const ForkedTasks& t, std::size_t task, int result_fd) {
  // The parent decides when to stop (it kills us); a dead parent kills us too.
  std::signal(SIGINT, SIG_IGN);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  nlohmann::json line;
  int code = 0;
  try {
    line = {{"ok", t.work(task)}};
  } catch (const std::exception& e) {
    line = {{"error", e.what()}};
    code = 3;
  } catch (...) {
    line = {{"error", "unknown exception"}};
    code = 3;
  }
  // Nothing more to do if it fails: the parent finds the reply cut short.
  (void)util::write_all(result_fd, line.dump() + "\n");
  std::fflush(nullptr);
  // _exit: no atexit handlers or stdio buffers inherited from the parent.
  ::_exit(code);
}

// A running child: its result pipe and, maybe, its captured stderr. Going out
// of scope kills and reaps it, so no path leaves a stray process behind.
class Worker {
 public:
  Worker(std::size_t task, pid_t pid, int result_fd, int stderr_fd)
      : task_(task), pid_(pid), result_fd_(result_fd), stderr_fd_(stderr_fd) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
    if (result_fd_ >= 0) ::close(result_fd_);
    if (stderr_fd_ >= 0) ::close(stderr_fd_);
  }
  std::size_t task() const { return task_; }
  int fd() const { return result_fd_; }
  std::string& data() { return data_; }

  // After end of file on the pipe: the child's reply, reaped.
  ForkedReply finish() {
    ForkedReply r;
    r.wait_status = reap();
    if (stderr_fd_ >= 0) r.stderr_tail = last_line(stderr_fd_);
    const auto nl = data_.find('\n');
    const auto j = nl == std::string::npos ? nlohmann::json() : nlohmann::json::parse(data_.substr(0, nl), nullptr, false);
    if (j.is_object() && (j.contains("ok") || (j.contains("error") && j["error"].is_string()))) {
      r.sent = true;
      r.ok = j.contains("ok");
      if (r.ok) r.value = j["ok"];
      else r.error = j["error"].get<std::string>();
    }
    return r;
  }

 private:
  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  std::size_t task_;
  pid_t pid_;
  int result_fd_, stderr_fd_;
  std::string data_;
};

std::unique_ptr<Worker> spawn(const ForkedTasks& t, std::size_t task) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw SimError(std::string("pipe: ") + std::strerror(errno));
  const int err_fd = t.capture_stderr && t.capture_stderr(task) ? ::memfd_create("ckptsim-worker-stderr", MFD_CLOEXEC) : -1;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    if (err_fd >= 0) ::close(err_fd);
    throw SimError(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::close(fds[0]);
    if (err_fd >= 0) ::dup2(err_fd, 2);
    child_main(t, task, fds[1]);
  }
  ::close(fds[1]);
  return std::make_unique<Worker>(task, pid, fds[0], err_fd);
}

}  // namespace

std::string describe_wait_status(int status) {
  return WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                             : "exited with status " + std::to_string(WEXITSTATUS(status));
}

bool run_forked(const ForkedTasks& t) {
  const std::size_t workers = static_cast<std::size_t>(t.workers < 1 ? 1 : t.workers);
  const auto stopped = [&] { return t.stop && t.stop(); };
  const int timeout_ms = t.stop || t.tick ? 250 : -1;
  std::deque<std::size_t> queue(t.tasks.begin(), t.tasks.end());
  std::vector<std::unique_ptr<Worker>> running;  // going out of scope kills and reaps
  if (t.tick) t.tick();
  while (!queue.empty() || !running.empty()) {
    if (stopped()) return false;
    while (running.size() < workers && !queue.empty()) {
      running.push_back(spawn(t, queue.front()));
      queue.pop_front();
    }
    std::vector<pollfd> polls;
    for (const auto& w : running) polls.push_back({w->fd(), POLLIN, 0});
    const int n = ::poll(polls.data(), polls.size(), timeout_ms);
    if (n < 0 && errno != EINTR) throw SimError(std::string("poll: ") + std::strerror(errno));
    for (std::size_t i = polls.size(); n > 0 && i-- > 0;) {
      if (!(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = *running[i];
      char buf[65536];
      const ssize_t got = ::read(w.fd(), buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        w.data().append(buf, static_cast<std::size_t>(got));
        continue;
      }
      const std::size_t task = w.task();
      const ForkedReply reply = w.finish();
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      t.done(task, reply);
    }
    if (t.tick) t.tick();
  }
  return true;
}

}  // namespace ckptsim::sim
