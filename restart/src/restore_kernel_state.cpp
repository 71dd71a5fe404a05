// What the kernel keeps about a process besides its memory: the mm fields
// (brk, code/data/stack/arg/env bounds, auxv), glibc's rseq registration,
// signal actions, the alternate signal stack, cwd, name and close-on-exec
// flags. Registers and the signal mask come last, in resume.cpp.
#include <fcntl.h>
#include <linux/prctl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <algorithm>

#include "phases.h"
#include "remote_syscalls.h"

namespace ckptsim::restart {
namespace {

// The kernel's saved_auxv holds AT_VECTOR_SIZE longs (2 * (2 + 20 + 1 + 3)
// on x86-64 in 6.x); PR_SET_MM_MAP rejects anything larger.
constexpr size_t kMaxAuxvBytes = 2 * (2 + 20 + 1 + 3) * sizeof(uint64_t);

struct KernelSigaction {  // what rt_sigaction(2) takes on x86-64
  uint64_t handler, flags, restorer, mask;
};

void restore_mm(RemoteSyscalls& remote, const Image& img) {
  std::vector<uint8_t> auxv = img.auxv;
  auxv.resize(std::min(auxv.size(), kMaxAuxvBytes) & ~size_t{15});
  prctl_mm_map map{};
  map.start_code = img.mm.start_code, map.end_code = img.mm.end_code;
  map.start_data = img.mm.start_data, map.end_data = img.mm.end_data;
  map.start_brk = img.mm.start_brk, map.brk = img.mm.brk;
  map.start_stack = img.mm.start_stack;
  map.arg_start = img.mm.arg_start, map.arg_end = img.mm.arg_end;
  map.env_start = img.mm.env_start, map.env_end = img.mm.env_end;
  map.auxv = auxv.empty() ? nullptr : reinterpret_cast<__u64*>(remote.push(auxv.data(), auxv.size()));
  map.auxv_size = static_cast<__u32>(auxv.size());
  map.exe_fd = static_cast<__u32>(-1);
  remote.check("cannot restore the mm fields (PR_SET_MM_MAP: brk, stack, arguments, auxv)", SYS_prctl, PR_SET_MM,
               PR_SET_MM_MAP, remote.push(&map, sizeof map), sizeof map);
}

}  // namespace

void restore_kernel_state(Tracee& t, const Image& img) {
  RemoteSyscalls remote(t);
  restore_mm(remote, img);
  remote.forget_pushed();

  // The fresh exec'd child stopped before ld.so ran: no rseq, robust list
  // or tid address yet; the main thread gets the image's.
  restore_thread_state(remote, img.threads[0]);
  remote.forget_pushed();
  adopt_main_thread_id(remote, img.threads[0]);

  for (const auto& sa : img.sigactions) {
    if (sa.signo == SIGKILL || sa.signo == SIGSTOP) continue;
    KernelSigaction k{sa.handler, sa.flags, sa.restorer, sa.mask};
    remote.forget_pushed();
    remote.check("cannot restore the action of signal " + std::to_string(sa.signo), SYS_rt_sigaction, sa.signo,
                 remote.push(&k, sizeof k), 0, sizeof(uint64_t));
  }
  remote.forget_pushed();
  remote.check("cannot chdir to " + img.cwd, SYS_chdir, remote.push_str(img.cwd));
  remote.forget_pushed();
  remote.check("cannot restore the process name", SYS_prctl, PR_SET_NAME, remote.push_str(img.comm.substr(0, 15)));
  for (const auto& fd : img.fds)
    if (fd.cloexec) remote.syscall(SYS_fcntl, fd.fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace ckptsim::restart
