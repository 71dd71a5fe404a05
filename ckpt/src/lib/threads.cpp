// Parking every thread for a dump (see threads.h). The protocol, in one place:
//   - g_lead is 0, or the leader's tag: (epoch << 22) | tid. A thread that
//     takes the signal while it is 0 becomes the leader (one CAS) and sets
//     g_hold to the same tag.
//   - The leader lists /proc/self/task, writes each tid it will stop into
//     g_targets, then tgkills it. A thread that finds a leader in place looks
//     itself up in g_targets, fills g_slots[its index] tagged with the
//     leader's tag, and waits on the g_hold futex until the tag changes.
//   - The leader waits until every target's slot carries its tag (or the
//     target is gone), lists the tasks again, and is done when nothing new
//     appeared: parked threads create no threads.
//   - Once every thread is parked, g_lead goes back to 0, before any memory
//     is written: a restored process resumes where its threads were
//     interrupted, never in this handler, so the image must not hold a lead
//     that nobody will give up. No thread can take the lead meanwhile: all of
//     them are in the handler with the signal blocked.
//   - Release: g_hold = 0 and a futex wake. The tag's epoch keeps slots from
//     an earlier dump from being taken for this one.
// Thread ids are < 2^22 (pid_max's ceiling), so tid and epoch share one
// 32-bit futex word.
#include "threads.h"

#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <time.h>

#include "dump.h"
#include "sys.h"
#include "text.h"

