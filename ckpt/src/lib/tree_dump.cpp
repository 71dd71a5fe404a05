// A process tree's checkpoint, both sides (tree.h; docs/internals.md "Process
// trees"). Stop all, then dump: no member writes a byte before every process
// of the tree is stopped, so the images are of one moment (a pipe's bytes are
// counted once, by its reader, and no process runs on with data its peer's
// image does not know about); and nothing is kept unless every image is whole.
// A forked tree dump (CKPT_FORK) has every member fork its writer while all
// are still stopped, so the copies are of that same moment; then all run on,
// the writers write the cores, and the coordinator's writer commits once every
// one said "done". In an incremental tree image (CKPT_INCREMENTAL) each
// process's core descends from that process's in the tree's parent image.
#include <fcntl.h>
#include <time.h>

#include "errtext.h"
#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

Tree g_tree;
// The settings the tree is dumped with: forked only where there is room.
Config g_tree_cfg;
bool g_said_no_room;  // said once while the tree's copies do not fit
constexpr long kReplyWaitMs = 3'600'000;  // and the coordinator this long for a member's image

// Whether the copies of all the tree's processes fit together (fork_headroom.cpp).
struct TreeRoom {
  bool fits;
  size_t n;  // processes counted
  uint64_t need, room;
};

// Taken before the members are asked to stop, so that none waits stopped for
// it (every process's /proc/PID/status, meminfo, the control groups: ~0.3 ms
// for 9 processes): the processes the first scan found, not one that joins
// during the stop (a fork's child, whose pages are still shared with its parent).
TreeRoom tree_room(const Dump& d, const Tree& t) {
  TreeRoom r{};
  if (!d.cfg->fork) return r;
  int32_t pids[kMaxMembers];
  for (size_t i = 0; i < t.n; ++i)
    if (!t.m[i].zombie) pids[r.n++] = t.m[i].info.pid;
  r.fits = tree_fork_has_room(pids, r.n, &r.need, &r.room);
  return r;
}

// Forked only where the copies of all the tree's processes fit together;
// otherwise the whole tree is written in-process, as the next ones until they do.
bool tree_forks(Dump& d, const TreeRoom& r) {
  if (!d.cfg->fork) return false;
  const size_t n = r.n;
  const uint64_t need = r.need, room = r.room;
  if (r.fits) {
    g_said_no_room = false;
    return true;
  }
  if (!g_said_no_room) {
    char line[256];
    Text w;
    w.reset(line, sizeof line);
    w.str("ckpt: checkpoint ").dec(d.seq).str(": no room for a forked dump of the job's ").dec(n);
    w.str(" processes (their copies could take ").dec(need >> 20).str(" MiB, ").dec(room >> 20);
    w.str(" MiB free): writing it in-process, as the next ones until there is room\n");
    write_all(2, w.data, w.len);
  }
  g_said_no_room = true;
  return false;
}

// The tree image every process's core descends from: the coordinator's last
// one, if it is a tree image of this job still there and the chain has room.
void choose_tree_parent(Dump& d) {
  d.tree_parent[0] = 0;
  if (!d.cfg->incremental || !tree_parent_usable(d)) return;
  const char* name = lineage_image();
  size_t i = 0;
  for (; i + 1 < sizeof d.tree_parent && name[i]; ++i) d.tree_parent[i] = name[i];
  d.tree_parent[i] = 0;
}

// The writers listed that the last scan no longer found: every member reaped
// its previous writer before it said "stopped"; one whose member had ended
// may still run (init's now), and stays listed.
void forget_ended_writers(Tree& t) {
  size_t kept = 0;
  for (size_t i = 0; i < t.nwriters; ++i) {
    bool running = false;
    for (size_t k = 0; k < t.procs.n && !running; ++k)
      running = t.procs.p[k].pid == t.writers[i].writer && t.procs.p[k].start == t.writers[i].start;
    if (running) t.writers[kept++] = t.writers[i];
  }
  t.nwriters = kept;
}

// A member's failure, as the coordinator records it (the first is said).
bool member_failed(Dump& d, Member& m, const char* buf, long n) {
  m.replied = true;
  m.ok = false;
  Text w;
  char* what = d.pool + d.pool_used;
  w.reset(what, kPoolSize - d.pool_used);
  name_member(w, m);
  w.str(" of the job: ").str(n > 5 && starts_with(buf, size_t(n), "fail ") ? buf + 5 : "ended during its dump");
  if (!w.overflow) d.pool_used += w.len + 1;
  return d.fail(w.overflow ? "a process of the job failed its dump" : what, 0);
}

bool all_stopped(const Tree& t, size_t* straggler) {
  for (size_t i = 1; i < t.n; ++i)
    if (!t.m[i].zombie && !t.m[i].stopped) {
      *straggler = i;
      return false;
    }
  return true;
}

