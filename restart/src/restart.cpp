// restore_process: the phases of docs/DESIGN.md "Restoring a process", in order.
#include "restart/restart.h"

#include <sys/wait.h>

#include <cerrno>

#include "phases.h"
#include "tracee.h"

namespace ckptsim::restart {

pid_t restore_process(const RestartOptions& opts) {
  Image img = verify_image(opts.image, opts.verify);
  check_fds_restorable(img, opts.skip_unrestorable);
  // From here on the image is known good; what fails now is this machine.
  prepare_files(img);
  FdPlan fds = plan_fds(img, opts.skip_unrestorable);
  ChildGuard child = spawn_child(img, fds);
  Tracee tracee(child.pid());
  restore_memory(tracee, img);
  restore_kernel_state(tracee, img);
  resume(tracee, img);
  return child.release();
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw RestoreError("waitpid: lost the restored process");
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int restart_and_wait(const RestartOptions& opts) { return wait_for_exit(restore_process(opts)); }

}  // namespace ckptsim::restart