namespace ckptlib {

namespace {

constexpr uint32_t kTidBits = 22;
constexpr long kStopTimeoutNs = 2'000'000'000;      // a signalled thread must park by then
// A thread that blocks the signal may be one being created or exiting (glibc
// blocks every signal around both, for microseconds): it is waited for this
// long, then the dump is refused.
constexpr long kBlockedTimeoutNs = 500'000'000;
constexpr long kGoneCheckAfterNs = 100'000'000;     // a target that has not parked by then may have exited
constexpr size_t kDentsSize = 32u << 10;

constexpr uint32_t kFpXstateMagic1 = 0x46505853;  // FP_XSTATE_MAGIC1
constexpr size_t kFxsaveSize = 512;
constexpr size_t kSwBytesOffset = 464;  // struct _fpx_sw_bytes inside the fxsave area

struct FpxSwBytes {
  uint32_t magic1, extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
};

struct Slot {
  ThreadState state;
  uint32_t tag;  // the leader's tag this slot was filled for
};

// The only state the threads share during a dump (and only the handler's).
uint32_t g_lead;                // 0 or the leader's tag, while it stops the threads
uint32_t g_hold;                // futex: the tag the parked threads wait under
uint32_t g_epoch;               // leader only
uint32_t g_parked;              // futex: bumped by every thread that parks
uint32_t g_ntargets;            // published count of g_targets
int32_t g_targets[kMaxThreads];
bool g_gone[kMaxThreads];       // leader only: target exited before parking
Slot g_slots[kMaxThreads];
ThreadState g_roster[kMaxThreads];  // leader only: the result, main thread first
char g_dents[kDentsSize];           // leader only
char g_status[4096];                // leader only

uint32_t load(const uint32_t* w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }

long now_ns() {
  struct timespec ts {};
  sys::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000L + ts.tv_nsec;
}

void sleep_ns(long ns) {
  struct timespec ts {0, ns};
  sys::call6(SYS_nanosleep, sys::L(&ts), 0);
}

int find_target(int32_t tid) {
  const uint32_t n = load(&g_ntargets);
  for (uint32_t i = 0; i < n; ++i)
    if (__atomic_load_n(&g_targets[i], __ATOMIC_ACQUIRE) == tid) return int(i);
  return -1;
}

void park(uint32_t tag, ucontext_t* uc) {
  const int32_t self = int32_t(sys::call6(SYS_gettid));
  bool filled = false;
  const struct timespec slice {0, 5'000'000};
  // The leader publishes g_hold right after it wins g_lead.
  while (load(&g_hold) != tag && load(&g_lead) == tag) __builtin_ia32_pause();
  while (load(&g_hold) == tag) {
    if (!filled) {
      const int i = find_target(self);
      if (i >= 0) {
        capture_thread(g_slots[i].state, uc);
        __atomic_store_n(&g_slots[i].tag, tag, __ATOMIC_RELEASE);
        __atomic_fetch_add(&g_parked, 1, __ATOMIC_RELEASE);
        sys::futex_wake(&g_parked);
        filled = true;
      }
    }
    // Woken when the leader adds targets or releases; the slice bounds any
    // missed wake-up.
    sys::futex_wait(&g_hold, tag, &slice);
  }
}

// "State:" letter and whether `sig` is in "SigBlk:" for one task; false if it is gone.
bool task_status(int32_t tid, int sig, char* state, bool* blocks) {
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  t.str("/proc/self/task/").dec(unsigned(tid)).str("/status");
  long n = read_small_file(AT_FDCWD, path, g_status, sizeof g_status);
  if (n < 0) return false;
  *state = '?';
  *blocks = false;
  const size_t len = size_t(n);
  for (size_t i = 0; i < len;) {
    size_t eol = i;
    while (eol < len && g_status[eol] != '\n') ++eol;
    if (starts_with(g_status + i, eol - i, "State:")) {
      size_t p = i + 6;
      while (p < eol && (g_status[p] == ' ' || g_status[p] == '\t')) ++p;
      if (p < eol) *state = g_status[p];
    } else if (starts_with(g_status + i, eol - i, "SigBlk:")) {
      size_t p = i + 7;
      while (p < eol && (g_status[p] == ' ' || g_status[p] == '\t')) ++p;
      const uint64_t mask = parse_unsigned(g_status, eol, &p, 16);
      *blocks = (mask >> (sig - 1)) & 1;
    }
    i = eol + 1;
  }
  return true;
}

// Lists /proc/self/task into g_dents; returns bytes used or -errno.
long list_tasks() {
  long dirfd = sys::openat(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return dirfd;
  size_t used = 0;
  for (;;) {
    long n = sys::getdents64(int(dirfd), g_dents + used, kDentsSize - used);
    if (n < 0) {
      sys::close(int(dirfd));
      return n;
    }
    if (n == 0) break;
    used += size_t(n);
    if (kDentsSize - used < 512) {
      sys::close(int(dirfd));
      return -E2BIG;
    }
  }
  sys::close(int(dirfd));
  return long(used);
}

struct StopFailure {
  const char** why;
  int* err;
  bool operator()(const char* what, int e) const {
    *why = what;
    *err = e;
    return false;
  }
};

// Waits until every target has parked for `tag` or is gone, or the deadline.
bool wait_parked(uint32_t tag, long deadline, int32_t* straggler) {
  const long started = now_ns();
  for (;;) {
    const uint32_t seen = load(&g_parked);
    bool all = true;
    const uint32_t n = g_ntargets;
    for (uint32_t i = 0; i < n; ++i) {
      if (g_gone[i] || load(&g_slots[i].tag) == tag) continue;
      if (now_ns() - started > kGoneCheckAfterNs) {
        char state;
        bool blocks;
        if (!task_status(g_targets[i], 1, &state, &blocks) || state == 'Z' || state == 'X') {
          g_gone[i] = true;
          continue;
        }
      }
      all = false;
      *straggler = g_targets[i];
    }
    if (all) return true;
    if (now_ns() > deadline) return false;
    const struct timespec slice {0, 2'000'000};
    sys::futex_wait(&g_parked, seen, &slice);
  }
}

}  // namespace

void capture_thread(ThreadState& t, ucontext_t* uc) {
  t.tid = int32_t(sys::call6(SYS_gettid));
  t.uc = uc;
  sys::arch_prctl(ARCH_GET_FS, &t.fs_base);
  sys::arch_prctl(ARCH_GET_GS, &t.gs_base);
  t.clear_child_tid = 0;
  sys::call6(SYS_prctl, PR_GET_TID_ADDRESS, sys::L(&t.clear_child_tid));
  t.robust_head = t.robust_len = 0;
  sys::call6(SYS_get_robust_list, 0, sys::L(&t.robust_head), sys::L(&t.robust_len));
  const uint8_t* fx = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  t.xstate = fx;
  t.xstate_size = 0;
  if (!fx) return;
  const FpxSwBytes* sw = reinterpret_cast<const FpxSwBytes*>(fx + kSwBytesOffset);
  t.xstate_size = sw->magic1 == kFpXstateMagic1 ? sw->xstate_size : kFxsaveSize;
}

namespace threads {

bool lead_or_park(ucontext_t* uc) {
  const uint32_t self = uint32_t(sys::call6(SYS_gettid));
  for (;;) {
    uint32_t current = load(&g_lead);
    if (current != 0) {
      park(current, uc);
      return false;
    }
    const uint32_t tag = (((g_epoch + 1) & ((1u << (32 - kTidBits)) - 1)) << kTidBits) | self;
    if (__atomic_compare_exchange_n(&g_lead, &current, tag, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      ++g_epoch;
      __atomic_store_n(&g_hold, tag, __ATOMIC_RELEASE);
      return true;
    }
  }
}

bool stop_others(int sig, ucontext_t* leader_uc, Roster* out, const char** why, int* err) {
  const StopFailure fail{why, err};
  const uint32_t tag = load(&g_hold);
  const int32_t self = int32_t(sys::call6(SYS_gettid));
  const int32_t pid = int32_t(sys::getpid());
  __atomic_store_n(&g_ntargets, 0u, __ATOMIC_RELEASE);
  const long started = now_ns();
  const long deadline = started + kStopTimeoutNs;

  for (;;) {
    long used = list_tasks();
    if (used < 0) return fail("listing the threads (/proc/self/task)", int(-used));
    bool added = false, waiting_on_blocked = false;
    for (size_t pos = 0; pos < size_t(used);) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(g_dents + pos);
      pos += de->d_reclen;
      if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
      size_t p = 0;
      const int32_t tid = int32_t(parse_unsigned(de->d_name, cstr_len(de->d_name), &p, 10));
      if (tid == self || find_target(tid) >= 0) continue;
      char state;
      bool blocks;
      if (!task_status(tid, sig, &state, &blocks)) continue;  // exited meanwhile
      if (state == 'Z' || state == 'X') {
        if (tid == pid) return fail("the main thread has exited (pthread_exit); such processes cannot be checkpointed", ENOTSUP);
        continue;  // a thread on its way out
      }
      if (blocks) {  // maybe only for a moment (a thread being created or exiting)
        waiting_on_blocked = true;
        continue;
      }
      const uint32_t i = g_ntargets;
      if (i >= kMaxThreads) return fail("too many threads", E2BIG);
      g_gone[i] = false;
      __atomic_store_n(&g_slots[i].tag, 0u, __ATOMIC_RELEASE);
      __atomic_store_n(&g_targets[i], tid, __ATOMIC_RELEASE);
      __atomic_store_n(&g_ntargets, i + 1, __ATOMIC_RELEASE);
      if (sys::call6(SYS_tgkill, pid, tid, sig) < 0) g_gone[i] = true;
      added = true;
    }
    if (added) sys::futex_wake(&g_hold);  // threads already in their handler look themselves up again
    int32_t straggler = 0;
    if (!wait_parked(tag, deadline, &straggler))
      return fail("a thread did not stop for the checkpoint within 2 s", ETIMEDOUT);
    if (!added && !waiting_on_blocked) break;
    if (waiting_on_blocked && now_ns() > started + kBlockedTimeoutNs)
      return fail("a thread blocks the checkpoint signal, so it cannot be stopped", EAGAIN);
    if (waiting_on_blocked && !added) sleep_ns(1'000'000);
  }

  // Main thread first: it is the one the restorer starts as the process.
  size_t n = 0;
  ThreadState leader;
  capture_thread(leader, leader_uc);
  if (leader.tid == pid) g_roster[n++] = leader;
  for (uint32_t i = 0; i < g_ntargets; ++i)
    if (!g_gone[i] && g_targets[i] == pid) g_roster[n++] = g_slots[i].state;
  if (leader.tid != pid) g_roster[n++] = leader;
  for (uint32_t i = 0; i < g_ntargets; ++i)
    if (!g_gone[i] && g_targets[i] != pid) g_roster[n++] = g_slots[i].state;
  out->threads = g_roster;
  out->count = n;
  __atomic_store_n(&g_lead, 0u, __ATOMIC_RELEASE);
  return true;
}

void release_all() {
  __atomic_store_n(&g_lead, 0u, __ATOMIC_RELEASE);
  __atomic_store_n(&g_hold, 0u, __ATOMIC_RELEASE);
  sys::futex_wake(&g_hold);
}

}  // namespace threads
}  // namespace ckptlib
