// Asking Slurm to requeue the job we run in (after it checkpointed and stopped).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "slurm/resume.h"

namespace ckptsim::slurm {

bool requeue_this_job(std::string* why) {
  const char* id = std::getenv("SLURM_JOB_ID");
  if (!id || !*id) {
    *why = "not inside a Slurm job (SLURM_JOB_ID is not set)";
    return false;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    *why = "fork failed";
    return false;
  }
  if (pid == 0) {
    ::execlp("scontrol", "scontrol", "requeue", id, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *why = std::string("scontrol requeue ") + id + " failed" +
         (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (scontrol not found)" : "");
  return false;
}

}  // namespace ckptsim::slurm
