// Making system calls inside the stopped child, in rr's AutoRemoteSyscalls
// style: the object saves the tracee's registers, each call points rip at a
// `syscall` instruction and steps with PTRACE_SYSCALL to the syscall-exit stop
// (so the tracee never runs an instruction after it, even when the call
// unmapped that instruction), and the registers are put back when the object
// goes out of scope. Arguments that live in memory are pushed into the
// tracee's scratch area, which is reset for every RemoteSyscalls scope.
#pragma once
#include <cstdint>
#include <string>

#include "tracee.h"

namespace ckptsim::restart {

// Bytes of the scratch area reserved for the `syscall` instruction.
constexpr uint64_t kScratchCodeBytes = 64;

class RemoteSyscalls {
 public:
  explicit RemoteSyscalls(Tracee& t);
  ~RemoteSyscalls();
  RemoteSyscalls(const RemoteSyscalls&) = delete;
  RemoteSyscalls& operator=(const RemoteSyscalls&) = delete;

  // The raw result: >= 0, or -errno.
  long syscall(long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0,
               uint64_t a6 = 0);
  // Same, but a failure throws RestoreError "<what>: <strerror>".
  long check(const std::string& what, long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
             uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);

  // Copies bytes / a C string into the scratch area; returns their address in the tracee.
  uint64_t push(const void* data, size_t len);
  uint64_t push_str(const std::string& s) { return push(s.c_str(), s.size() + 1); }
  // Everything pushed so far is no longer needed: reuse the scratch area.
  void forget_pushed() { scratch_used_ = kScratchCodeBytes; }

  Tracee& tracee() { return t_; }

 private:
  Tracee& t_;
  user_regs_struct saved_;
  uint64_t scratch_used_;
};

}  // namespace ckptsim::restart
