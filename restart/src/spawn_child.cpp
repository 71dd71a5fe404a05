// The child: fork, PTRACE_TRACEME, descriptors at their numbers, exec the
// program, stop at the exec (before its dynamic loader has run a single
// instruction). Everything after the exec happens through ptrace.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "image_files.h"
#include "image_owner.h"
#include "phases.h"
#include "tracee.h"

namespace ckptsim::restart {
namespace {

// A copy of the image's executable in a memfd, for when the original is gone
// (image files are 0600 and must stay untouched, so it cannot run in place).
util::OwnedFd exe_copy_in_memfd(const Image& img) {
  const int src = img.files->get(img.exe_copy);  // the very file verify_image hashed
  util::OwnedFd mfd(::memfd_create(img.comm.empty() ? "ckpt-exe" : img.comm.c_str(), MFD_CLOEXEC));  // not an image name
  if (!mfd) throw RestoreError("cannot stage the image's executable: " + std::string(std::strerror(errno)));
  off_t off = 0;
  while (static_cast<uint64_t>(off) < img.exe_size)
    if (::sendfile(mfd.get(), src, &off, img.exe_size - off) <= 0)
      throw RestoreError("cannot stage the image's executable: " + std::string(std::strerror(errno)));
  return mfd;
}

// In the forked child: only async-signal-safe calls, everything preallocated.
// The image's core goes along at number `high` (not close-on-exec), so the
// child maps the very file that was verified.
[[noreturn]] void become_program(const Image& img, const FdPlan& plan, std::vector<int>& moved,
                                 const std::vector<char>& keep, int high, int core_fd, int err_fd, int exe_fd,
                                 const char* exe_path, char* const* argv) {
  auto die = [&](int err) {
    if (err_fd >= 0) (void)!::write(err_fd, &err, sizeof err);
    ::_exit(127);
  };
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) die(errno);
  if (::dup2(core_fd, high) < 0) die(errno);
  // Lift everything we carry above every target number first, so placing one
  // descriptor can never clobber another that is still to be placed.
  for (size_t i = 0; i < plan.opened.size(); ++i)
    if ((moved[i] = ::fcntl(plan.opened[i].get(), F_DUPFD_CLOEXEC, high + 1)) < 0) die(errno);
  if (err_fd >= 0 && (err_fd = ::fcntl(err_fd, F_DUPFD_CLOEXEC, high + 1)) < 0) die(errno);
  if (exe_fd >= 0 && (exe_fd = ::fcntl(exe_fd, F_DUPFD_CLOEXEC, high + 1)) < 0) die(errno);
  for (const auto& slot : plan.slots)
    if (slot.source >= 0 && ::dup2(moved[slot.source], slot.target) < 0) die(errno);
  for (int fd : plan.close_in_child) ::close(fd);
  for (int fd = 0; fd < high; ++fd)
    if (!keep[fd]) ::close(fd);
  if (int err = become_owner(img.owner)) die(err);
  ::syscall(SYS_close_range, high + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  static char* const no_env[] = {nullptr};
  if (exe_fd >= 0)
    ::syscall(SYS_execveat, exe_fd, "", argv, no_env, AT_EMPTY_PATH);
  else
    ::execve(exe_path, argv, no_env);
  die(errno);
  ::_exit(127);
}

// fork(), but under the checkpointed pid when it is free: some programs keep
// their pid and check it (Python's asyncio finds its running loop only in the
// pid that started it). clone3's set_tid needs CAP_CHECKPOINT_RESTORE; without
// it, or with the pid taken, the child gets any pid.
pid_t fork_as(pid_t pid) {
  if (pid > 0) {
    pid_t tid = pid;
    clone_args args{};
    args.exit_signal = SIGCHLD;
    args.set_tid = reinterpret_cast<uint64_t>(&tid);
    args.set_tid_size = 1;
    const long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r >= 0 || (errno != EEXIST && errno != EPERM && errno != ENOSYS && errno != EINVAL))
      return static_cast<pid_t>(r);
  }
  return ::fork();
}

}  // namespace

ChildGuard spawn_child(const Image& img, FdPlan& plan) {
  util::OwnedFd exe_fd;
  if (img.exec_copy) exe_fd = exe_copy_in_memfd(img);

  int max_fd = 2;
  for (const auto& s : plan.slots) max_fd = std::max(max_fd, s.target);
  for (const auto& o : plan.opened) max_fd = std::max(max_fd, o.get());
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw RestoreError("pipe2: " + std::string(std::strerror(errno)));
  util::OwnedFd err_read(pipefd[0]), err_write(pipefd[1]);
  const int core_fd = img.files->get(fmt::kCore);
  max_fd = std::max({max_fd, pipefd[0], pipefd[1], exe_fd.get(), core_fd});
  const int high = max_fd + 1;
  plan.core_in_child = high;

  std::vector<int> moved(plan.opened.size(), -1);
  std::vector<char> keep(high, 0);
  for (const auto& s : plan.slots) keep[s.target] = 1;
  for (int fd : plan.close_in_child) keep[fd] = 0;
  std::vector<std::string> args = img.argv.empty() ? std::vector<std::string>{img.program_path} : img.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork_as(img.pid);
  if (pid < 0) throw RestoreError("fork: " + std::string(std::strerror(errno)));
  if (pid == 0)
    become_program(img, plan, moved, keep, high, core_fd, err_write.get(), exe_fd.get(), img.program_path.c_str(),
                   argv.data());
  ChildGuard child(pid);
  err_write.reset();

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw RestoreError("waitpid: " + std::string(std::strerror(errno)));
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    int err = 0;
    if (::read(err_read.get(), &err, sizeof err) == sizeof err)
      throw RestoreError("cannot start " + img.program_path + ": " + std::strerror(err));
    throw RestoreError("the child did not stop at its exec");
  }
  if (::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
               reinterpret_cast<void*>(static_cast<long>(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE))) != 0)
    throw RestoreError("PTRACE_SETOPTIONS: " + std::string(std::strerror(errno)));
  return child;
}

}  // namespace ckptsim::restart
