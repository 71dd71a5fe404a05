// restore_process: the phases of docs/internals.md "Restoring a process", in order.
#include "restart/restart.h"

#include <sys/wait.h>

#include <cerrno>

#include "image_files.h"
#include "phase_clock.h"
#include "phases.h"
#include "restart/restore_lock.h"
#include "tracee.h"
#include "tree.h"

namespace ckptsim::restart {

pid_t restore_process(const RestartOptions& opts) {
  RestoreClaim one_at_a_time(opts.image, opts.force);  // restart/restore_lock.h
  if (is_tree_image(opts.image)) return one_at_a_time.job(restore_tree(opts));
  PhaseClock clock(opts.report_timing);
  Image img = verify_image(opts.image, opts.verify);
  img.owner = image_owner(img.files->owner(), img.files->group(), opts.allow_foreign_files);
  check_fds_restorable(img, opts.skip_unrestorable);
  clock.done("verify");
  // From here on the image is known good; what fails now is this machine.
  prepare_files(img);
  FdPlan fds = plan_fds(img, opts.skip_unrestorable);
  clock.done("files");  // not an image name: the phase
  ChildGuard child = spawn_child(img, fds);
  Tracee tracee(child.pid());
  clock.done("spawn");
  restore_memory(tracee, img, fds);
  clock.done("memory");
  restore_kernel_state(tracee, img);
  restore_objects(tracee, img);
  clock.done("kernel state");
  std::vector<Tracee> threads = create_threads(tracee, child, img);
  clock.done("threads");
  resume(tracee, threads, img);
  clock.done("resume");
  return one_at_a_time.job(child.release());
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw RestoreError("waitpid: lost the restored process");
  restore_ended(pid);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int restart_and_wait(const RestartOptions& opts) { return wait_for_exit(restore_process(opts)); }

}  // namespace ckptsim::restart
