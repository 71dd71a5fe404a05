// Stopping every thread of the process at a safe point before its memory is
// written, and what each thread's own kernel state is at that point.
//
// The thread that takes the checkpoint signal leads: it interrupts every other
// thread with tgkill(the same signal), and each of them parks in its own
// handler, after recording its context in a slot of the roster, until the
// leader releases them. A thread's context is its signal frame (ucontext and
// xsave area, on its own stack, which does not change while it is parked),
// plus what only the thread itself can ask the kernel: fs/gs base, the
// clear_child_tid address, the robust futex list.
#pragma once
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

namespace ckptlib {

constexpr size_t kMaxThreads = 1024;

struct ThreadState {
  int32_t tid;
  ucontext_t* uc;          // the interrupted context (registers, sigmask, altstack)
  const uint8_t* xstate;   // its FPU/SSE/AVX area inside the signal frame
  uint32_t xstate_size;
  uint64_t fs_base, gs_base;
  uint64_t clear_child_tid;  // PR_GET_TID_ADDRESS: glibc's &pthread->tid
  uint64_t robust_head, robust_len;
};

// Fills `t` for the calling thread from its handler's context.
void capture_thread(ThreadState& t, ucontext_t* uc);

// The threads stopped for one dump: [0] is the main thread (tid == pid) when
// it is alive, the leader otherwise comes first.
struct Roster {
  const ThreadState* threads;
  size_t count;
};

namespace threads {

// Called first thing in the handler. True: this thread leads the checkpoint.
// False: another thread is leading; this one has parked, been released, and
// must return from its handler.
bool lead_or_park(ucontext_t* uc);

// The leader stops every other thread. On failure returns false with a reason
// (static text). Either way the leader calls release_all() when it is done.
bool stop_others(int sig, ucontext_t* leader_uc, Roster* out, const char** why, int* err);

// The leader lets every parked thread go on, and gives up the lead.
void release_all();

}  // namespace threads
}  // namespace ckptlib
