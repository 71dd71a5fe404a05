#include "write_pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "sys.h"

namespace ckptlib {

namespace {

uint32_t load(const uint32_t& word) { return __atomic_load_n(&word, __ATOMIC_ACQUIRE); }
void store(uint32_t& word, uint32_t v) { __atomic_store_n(&word, v, __ATOMIC_RELEASE); }
// An event count: whoever sleeps on it wakes when it changes.
void signal_event(uint32_t& event) {
  __atomic_add_fetch(&event, 1, __ATOMIC_ACQ_REL);
  sys::futex_wake(&event);
}

long write_fully(int fd, const char* buf, size_t len, uint64_t off) {
  while (len) {
    long w = sys::pwrite(fd, buf, len, long(off));
    if (w == -EINTR) continue;
    if (w < 0) return w;
    if (w == 0) return -EIO;
    buf += w;
    off += uint64_t(w);
    len -= size_t(w);
  }
  return 0;
}

}  // namespace

WritePipeline::WritePipeline(Dump& d, int fd) : d_(d), fd_(fd), parent_pid_(sys::getpid()) {
  for (uint32_t i = 0; i < kSlots; ++i) slots_[i] = Slot{d.io_buf + i * kSlotSize, 0, 0};
  if (!d.writer_stack) return;
  // The writer starts with every signal blocked: it shares the job's memory,
  // so it must never run one of the job's handlers (a Ctrl-C to the process
  // group reaches it too).
  const uint64_t all = ~0ull;
  uint64_t old = 0;
  sys::rt_sigprocmask(SIG_SETMASK, &all, &old);
  // No exit signal: the job sees no SIGCHLD, and its own wait() cannot reap
  // the writer (only __WALL does). CLONE_CHILD_CLEARTID zeroes writer_alive_
  // when the writer is gone, however it went.
  writer_alive_ = 1;
  long pid = sys::clone_run(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_UNTRACED | CLONE_CHILD_CLEARTID,
                            d.writer_stack + d.writer_stack_size, &WritePipeline::writer_main, this, &writer_alive_);
  sys::rt_sigprocmask(SIG_SETMASK, &old, nullptr);
  if (pid > 0) {
    writer_pid_ = pid;
  } else {
    writer_alive_ = 0;
  }
}

WritePipeline::~WritePipeline() { stop_writer(); }

int WritePipeline::writer_main(void* self) {
  auto& p = *static_cast<WritePipeline*>(self);
  // A job killed mid-dump takes the writer with it, rather than leaving it
  // waiting for chunks that never come.
  sys::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (sys::getppid() != p.parent_pid_) return 1;
  for (uint32_t done = 0;;) {
    const uint32_t seen = load(p.to_writer_);
    if (done == load(p.posted_)) {
      if (load(p.closing_)) return 0;
      sys::futex_wait(&p.to_writer_, seen);
      continue;
    }
    const Slot& s = p.slots_[done % kSlots];
    long r = write_fully(p.fd_, s.buf, s.len, s.off);
    // A durable image ends in fsync: start the disk on each chunk now, so the
    // device writes while we still copy, instead of all of it at the end.
    if (r == 0 && p.d_.cfg->fsync) r = sys::sync_file_range(p.fd_, long(s.off), long(s.len), SYNC_FILE_RANGE_WRITE);
    if (r < 0) {
      __atomic_store_n(&p.error_, int32_t(r), __ATOMIC_RELEASE);
      signal_event(p.to_handler_);
      return 1;
    }
    store(p.written_, ++done);
    signal_event(p.to_handler_);
  }
}

// Sleeps until the writer has caught up to within `behind` chunks.
bool WritePipeline::wait_until_behind(uint32_t behind) {
  // The timeout only matters if the writer vanished without a word (killed
  // from outside): then writer_alive_ is 0 and we give up.
  const struct timespec poll {0, 100 * 1000 * 1000};
  for (;;) {
    const uint32_t seen = load(to_handler_);
    if (int32_t e = __atomic_load_n(&error_, __ATOMIC_ACQUIRE)) return d_.fail("writing core", e);
    if (posted_ - load(written_) <= behind) return true;
    if (!load(writer_alive_)) return d_.fail("writing core (the writer task died)", -EIO);
    sys::futex_wait(&to_handler_, seen, &poll);
  }
}

bool WritePipeline::put(const void* src, size_t len, uint64_t off, HashState* state, HashState* also) {
  const HashOps& hash = hash_ops();
  auto* from = static_cast<const char*>(src);
  while (len) {
    const size_t n = len < kSlotSize ? len : kSlotSize;
    // Without a writer nothing is ever posted, so slot 0 is the one buffer.
    if (writer_pid_ >= 0 && !wait_until_behind(kSlots - 1)) return false;
    Slot& s = slots_[posted_ % kSlots];
    __builtin_memcpy(s.buf, from, n);
    hash.update(state, s.buf, n);
    if (also) hash.update(also, s.buf, n);
    if (writer_pid_ < 0) {
      if (long r = write_fully(fd_, s.buf, n, off); r < 0) return d_.fail("writing core", r);
    } else {
      s.len = n;
      s.off = off;
      store(posted_, posted_ + 1);
      signal_event(to_writer_);
    }
    from += n;
    off += n;
    len -= n;
  }
  return true;
}

bool WritePipeline::drain() { return writer_pid_ < 0 || wait_until_behind(0); }

bool WritePipeline::finish() {
  const bool ok = drain();
  stop_writer();
  return ok;
}

void WritePipeline::stop_writer() {
  if (writer_pid_ < 0) return;
  store(closing_, 1);
  signal_event(to_writer_);
  int status = 0;
  while (sys::wait4(int(writer_pid_), &status, __WALL) == -EINTR) {
  }
  writer_pid_ = -1;
}

}  // namespace ckptlib
