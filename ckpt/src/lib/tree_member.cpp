// A process tree's checkpoint, a member's side (tree.h; tree_dump.cpp is the
// coordinator's): stop in the handler, say "stopped", and on "dump" write this
// process's image into the tree's temp directory as the coordinator says
// (forked or not, incremental or not, on which parent); then wait for "resume".
#include <fcntl.h>
#include <time.h>

#include "errtext.h"
#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

Config g_member_cfg;  // this process's settings, forked and incremental as the coordinator says
constexpr long kMemberWaitMs = 60'000;  // a member waits this long for "dump" (the stop takes at most 10 s)

// The next word of msg from p on (after one space): [*at, *at + *n).
void next_word(const char* msg, size_t len, size_t* p, size_t* at, size_t* n) {
  while (*p < len && msg[*p] == ' ') ++*p;
  *at = *p;
  while (*p < len && msg[*p] != ' ') ++*p;
  *n = *p - *at;
}

// "dump <seq> <tmp-name> <f|i|fi|-> <parent|-> <pipe>...": the settings and
// the parent into the Dump.
void take_order(Dump& d, const char* msg, size_t len, size_t* p) {
  d.seq = parse_unsigned(msg, len, p, 10);
  size_t at = 0, n = 0;
  next_word(msg, len, p, &at, &n);  // the temp dir's name: `top` is it
  next_word(msg, len, p, &at, &n);
  g_member_cfg = *d.cfg;
  g_member_cfg.fork = g_member_cfg.incremental = false;
  for (size_t i = at; i < at + n; ++i) {
    if (msg[i] == 'f') g_member_cfg.fork = true;
    if (msg[i] == 'i') g_member_cfg.incremental = true;
  }
  d.cfg = &g_member_cfg;
  next_word(msg, len, p, &at, &n);
  const bool none = n == 1 && msg[at] == '-';
  size_t k = 0;
  for (; !none && k < n && k + 1 < sizeof d.tree_parent; ++k) d.tree_parent[k] = msg[at + k];
  d.tree_parent[k] = 0;
  Text t;
  t.reset(d.image_name, sizeof d.image_name);
  t.str(fmt::kImagePrefix).dec_width(d.seq, 4);
}

// The checkpoint directory, for the parent image (after read_fd_table: not one of the job's fds).
bool open_checkpoint_dir(Dump& d) {
  const long fd = sys::openat(AT_FDCWD, d.cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return d.fail("opening the checkpoint directory", fd);
  d.dirfd = int(fd);
  return true;
}

bool sync_own_image(Dump& d) {
  long r;
  if (d.cfg->fsync && (r = sys::fsync(d.tmpfd)) < 0) return d.fail("syncing the image directory", r);
  return true;
}

void say_failure(Dump& d, int sock);

void reply(Dump& d, int sock, bool ok) {
  if (ok) send_text(sock, "done", 4);
  else say_failure(d, sock);
}

// A member's own image, into top/proc-PID: as a single dump writes it, but no
// lock, number, status line or commit (the coordinator's). Forked, the writer
// answers "done" (or why not) and this process only "forked <writer>".
bool member_image(Dump& d, const char* msg, size_t len, int top, int sock, bool* lineage_moved, WriterGate& gate) {
  size_t p = 5;  // "dump "
  take_order(d, msg, len, &p);
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
  // Every process is stopped now: what this one shares with the others is still.
  bool ok = refresh_shared_fd_state(d) && open_proc_image(d, top) && open_checkpoint_dir(d);
  *lineage_moved = ok && begin_lineage(d);
  if (!d.cfg->fork) {
    ok = ok && write_own_image(d) && sync_own_image(d);
    reply(d, sock, ok);
    return ok;
  }
  ok = ok && save_kernel_objects(d) && copy_files(d);
  if (!ok) {
    say_failure(d, sock);
    return false;
  }
  gate.open();
  const long writer = clone_writer(d);
  if (writer == 0) {
    gate.wait_in_writer();
    ok = write_forked_core(d) && sync_own_image(d);
    reply(d, sock, ok);
    sys::call6(SYS_exit_group, ok ? 0 : 1);
  }
  char line[64];
  Text t;
  t.reset(line, sizeof line);
  ProcInfo w{};
  char stat[1024];
  const long got = writer > 0 ? read_proc_stat(writer, stat, sizeof stat) : -1;
  if (got <= 0 || !parse_proc_stat(stat, size_t(got), &w)) w.start = 0;
  t.str("forked ").dec(uint64_t(writer > 0 ? writer : 0)).ch(' ').dec(w.start);
  gate.forked();
  if (!send_text(sock, t.data, t.len)) return false;
  if (writer > 0) return true;
  ok = note_job_resumes(d) && write_forked_core(d) && sync_own_image(d);  // no fork: in-process
  reply(d, sock, ok);
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
  d.in_tree = true;
  d.tree_member = true;
  struct timespec now {};
  sys::clock_gettime(CLOCK_REALTIME, &now);
  d.created_ns = uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec);
  d.started_mono_ns = monotonic_ns();
  // The previous forked dump's writer has said "done" (its image is
  // committed, or abandoned): it is gone before we say "stopped", so no scan
  // of this dump sees it as a process of the job.
  reap_previous_writer(true);
  const int sock = connect_coordinator(coordinator, nonce);
  // This process's own facts are read before it says "stopped" (they cannot
  // change once its threads are parked, but for the state of fds it shares:
  // refresh_shared_fd_state after "dump"): meanwhile the coordinator stops the
  // others and rescans /proc on one CPU, while after "dump" every member's
  // work and fork compete for the CPUs, and the whole job waits for the last.
  d.skip_fd = sock;
  bool ok = sock >= 0 && stop_threads(d) && map_scratch(d) && read_process(d) && read_fd_table(d);
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
    // The message is copied: the dump uses io_buf.
    const char* kept = d.keep(msg, size_t(n));
    bool lineage_moved = false;
    WriterGate gate;
    if (kept) member_image(d, kept, size_t(n), top, sock, &lineage_moved, gate);
    else if (!d.fail("keeping the coordinator's order", -ENOMEM)) say_failure(d, sock);
    char word[16];
    // "resume", "abandon" (the tree's image was not made), or EOF: the coordinator is gone.
    const long w = recv_text(sock, word, sizeof word, -1);
    gate.release();
    if (lineage_moved && !(w == 6 && cstr_eq(word, "resume"))) lineage_abandon();
  }
  if (top >= 0) sys::close(top);
  if (sock >= 0) sys::close(sock);
  end_dump(d);
}

}  // namespace ckptlib
