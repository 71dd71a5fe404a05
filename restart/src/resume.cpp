// The last step: drop the scratch area, load the interrupted instruction's
// registers, FPU/SSE/AVX state and signal mask, and let the program go.
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "phases.h"
#include "remote_syscalls.h"

namespace ckptsim::restart {
namespace {

// The xsave header's XSTATE_BV: which components the area holds.
constexpr size_t kXstateBvOffset = 512;

void restore_xstate(Tracee& t, const Image& img) {
  // ptrace insists on exactly the kernel's xstate size: start from the
  // child's own (initial) state and lay the image's bytes over it.
  std::vector<uint8_t> area(64 * 1024);
  iovec iov{area.data(), area.size()};
  if (::ptrace(PTRACE_GETREGSET, t.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0) {
    // No xsave on this CPU: the fxsave area is all there is.
    iovec fx{const_cast<uint8_t*>(img.xstate.data()), 512};
    if (::ptrace(PTRACE_SETREGSET, t.pid(), reinterpret_cast<void*>(NT_PRFPREG), &fx) != 0)
      throw RestoreError(std::string("cannot restore the FPU state: ") + std::strerror(errno));
    return;
  }
  area.resize(iov.iov_len);
  std::memcpy(area.data(), img.xstate.data(), std::min(area.size(), img.xstate.size()));
  if (img.xstate.size() == 512) {  // only an fxsave area: it holds x87 and SSE
    std::memset(area.data() + kXstateBvOffset, 0, 64);
    area[kXstateBvOffset] = 3;
  }
  iov = {area.data(), area.size()};
  if (::ptrace(PTRACE_SETREGSET, t.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
    throw RestoreError(std::string("cannot restore the FPU/SSE/AVX state (NT_X86_XSTATE): ") + std::strerror(errno));
}

}  // namespace

void resume(Tracee& t, const Image& img) {
  {
    RemoteSyscalls remote(t);
    remote.check("cannot unmap the scratch area", SYS_munmap, t.scratch, t.scratch_size);
    t.scratch = t.syscall_insn = 0;
  }
  user_regs_struct regs = img.regs;
  regs.orig_rax = static_cast<uint64_t>(-1);  // never "restart" a syscall we did not interrupt
  if (!regs.fs_base) regs.fs_base = img.fs_base;
  if (!regs.gs_base) regs.gs_base = img.gs_base;
  t.set_regs(regs);
  restore_xstate(t, img);
  uint64_t mask = img.sigmask;
  if (::ptrace(PTRACE_SETSIGMASK, t.pid(), reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    throw RestoreError(std::string("cannot restore the signal mask: ") + std::strerror(errno));
  if (::ptrace(PTRACE_DETACH, t.pid(), nullptr, nullptr) != 0)
    throw RestoreError(std::string("PTRACE_DETACH: ") + std::strerror(errno));
}

}  // namespace ckptsim::restart
