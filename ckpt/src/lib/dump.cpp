// One checkpoint from start to end, as the signal handler runs it.
#include <signal.h>
#include <time.h>

#include "ckpt/signal_rule.h"
#include "dump.h"
#include "sys.h"
#include "tree.h"

namespace ckptlib {

uint64_t monotonic_ns() {
  struct timespec t {};
  sys::clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

// A forked writer is done with the image directory (committed, or nothing
// kept): its lock goes now, not when the writer's exit closes the last fd of
// it. The exit first tears down the writer's copy of the job's memory
// (1-3 ms at 200 MB, more with what the job changed meanwhile), and a
// checkpoint asked for meanwhile would wait for it in begin_image, stopped.
void release_dir_lock(Dump& d) {
  if (d.dirfd >= 0) sys::call6(SYS_flock, d.dirfd, 8 /* LOCK_UN */);
}

// The job runs again from here on (a forked writer's clone returned, or the
// in-process image is written); the first call counts.
bool note_job_resumes(Dump& d) {
  if (!d.stopped_ns) d.stopped_ns = monotonic_ns() - d.started_mono_ns;
  return true;
}

namespace {

// The writer's end: complete the image from the snapshot, or leave none.
// After the file copies of a forked dump: the executable's copy, their
// deferred sync, the core, the manifest and the commit (in the writer, or
// in-process when the fork failed).
bool finish_forked_image(Dump& d) {
  if (d.outsiders_after_fork && !refuse_outsiders_now(d)) return false;
  if (!copy_forked_exe(d)) return false;
  if (d.cfg->fsync) {
    const long r = sys::call6(SYS_syncfs, d.filesfd);
    if (r < 0) return d.fail("syncing the file copies", r);
  }
  return write_core(d) && note_job_resumes(d) && write_manifest(d) && commit_image(d);
}

[[noreturn]] void finish_in_writer(Dump& d) {
  const bool ok = finish_forked_image(d);
  if (!ok) abandon_image(d);
  release_dir_lock(d);
  sys::call6(SYS_exit_group, ok ? 0 : 1);
  __builtin_unreachable();
}

// CKPT_FORK: the job is stopped only while its threads are parked, its
// description read, its descriptors' objects and open files copied (those go
// on changing once it runs; memory does not: a fork's pages are a snapshot).
// Then a forked copy writes the core and commits the image while the job
// computes on. The copy has no exit signal, so the job never sees a SIGCHLD;
// it is reaped by the next dump (or by init when the job ends), and holds the
// directory's lock (begin_image) until it is done, so dumps never overlap.
// If the fork fails, the caller writes in-process.
long g_writer_pid = 0;  // the last forked writer, to reap

bool g_said_no_room = false;  // said once while the room stays short
bool g_said_forked = false;   // the job's log says once that its dumps are forked
bool g_said_no_fork = false;  // ... and once that a fork failed (fork_snapshot.cpp)

bool fork_writer(Dump& d, bool* forked) {
  uint64_t need = 0, room = 0;
  if (!fork_has_room(&need, &room)) {
    if (!g_said_no_room) {
      char line[256];
      Text t;
      t.reset(line, sizeof line);
      t.str("ckpt: checkpoint ").dec(d.seq).str(": no room for a forked dump (its copies could take ");
      t.dec(need >> 20).str(" MiB, ").dec(room >> 20).str(" MiB free): writing it in-process, as the next ones");
      t.str(" until there is room\n");
      write_all(2, t.data, t.len);
    }
    g_said_no_room = true;
    *forked = false;
    return true;
  }
  g_said_no_room = false;
  const long writer = clone_writer(d);
  if (writer == 0) finish_in_writer(d);
  *forked = writer > 0;
  // Said by a single process's dump only: a tree's members share the job's
  // log, and each would say it.
  if (writer > 0 && !g_said_forked) {
    char line[256];
    Text t;
    t.reset(line, sizeof line);
    t.str("ckpt: dumps are forked from checkpoint ").dec(d.seq).str(" on: the job is stopped only to fork, the ");
    t.str("fork writes the image (CKPT_FORK=1, run's default; run --no-fork writes in-process)\n");
    write_all(2, t.data, t.len);
    g_said_forked = true;
  }
  return true;
}

}  // namespace

// A writer older than the last one, that had released the directory's lock
// but not yet ended when the last one was forked (clone_writer).
long g_older_writer_pid = 0;

void reap_previous_writer(bool wait) {
  const int options = (wait ? 0 : 1 /* WNOHANG */) | 0x40000000 /* __WALL */;
  // Done with the lock a whole interval ago: if it is still ending, it is
  // about to (and it must not stay a zombie child: see clone_writer).
  if (g_older_writer_pid > 0) sys::wait4(int(g_older_writer_pid), nullptr, 0x40000000 /* __WALL */);
  g_older_writer_pid = 0;
  if (g_writer_pid > 0 && sys::wait4(int(g_writer_pid), nullptr, options) != 0) g_writer_pid = 0;
}

bool wait_previous_writer(Dump& d) {
  for (int waited_ms = 0; g_writer_pid > 0; ++waited_ms) {
    reap_previous_writer(false);
    if (g_writer_pid <= 0) break;
    if (waited_ms >= 2000) return d.fail("the previous checkpoint is still being written", -EBUSY);
    sys::nanosleep_ns(1'000'000);
  }
  d.writer_pid = 0;
  return true;
}

// A tree member's writer and a single process's alike: the fork's copy is
// checked complete first (fork_snapshot.cpp: MADV_DONTFORK mappings).
long clone_writer(Dump& d) {
  const long writer = fork_snapshot(d);
  if (writer < 0 && !g_said_no_fork) {
    char line[256];
    Text t;
    t.reset(line, sizeof line);
    t.str("ckpt: checkpoint ").dec(d.seq).str(": no complete forked copy of the job (errno ").dec(uint64_t(-writer));
    t.str("): writing it in-process\n");
    write_all(2, t.data, t.len);
    g_said_no_fork = true;
  }
  if (writer == 0) {
    d.in_writer = true;
    note_job_resumes(d);
    return 0;
  }
  if (writer > 0) {
    // The previous writer released the directory's lock (begin_image got it)
    // by exiting: it must be reaped, or it stays a zombie child of the job,
    // which every later dump would see as a process of the job and be
    // refused for. Not waited for here: a writer that has just committed may
    // still be tearing down its copy of the job's memory (1-2 ms at 200 MB),
    // and the job waits; the next dump reaps it (reap_previous_writer).
    if (g_writer_pid > 0 && sys::wait4(int(g_writer_pid), nullptr, 1 /* WNOHANG */ | 0x40000000 /* __WALL */) == 0)
      g_older_writer_pid = g_writer_pid;
    g_writer_pid = writer;
  }
  return writer;
}

bool stop_threads(Dump& d) {
  const char* why = nullptr;
  int err = 0;
  if (!threads::stop_others(d.sig, d.uc, &d.roster, &why, &err)) return d.fail(why, -err);
  return true;
}

void end_dump(Dump& d) {
  if (d.filesfd >= 0) sys::close(d.filesfd);
  if (d.tmpfd >= 0) sys::close(d.tmpfd);
  if (d.treefd >= 0) sys::close(d.treefd);
  if (d.dirfd >= 0) sys::close(d.dirfd);
  d.filesfd = d.tmpfd = d.treefd = d.dirfd = -1;
  unmap_scratch(d);
  // A job that was stopped when asked (kStayStoppedRequest) stops again here,
  // before its other threads are let go: a forked dump's writer, another
  // process, goes on writing while the job is stopped; SIGCONT lets it run on.
  // Without this, a forked dump's job computes for as long as its image is
  // written (the fork is the point), so a job "kept paused between checkpoints"
  // by SIGSTOP after each complete image was not: it ran during every write.
  // That was issue 23's unexplained failure of forked incremental dumps of a
  // paused ckpt-matmul: every status was "ok", but the 0.7 s job reached its
  // end within 2-5 forked writes, and re-pausing a job that had ended failed.
  if (d.stay_stopped && !d.in_writer) {
    // Requests sent during the dump were served by it (the handler drops them
    // too); one sent while the job stayed stopped is the next dump's, and the
    // handler's drop must not take it: it is kept for the handler to raise again.
    const uint64_t set = 1ull << (d.sig - 1);
    const struct timespec zero {};
    while (sys::rt_sigtimedwait(&set, nullptr, &zero) == d.sig) {
    }
    // To this thread: a SIGSTOP sent to the process is taken by whichever
    // thread the kernel picks (the main thread, parked), and this one would
    // run on past this point before the group stop reached it, letting the
    // threads go and missing a request sent meanwhile.
    sys::call6(SYS_tgkill, sys::getpid(), sys::call6(SYS_gettid), SIGSTOP);
    if (sys::rt_sigtimedwait(&set, d.next_request, &zero) != d.sig) d.next_request->si_signo = 0;
  }
  threads::release_all();
}

bool stay_stopped_request(const siginfo_t* info) {
  return info && info->si_code == SI_QUEUE &&
         uint64_t(reinterpret_cast<uintptr_t>(info->si_value.sival_ptr)) == ckptsim::ckpt::kStayStoppedRequest;
}

void run_checkpoint(const Config& cfg, int sig, ucontext_t* uc, bool stay_stopped, siginfo_t* next) {
  next->si_signo = 0;
  Dump d{};
  d.stay_stopped = stay_stopped;
  d.next_request = next;
  d.cfg = &cfg;
  d.sig = sig;
  d.uc = uc;
  d.dirfd = d.tmpfd = d.filesfd = -1;
  struct timespec now {};
  sys::clock_gettime(CLOCK_REALTIME, &now);
  d.created_ns = uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec);
  d.started_mono_ns = monotonic_ns();

  // Facts first (before this dump opens anything the fd table would show),
  // then the image, which becomes visible only in commit_image.
  reap_previous_writer(false);
  d.writer_pid = g_writer_pid;
  // A job with descendants is dumped as a tree (tree_dump.cpp); a single
  // process as it always was.
  Tree& tree = the_tree();
  bool ok = stop_threads(d) && map_scratch(d) && read_process(d);
  // A forked dump of a process without children: the job is that process
  // alone, and its scan of /proc for outsiders waits until after the fork (tree.h).
  d.outsiders_after_fork = ok && cfg.fork && childless(d);
  if (d.outsiders_after_fork) take_alone(d, tree);
  else ok = ok && scan_job(d, tree);
  if (ok && tree.n > 1) {
    run_tree_checkpoint(d, tree);
    return end_dump(d);
  }
  ok = ok && read_fd_table(d) && begin_image(d);
  // After begin_image: it waited for the previous writer, so the parent is
  // complete (or was abandoned) by now.
  if (ok && cfg.incremental) ok = plan_incremental(d);
  // Before any memory is copied (a forked writer's copy included).
  if (ok && cfg.incremental) dirty_prepare(d);
  const bool lineage_moved = ok && cfg.incremental;
  if (lineage_moved) lineage_begin(d);
  bool forked = false;
  if (ok && cfg.fork) {
    ok = save_kernel_objects(d) && copy_files(d) && fork_writer(d, &forked);
    if (ok && !forked) ok = finish_forked_image(d);
  } else if (ok) {
    ok = write_core(d) && save_kernel_objects(d) && copy_files(d) && note_job_resumes(d) && write_manifest(d) &&
         commit_image(d);
  }
  if (!ok) abandon_image(d);
  if (!ok && lineage_moved) lineage_abandon();
  end_dump(d);
}

}  // namespace ckptlib