// Step 2: every live member stopped in its handler, and a last scan finds no
// process of the tree that is not (a member cannot fork once it is stopped).
bool stop_members(Dump& d, Tree& t) {
  t.deadline_ns = long(monotonic_ns()) + kTreeStopBudgetNs;
  uint64_t last_scan = monotonic_ns();
  for (;;) {
    // All checked first, then all asked at once: a member stops when it is
    // asked, and would otherwise wait stopped through the checks of every
    // member after it (~0.35 ms each: /proc/PID/maps and status read). A
    // member that execs between its check and the signal dies of it (the
    // new program has not installed the handler yet): that window was one
    // member's check long, now it is the rest of the checks, still < 1 ms
    // for every 3 members.
    for (size_t i = 1; i < t.n; ++i)
      if (!check_member(d, t, t.m[i])) return false;
    for (size_t i = 1; i < t.n; ++i) {
      Member& m = t.m[i];
      if (!m.zombie && !m.signalled && !signal_member(d, t, m)) return false;
    }
    size_t straggler = 0;
    const bool all = all_stopped(t, &straggler);
    if (all || monotonic_ns() - last_scan > 20'000'000) {
      bool added = false;
      if (!rescan_members(d, t, &added)) return false;
      last_scan = monotonic_ns();
      if (all && !added && all_stopped(t, &straggler)) return true;
      if (added) continue;
    }
    if (long(monotonic_ns()) > t.deadline_ns)
      return refuse_member(d, t.m[straggler], "did not stop for the checkpoint within 10 s");
    if (!serve_connections(d, t, 5)) return false;
  }
}

// Step 3: each member is told to write its image into the temp directory.
bool send_dumps(Dump& d, Tree& t) {
  Text msg;
  msg.reset(d.io_buf, 64u << 10);
  msg.str("dump ").dec(d.seq).ch(' ').str(d.tmp_name).ch(' ');
  if (d.cfg->fork) msg.ch('f');
  if (d.cfg->incremental) msg.ch('i');
  if (!d.cfg->fork && !d.cfg->incremental) msg.ch('-');
  msg.ch(' ').str(d.tree_parent[0] ? d.tree_parent : "-");
  for (size_t i = 0; i < t.npipes; ++i) msg.ch(' ').dec(t.pipes[i]);
  if (msg.overflow) return d.fail("telling the job's processes to write their images", -E2BIG);
  for (size_t i = 1; i < t.n; ++i) {
    Member& m = t.m[i];
    if (m.zombie) continue;
    if (!send_text(m.sock, msg.data, msg.len, d.treefd)) {
      char line[96];
      Text w;
      w.reset(line, sizeof line);
      w.str("ended during the checkpoint");
      return refuse_member(d, m, d.keep(w.data, w.len));
    }
    m.dumping = true;
  }
  return true;
}

// What a member asked to write says next. A forked dump's member first says
// it forked its writer ("forked <pid> <start time>", the writer's, for the
// next scans to leave out): then the copies are all of one moment. Every
// member says "done" once its image is written, before the temp directory is
// kept or removed. Either way a member may say why not instead ("fail ...",
// or nothing when it ended): a failure of one is the tree's, the first is said.
enum class Reply { kForked, kDone };

// The writer a member's "forked" names, recorded for the next scans.
void note_writer(Tree& t, const Member& m, const char* buf, long n) {
  size_t p = 7;
  const auto writer = int32_t(parse_unsigned(buf, size_t(n), &p, 10));
  ++p;
  const uint64_t start = p < size_t(n) ? parse_unsigned(buf, size_t(n), &p, 10) : 0;
  if (writer > 0 && t.nwriters < kMaxMembers) t.writers[t.nwriters++] = WriterRef{m.info.pid, writer, start};
}

// Hears `expected` from every member asked to write that has not answered
// for good yet ("forked" leaves it to say "done" later).
bool hear_members(Dump& d, Tree& t, Reply expected) {
  bool ok = true;
  char buf[512];
  for (size_t i = 1; i < t.n; ++i) {
    Member& m = t.m[i];
    if (!m.dumping || m.replied) continue;
    const long n = recv_text(m.sock, buf, sizeof buf, kReplyWaitMs);
    const bool heard = expected == Reply::kDone ? n == 4 && cstr_eq(buf, "done")
                                                : n > 7 && starts_with(buf, size_t(n), "forked ");
    if (!heard) {
      ok = member_failed(d, m, buf, n) && ok;
    } else if (expected == Reply::kDone) {
      m.replied = true;
      m.ok = true;
    } else {
      note_writer(t, m, buf, n);
    }
  }
  return ok;
}

