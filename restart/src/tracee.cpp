#include "tracee.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "restart/restart.h"

namespace ckptsim::restart {

ChildGuard::~ChildGuard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  // Traced threads report their death to us; the process is reaped last.
  for (pid_t tid : threads_)
    while (::waitpid(tid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
  while (::waitpid(pid_, nullptr, __WALL) < 0 && errno == EINTR) {
  }
}

Tracee::Tracee(pid_t pid) : pid_(pid) {
  const std::string mem = "/proc/" + std::to_string(pid) + "/mem";
  mem_ = util::OwnedFd(::open(mem.c_str(), O_RDWR | O_CLOEXEC));
  if (!mem_) throw RestoreError("cannot open " + mem + ": " + std::strerror(errno));
}

user_regs_struct Tracee::regs() const {
  user_regs_struct r{};
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, &r) != 0)
    throw RestoreError(std::string("PTRACE_GETREGS failed: ") + std::strerror(errno));
  return r;
}

void Tracee::set_regs(const user_regs_struct& r) {
  if (::ptrace(PTRACE_SETREGS, pid_, nullptr, &r) != 0)
    throw RestoreError(std::string("PTRACE_SETREGS failed: ") + std::strerror(errno));
}

void Tracee::read_mem(uint64_t addr, void* buf, size_t len) const {
  auto* p = static_cast<char*>(buf);
  while (len) {
    ssize_t n = ::pread(mem_.get(), p, len, static_cast<off_t>(addr));
    if (n <= 0) throw RestoreError("cannot read the child's memory at " + std::to_string(addr));
    p += n, addr += n, len -= n;
  }
}

void Tracee::write_mem(uint64_t addr, const void* buf, size_t len) {
  auto* p = static_cast<const char*>(buf);
  while (len) {
    ssize_t n = ::pwrite(mem_.get(), p, len, static_cast<off_t>(addr));
    if (n <= 0) {
      char where[32];
      std::snprintf(where, sizeof where, "%#llx", static_cast<unsigned long long>(addr));
      throw RestoreError(std::string("cannot write the child's memory at ") + where + ": " + std::strerror(errno));
    }
    p += n, addr += n, len -= n;
  }
}

int Tracee::resume_until_stop(int request) {
  for (;;) {
    if (::ptrace(static_cast<__ptrace_request>(request), pid_, nullptr, nullptr) != 0)
      throw RestoreError(std::string("ptrace resume failed: ") + std::strerror(errno));
    const int status = wait_stop();
    if (status >= 0) return status;
  }
}

// -1: an unrelated signal was dropped and the caller must resume again.
int Tracee::wait_stop() {
  int status = 0;
  while (::waitpid(pid_, &status, __WALL) < 0) {
    if (errno != EINTR) throw RestoreError(std::string("waitpid failed: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) throw RestoreError("the child exited with status " + std::to_string(WEXITSTATUS(status)) + " during the restore");
  if (WIFSIGNALED(status)) throw RestoreError(std::string("the child was killed by ") + strsignal(WTERMSIG(status)) + " during the restore");
  const int sig = WSTOPSIG(status);
  if (sig == (SIGTRAP | 0x80) || sig == SIGTRAP) return status;
  if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
    const user_regs_struct r = regs();
    char where[32];
    std::snprintf(where, sizeof where, "%#llx", static_cast<unsigned long long>(r.rip));
    throw RestoreError(std::string("the child faulted (") + strsignal(sig) + ") at " + where + " during the restore");
  }
  // A signal meant for the program before it exists again (e.g. SIGINT
  // from the terminal): drop it, the restore must not be interrupted.
  return -1;
}

std::vector<MapsLine> read_proc_maps(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  if (!in) throw RestoreError("cannot read /proc/" + std::to_string(pid) + "/maps");
  std::vector<MapsLine> out;
  std::string line;
  while (std::getline(in, line)) {
    MapsLine m;
    unsigned long long s = 0, e = 0;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %*s %*s %*s %n", &s, &e, perms, &path_at) < 3) continue;
    m.start = s, m.end = e, m.perms = perms;
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) m.path = line.substr(path_at);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace ckptsim::restart
