// The last step: drop the scratch area, load every thread's interrupted
// registers, FPU/SSE/AVX state and signal mask, and let them all go.
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "phases.h"
#include "remote_syscalls.h"

namespace ckptsim::restart {

void resume(Tracee& main, std::vector<Tracee>& threads, const Image& img) {
  {
    RemoteSyscalls remote(main);
    remote.check("cannot unmap the scratch area", SYS_munmap, main.scratch, main.scratch_size);
    main.scratch = main.syscall_insn = 0;
  }
  load_thread_registers(main, img.threads[0]);
  for (size_t i = 0; i < threads.size(); ++i) load_thread_registers(threads[i], img.threads[i + 1]);
  for (auto& t : threads)
    if (::ptrace(PTRACE_DETACH, t.pid(), nullptr, nullptr) != 0)
      throw RestoreError(std::string("PTRACE_DETACH of a thread: ") + std::strerror(errno));
  if (::ptrace(PTRACE_DETACH, main.pid(), nullptr, nullptr) != 0)
    throw RestoreError(std::string("PTRACE_DETACH: ") + std::strerror(errno));
}

}  // namespace ckptsim::restart