// The tree image's `parent` (CKPT_KEEP keeps what a kept image needs, as for a single image's).
bool write_tree_parent(Dump& d) {
  return !d.tree_parent[0] || write_parent_file(d, d.treefd, d.tree_parent);
}

// Every member's answer, then tree.json and the commit; or no image at all.
bool finish_tree_image(Dump& d, Tree& t, bool ok) {
  const bool replies = hear_members(d, t, Reply::kDone);  // whatever happened here: they write into our temp dir
  d.tree_live = d.tree_zombies = 0;
  for (size_t i = 0; i < t.n; ++i) ++(t.m[i].zombie ? d.tree_zombies : d.tree_live);
  ok = ok && replies && write_tree_parent(d) && write_tree_manifest(d, t) && commit_image(d);
  if (!ok) abandon_image(d);
  return ok;
}

}  // namespace

// The incremental plan of this process's own core, before any memory is
// copied (a forked writer's copy included); true if the lineage moved.
bool begin_lineage(Dump& d) {
  if (!d.cfg->incremental) return false;
  plan_incremental(d);
  dirty_prepare(d);
  lineage_begin(d);
  return true;
}

bool write_own_image(Dump& d) {
  d.stopped_ns = monotonic_ns() - d.started_mono_ns;
  return write_core(d) && save_kernel_objects(d) && copy_files(d) && write_manifest(d);
}

// A forked dump's writer: the file copies' deferred sync, then the core.
bool write_forked_core(Dump& d) {
  long r;
  if (!copy_forked_exe(d)) return false;
  if (d.cfg->fsync && (r = sys::call6(SYS_syncfs, d.filesfd)) < 0) return d.fail("syncing the file copies", r);
  return write_core(d) && write_manifest(d);
}

void WriterGate::open() {
  int fds[2];
  if (sys::pipe2(fds, O_CLOEXEC) == 0) rd = fds[0], wr = fds[1];
}

void WriterGate::wait_in_writer() {
  if (wr >= 0) sys::close(wr);
  char c;
  while (rd >= 0 && sys::read(rd, &c, 1) == -EINTR) {
  }
  if (rd >= 0) sys::close(rd);
}

void WriterGate::forked() {
  if (rd >= 0) sys::close(rd);
  rd = -1;
}

void WriterGate::release() {
  forked();
  if (wr >= 0) sys::close(wr);
  wr = -1;
}

Tree& the_tree() { return g_tree; }

bool run_tree_checkpoint(Dump& d, Tree& t) {
  d.in_tree = true;
  t.listener = -1;
  t.refs = nullptr;
  // The previous forked tree dump's writer commits only once every member's
  // writer said "done": once it has ended, each member reaps its own at once.
  bool ok = wait_previous_writer(d) && read_fd_table(d) && open_listener(d, t);
  const TreeRoom room = tree_room(d, t);
  ok = ok && stop_members(d, t) && refresh_shared_fd_state(d);
  if (ok) forget_ended_writers(t);
  if (ok) {
    tree_order(t);
    ok = analyse_tree_fds(d, t);
  }
  d.tree_pipes = t.pipes;
  d.ntree_pipes = t.npipes;
  ok = ok && begin_image(d);
  g_tree_cfg = *d.cfg;
  g_tree_cfg.fork = ok && tree_forks(d, room);
  d.cfg = &g_tree_cfg;
  if (ok) choose_tree_parent(d);
  ok = ok && send_dumps(d, t);
  const bool lineage_moved = ok && begin_lineage(d);
  if (!d.cfg->fork) {
    ok = ok && write_own_image(d);
    ok = finish_tree_image(d, t, ok);
  } else {
    ok = ok && save_kernel_objects(d) && copy_files(d);
    ok = hear_members(d, t, Reply::kForked) && ok;
    // Every member is forked (or failed): the copies are whole, the job may run on.
    WriterGate gate;
    if (ok) gate.open();
    const long writer = ok ? clone_writer(d) : -1;
    if (writer == 0) {
      gate.wait_in_writer();
      const bool done = finish_tree_image(d, t, write_forked_core(d));
      release_dir_lock(d);
      sys::call6(SYS_exit_group, done ? 0 : 1);
    }
    gate.forked();
    if (writer > 0) {
      close_connections(t, "resume");
      gate.release();
      return true;
    }
    gate.release();
    if (writer < 0) {
      if (ok) ok = note_job_resumes(d) && write_forked_core(d);  // no fork: in-process
      ok = finish_tree_image(d, t, ok);
    }
  }
  if (!ok && lineage_moved) lineage_abandon();
  // "abandon": no image was made, so the members' lineage goes back too.
  close_connections(t, ok ? "resume" : "abandon");
  return ok;
}

}  // namespace ckptlib
