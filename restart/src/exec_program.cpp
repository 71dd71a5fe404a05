// The child's last steps before it is the program (exec_program.h).
#include "exec_program.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "image_files.h"
#include "image_owner.h"

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

}  // namespace

ExecPrep prepare_exec(const Image& img, FdPlan& plan, int min_high, int proc_fds) {
  ExecPrep p;
  if (img.exec_copy) p.exe_memfd = exe_copy_in_memfd(img);
  p.core_fd = img.files->get(fmt::kCore);
  int max_fd = std::max({2, min_high - 1, p.exe_memfd.get(), p.core_fd, proc_fds});
  for (const auto& s : plan.slots) max_fd = std::max(max_fd, s.target);
  for (const auto& o : plan.opened) max_fd = std::max(max_fd, o.get());
  p.proc_fds = proc_fds;
  p.moved.assign(plan.opened.size(), -1);
  raise_exec_high(p, plan, max_fd + 1);
  p.args = img.argv.empty() ? std::vector<std::string>{img.program_path} : img.argv;
  for (auto& a : p.args) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  return p;
}

void raise_exec_high(ExecPrep& p, FdPlan& plan, int high) {
  p.high = std::max(p.high, high);
  plan.core_in_child = p.high;
  if (p.proc_fds >= 0) plan.proc_fds_in_child = p.high + 1;
  p.keep.assign(p.high, 0);
  for (const auto& s : plan.slots) p.keep[s.target] = 1;
  for (int fd : plan.close_in_child) p.keep[fd] = 0;
}

// The image's core goes along at number `high` (not close-on-exec), so the
// child maps the very file that was verified.
[[noreturn]] void become_program(const Image& img, const FdPlan& plan, ExecPrep& p, int err_fd, bool traceme) {
  auto die = [&](int err) {
    if (err_fd >= 0) (void)!::write(err_fd, &err, sizeof err);
    ::_exit(127);
  };
  const int high = p.high;
  int exe_fd = p.exe_memfd.get();
  if (traceme && ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) die(errno);
  if (::dup2(p.core_fd, high) < 0) die(errno);
  if (p.proc_fds >= 0 && ::dup2(p.proc_fds, high + 1) < 0) die(errno);
  // Lift everything we carry above every target number first, so placing one
  // descriptor can never clobber another that is still to be placed.
  for (size_t i = 0; i < plan.opened.size(); ++i)
    if ((p.moved[i] = ::fcntl(plan.opened[i].get(), F_DUPFD_CLOEXEC, high + 1)) < 0) die(errno);
  if (err_fd >= 0 && (err_fd = ::fcntl(err_fd, F_DUPFD_CLOEXEC, high + 1)) < 0) die(errno);
  if (exe_fd >= 0 && (exe_fd = ::fcntl(exe_fd, F_DUPFD_CLOEXEC, high + 1)) < 0) die(errno);
  for (const auto& slot : plan.slots)
    if (slot.source >= 0 && ::dup2(p.moved[slot.source], slot.target) < 0) die(errno);
  for (int fd : plan.close_in_child) ::close(fd);
  for (int fd = 0; fd < high; ++fd)
    if (!p.keep[fd]) ::close(fd);
  // Kept across the exec: orphans of the job come back to the process they came to.
  if (img.child_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) die(errno);
  if (int err = become_owner(img.owner)) die(err);
  ::syscall(SYS_close_range, p.proc_fds >= 0 ? high + 2 : high + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  static char* const no_env[] = {nullptr};
  if (exe_fd >= 0)
    ::syscall(SYS_execveat, exe_fd, "", p.argv.data(), no_env, AT_EMPTY_PATH);
  else
    ::execve(img.program_path.c_str(), p.argv.data(), no_env);
  die(errno);
  ::_exit(127);
}

}  // namespace ckptsim::restart
