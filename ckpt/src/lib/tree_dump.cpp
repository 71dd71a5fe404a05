// A process tree's checkpoint, both sides (tree.h; docs/internals.md "Process
// trees"). Stop all, then dump: no member writes a byte before every process
// of the tree is stopped, so the images are of one moment (a pipe's bytes are
// counted once, by its reader, and no process runs on with data its peer's
// image does not know about); and nothing is kept unless every image is whole.
#include <fcntl.h>
#include <time.h>

#include "errtext.h"
#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

Tree g_tree;
// The tree's settings: full and in-process (CKPT_FORK and CKPT_INCREMENTAL
// apply to single processes for now; said once).
Config g_tree_cfg;
bool g_said_tree_mode;
constexpr long kMemberWaitMs = 60'000;   // a member waits this long for "dump" (the stop takes at most 10 s)
constexpr long kReplyWaitMs = 3'600'000;  // and the coordinator this long for a member's image

const Config* tree_config(const Dump& d, bool say) {
  g_tree_cfg = *d.cfg;
  if ((g_tree_cfg.fork || g_tree_cfg.incremental) && !g_said_tree_mode && say) {
    const char line[] = "ckpt: a process tree is checkpointed full and in-process (CKPT_FORK and CKPT_INCREMENTAL "
                        "apply to single processes for now)\n";
    write_all(2, line, sizeof line - 1);
    g_said_tree_mode = true;
  }
  g_tree_cfg.fork = g_tree_cfg.incremental = false;
  return &g_tree_cfg;
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
    for (size_t i = 1; i < t.n; ++i) {
      Member& m = t.m[i];
      if (!m.zombie && !m.signalled && !(check_member(d, t, m) && signal_member(d, t, m))) return false;
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
  msg.str("dump ").dec(d.seq).ch(' ').str(d.tmp_name);
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

// Every member asked to write answers before the temp directory is kept or
// removed (a failure of one is the tree's; the first is said).
bool collect_replies(Dump& d, Tree& t) {
  bool ok = true;
  char buf[512];
  for (size_t i = 1; i < t.n; ++i) {
    Member& m = t.m[i];
    if (!m.dumping || m.replied) continue;
    const long n = recv_text(m.sock, buf, sizeof buf, kReplyWaitMs);
    m.replied = true;
    m.ok = n == 4 && cstr_eq(buf, "done");
    if (m.ok) continue;
    Text w;
    char* what = d.pool + d.pool_used;
    w.reset(what, kPoolSize - d.pool_used);
    name_member(w, m);
    w.str(" of the job: ").str(n > 5 && starts_with(buf, size_t(n), "fail ") ? buf + 5 : "ended during its dump");
    if (!w.overflow) d.pool_used += w.len + 1;
    ok = ok && d.fail(w.overflow ? "a process of the job failed its dump" : what, 0);
  }
  return ok;
}

void note_stopped(Dump& d) { d.stopped_ns = monotonic_ns() - d.started_mono_ns; }

bool write_own_image(Dump& d) {
  note_stopped(d);
  return write_core(d) && save_kernel_objects(d) && copy_files(d) && write_manifest(d);
}

}  // namespace

Tree& the_tree() { return g_tree; }

bool run_tree_checkpoint(Dump& d, Tree& t) {
  d.in_tree = true;
  d.cfg = tree_config(d, true);
  lineage_reset();
  t.listener = -1;
  t.refs = nullptr;
  bool ok = read_fd_table(d) && open_listener(d, t) && stop_members(d, t);
  if (ok) {
    tree_order(t);
    ok = analyse_tree_fds(d, t);
  }
  d.tree_pipes = t.pipes;
  d.ntree_pipes = t.npipes;
  ok = ok && begin_image(d) && send_dumps(d, t) && write_own_image(d);
  const bool replies = collect_replies(d, t);  // whatever happened here: they write into our temp dir
  d.tree_live = d.tree_zombies = 0;
  for (size_t i = 0; i < t.n; ++i) ++(t.m[i].zombie ? d.tree_zombies : d.tree_live);
  ok = ok && replies && write_tree_manifest(d, t) && commit_image(d);
  if (!ok) abandon_image(d);
  close_connections(t, "resume");
  return ok;
}

namespace {

// A member's own image, into top/proc-PID: as a single dump writes it, but no
// lock, number, status line or commit (the coordinator's).
bool member_image(Dump& d, const char* msg, size_t len, int top) {
  size_t p = 5;  // "dump "
  d.seq = parse_unsigned(msg, len, &p, 10);
  while (p < len && msg[p] == ' ') ++p;
  while (p < len && msg[p] != ' ') ++p;  // the temp dir's name: `top` is it
  auto* pipes = reinterpret_cast<uint64_t*>(d.pool + ((d.pool_used + 7) & ~size_t(7)));
  size_t n = 0;
  while (p < len && n < kMaxTreePipes) {
    ++p;
    pipes[n++] = parse_unsigned(msg, len, &p, 10);
  }
  d.pool_used = ((d.pool_used + 7) & ~size_t(7)) + n * sizeof(uint64_t);
  d.tree_pipes = pipes;
  d.ntree_pipes = n;
  d.pgid = sys::getpgid(0);
  d.sid = sys::getsid(0);
  bool ok = read_process(d) && read_fd_table(d) && open_proc_image(d, top) && write_own_image(d);
  long r;
  if (ok && d.cfg->fsync && (r = sys::fsync(d.tmpfd)) < 0) ok = d.fail("syncing the image directory", r);
  return ok;
}

void say_failure(Dump& d, int sock) {
  char line[512];
  Text t;
  t.reset(line, sizeof line);
  char errbuf[24];
  t.str("fail ").str(d.fail_what ? d.fail_what : "?");
  if (d.fail_err) t.str(": ").str(errno_text(d.fail_err, errbuf));
  send_text(sock, t.data, t.len);
}

}  // namespace

void run_member_checkpoint(const Config& cfg, int sig, ucontext_t* uc, long coordinator, uint32_t nonce) {
  Dump d{};
  d.cfg = &cfg;
  d.sig = sig;
  d.uc = uc;
  d.cfg = tree_config(d, false);
  d.in_tree = true;
  d.tree_member = true;
  struct timespec now {};
  sys::clock_gettime(CLOCK_REALTIME, &now);
  d.created_ns = uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec);
  d.started_mono_ns = monotonic_ns();
  lineage_reset();
  const int sock = connect_coordinator(coordinator, nonce);
  bool ok = sock >= 0 && stop_threads(d) && map_scratch(d);
  if (sock >= 0 && !ok) say_failure(d, sock);
  if (ok) {
    char word[32];
    Text t;
    t.reset(word, sizeof word);
    t.str("stopped ").dec(unsigned(sock));
    ok = send_text(sock, t.data, t.len);
  }
  char* msg = ok ? d.io_buf + kIoBufSize - (64u << 10) : nullptr;
  int top = -1;
  const long n = ok ? recv_text(sock, msg, 64u << 10, kMemberWaitMs, &top) : -1;
  if (n > 5 && starts_with(msg, size_t(n), "dump ") && top >= 0) {
    d.skip_fd[0] = sock;
    d.skip_fd[1] = top;
    // The message is copied: the dump uses io_buf.
    char* kept = d.pool;
    for (long i = 0; i <= n; ++i) kept[i] = msg[i];
    d.pool_used = size_t(n) + 1;
    if (member_image(d, kept, size_t(n), top)) send_text(sock, "done", 4);
    else say_failure(d, sock);
    char word[16];
    recv_text(sock, word, sizeof word, -1);  // "resume", or EOF: the coordinator is gone
  }
  if (top >= 0) sys::close(top);
  if (sock >= 0) sys::close(sock);
  end_dump(d);
}

}  // namespace ckptlib
