// The processes of a tree dump: every descendant of the coordinator (by ppid,
// from one scan of /proc; a previous forked dump's writer and its task are the
// dump's own, not the job's), and what each must be before it is asked to
// stop: carrying this library, catching the checkpoint signal (a process
// between its exec and the library's constructor does not yet, and SIGQUIT's
// default would kill it), not a vfork child sharing its parent's memory.
#include <fcntl.h>
#include <linux/kcmp.h>

#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

constexpr size_t kDentsSize = 64u << 10;  // the start of io_buf (process_tree.cpp reads files after it)
constexpr long kLibraryGraceNs = 300'000'000;  // a process just exec'd maps its preloads within this
constexpr long kVforkWaitNs = 2'000'000'000;   // a vfork child execs (or exits) within this

long now_ns() { return long(monotonic_ns()); }

void read_one(ProcTable& pt, long pid, uint64_t ino) {
  char buf[1024];
  const long n = read_proc_stat(pid, buf, sizeof buf);
  ProcInfo p{};
  if (n < 0 || !parse_proc_stat(buf, size_t(n), &p)) return;  // gone meanwhile
  p.pid = int32_t(pid);
  if (pt.n < kMaxProcs) pt.ino[pt.n] = ino, pt.p[pt.n++] = p;
}

// Descendants: repeated sweeps (a tree is a few levels deep), each parent
// looked up among the few found so far.
void mark_descendants(const Dump& d, ProcTable& pt) {
  int32_t found[kMaxMembers];
  size_t nfound = 0;
  for (size_t i = 0; i < pt.n; ++i) pt.desc[i] = false;
  for (bool more = true; more;) {
    more = false;
    for (size_t i = 0; i < pt.n; ++i) {
      if (pt.desc[i] || pt.p[i].pid == d.pid || dump_writer(d, pt, pt.p[i])) continue;
      bool parent_in = pt.p[i].ppid == d.pid;
      for (size_t j = 0; j < nfound && !parent_in; ++j) parent_in = found[j] == pt.p[i].ppid;
      if (!parent_in) continue;
      pt.desc[i] = more = true;
      if (nfound < kMaxMembers) found[nfound++] = pt.p[i].pid;  // more: scan_job says "too many"
    }
  }
}

bool listed_writer(const ProcInfo& p) {
  const Tree& t = the_tree();
  for (size_t i = 0; i < t.nwriters; ++i)
    if (t.writers[i].writer == p.pid && t.writers[i].start == p.start) return true;
  return false;
}

}  // namespace

bool dump_writer(const Dump& d, const ProcTable& pt, const ProcInfo& p) {
  if (p.pid == d.writer_pid || (d.writer_pid > 0 && p.ppid == d.writer_pid)) return true;
  if (listed_writer(p)) return true;
  const Tree& t = the_tree();
  for (size_t i = 0; i < t.nwriters; ++i) {
    if (t.writers[i].writer != p.ppid) continue;
    for (size_t k = 0; k < pt.n; ++k)
      if (pt.p[k].pid == p.ppid) return listed_writer(pt.p[k]);
  }
  return false;
}

namespace {

// The index of `pid` in p[0, n) (in increasing pid order, as /proc lists
// them), or -1.
long find_pid(const ProcInfo* p, size_t n, int32_t pid) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (p[mid].pid < pid) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && p[lo].pid == pid ? long(lo) : -1;
}

// One pass over /proc into pt. The first nprev lines of pt.prev (the last
// pass's) stand for their processes where they cannot have changed for this
// purpose: the process is the same one (/proc gives each process's directory
// an inode of its own: a pid reused is a new inode, the old one dropped when
// its process is reaped), it did not descend from this one, and its parent is
// still the same process (a process's parent changes only when that parent
// ends: a subreaper among its ancestors, maybe one of the tree, or the
// namespace's init takes it). pt.desc[i] says a line was kept, until
// mark_descendants; *parents_kept is false when a kept line's parent changed.
bool walk_proc(Dump& d, ProcTable& pt, size_t nprev, bool* parents_kept) {
  size_t j = 0;
  pt.n = 0;
  const long dir = sys::openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return d.fail("reading /proc", dir);
  long n;
  while ((n = sys::getdents64(int(dir), d.io_buf, kDentsSize)) > 0) {
    for (long at = 0; at < n;) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(d.io_buf + at);
      at += de->d_reclen;
      size_t pos = 0;
      const long pid = long(parse_unsigned(de->d_name, cstr_len(de->d_name), &pos, 10));
      if (pos == 0 || de->d_name[pos]) continue;
      while (j < nprev && pt.prev[j].pid < pid) ++j;
      const size_t i = pt.n;
      if (j < nprev && pt.prev[j].pid == pid && !pt.prev_desc[j] && de->d_ino > 1 && pt.prev_ino[j] == de->d_ino) {
        if (i == kMaxProcs) continue;
        pt.p[i] = pt.prev[j];
        pt.ino[i] = de->d_ino;
        pt.desc[i] = true;  // kept
        pt.n = i + 1;
        continue;
      }
      read_one(pt, pid, de->d_ino);
      if (pt.n > i) pt.desc[i] = false;
    }
  }
  sys::close(int(dir));
  // Not knowing the job's processes must not pass for knowing there are none.
  if (n < 0) return d.fail("listing /proc for the job's other processes", n);
  *parents_kept = true;
  for (size_t i = 0; i < pt.n && *parents_kept; ++i) {
    if (!pt.desc[i] || pt.p[i].ppid == 0) continue;  // read afresh; or its parent is outside this namespace
    const long now = find_pid(pt.p, pt.n, pt.p[i].ppid), before = find_pid(pt.prev, nprev, pt.p[i].ppid);
    *parents_kept = now >= 0 && before >= 0 && pt.ino[now] == pt.prev_ino[before];
  }
  return true;
}

// Every process in /proc, and which of them descend from this one. A read
// after the first (the stop's rescans; the last one while the whole job
// waits) reads the stat lines of the tree's processes and of the processes
// new since, only (walk_proc): reading each costs ~15-20 us (2 ms for 100
// processes). All are read again if a kept one's parent changed, or if this
// process is its namespace's init (pid 1: it takes the orphans of processes
// whose parent is outside the namespace).
bool read_table(Dump& d, ProcTable& pt) {
  if (!pt.p) {
    const size_t start = (d.pool_used + 7) & ~size_t(7);
    const size_t one = kMaxProcs * (sizeof(ProcInfo) + sizeof(uint64_t) + sizeof(bool));
    if (start + 2 * one > kPoolSize) return d.fail("listing the job's processes", -ENOMEM);
    pt.p = reinterpret_cast<ProcInfo*>(d.pool + start);
    pt.prev = pt.p + kMaxProcs;
    pt.ino = reinterpret_cast<uint64_t*>(pt.prev + kMaxProcs);
    pt.prev_ino = pt.ino + kMaxProcs;
    pt.desc = reinterpret_cast<bool*>(pt.prev_ino + kMaxProcs);
    pt.prev_desc = pt.desc + kMaxProcs;
    d.pool_used = start + 2 * one;
    pt.n = 0;
  }
  const size_t nprev = d.pid == 1 ? 0 : pt.n;
  for (size_t i = 0; i < nprev; ++i) pt.prev[i] = pt.p[i], pt.prev_ino[i] = pt.ino[i], pt.prev_desc[i] = pt.desc[i];
  bool parents_kept = true;
  if (!walk_proc(d, pt, nprev, &parents_kept)) return false;
  if (!parents_kept && !walk_proc(d, pt, 0, &parents_kept)) return false;
  mark_descendants(d, pt);
  return true;
}

// A zombie's raw wait status: field 52 (exit_code) of its stat line.
int zombie_status(long pid) {
  char buf[1024];
  const long n = read_proc_stat(pid, buf, sizeof buf);
  if (n <= 0) return 0;
  size_t p = size_t(n);
  while (p > 0 && buf[p - 1] != ')') --p;
  for (int field = 2; field < 52 && p < size_t(n); ++p)  // each blank after ")" starts the next field
    if (buf[p] == ' ') ++field;
  size_t q = p;
  return int(parse_unsigned(buf, size_t(n), &q, 10));
}

void take(Tree& t, Member& m, const ProcInfo& p) {
  m = Member{};
  m.info = p;
  m.sock = m.sock_fd = -1;
  m.zombie = p.state == 'Z' || p.state == 'X';
  if (m.zombie) m.exit_status = zombie_status(p.pid);
  (void)t;
}

// Whether `pid` has ended since the scan (a zombie, or reaped already): its
// memory, and so the library in it, is gone; the next scan takes its status.
bool ended(long pid) {
  char buf[1024];
  ProcInfo p{};
  const long n = read_proc_stat(pid, buf, sizeof buf);
  return n <= 0 || !parse_proc_stat(buf, size_t(n), &p) || p.state == 'Z' || p.state == 'X';
}

// Whether `pid` catches `sig` ("SigCgt:" in its status); false if it is gone.
bool catches(long pid, int sig, bool* gone) {
  char path[64], buf[4096];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "status");
  const long n = read_small_file(AT_FDCWD, path, buf, sizeof buf);
  *gone = n < 0;
  if (n < 0) return false;
  for (size_t i = 0; i < size_t(n);) {
    size_t eol = i;
    while (eol < size_t(n) && buf[eol] != '\n') ++eol;
    if (starts_with(buf + i, eol - i, "SigCgt:")) {
      size_t p = i + 7;
      while (p < eol && (buf[p] == ' ' || buf[p] == '\t')) ++p;
      return (parse_unsigned(buf, eol, &p, 16) >> (sig - 1)) & 1;
    }
    i = eol + 1;
  }
  return false;
}

}  // namespace

int find_member(const Tree& t, long pid) {
  for (size_t i = 0; i < t.n; ++i)
    if (t.m[i].info.pid == pid) return int(i);
  return -1;
}

void name_member(Text& t, const Member& m) {
  t.str("process ").dec(uint64_t(m.info.pid)).str(" (").str(m.info.comm).ch(')');
}

// Refused: one line naming the process (kept in the pool for the status line).
bool refuse_member(Dump& d, const Member& m, const char* why) {
  Text t;
  char* what = d.pool + d.pool_used;
  t.reset(what, kPoolSize - d.pool_used);
  name_member(t, m);
  t.str(" of the job ").str(why);
  if (t.overflow) return d.fail(why, 0);
  d.pool_used += t.len + 1;
  d.refused = true;
  return d.fail(what, 0);
}

namespace {

// This process, the tree's first member (its coordinator).
void take_self(Dump& d, Tree& t) {
  t.n = 0;
  Member& c = t.m[t.n++];
  c = Member{};
  c.info.pid = int32_t(d.pid);
  c.info.ppid = int32_t(d.ppid);
  c.info.pgrp = int32_t(d.pgid);
  c.info.sid = int32_t(d.sid);
  c.info.state = 'R';
  for (size_t i = 0; i + 1 < sizeof c.info.comm && d.comm[i]; ++i) c.info.comm[i] = d.comm[i];
  c.sock = c.sock_fd = -1;
  c.stopped = true;
}

}  // namespace

bool scan_job(Dump& d, Tree& t) {
  t.n = 0;
  t.procs = ProcTable{};
  if (!read_table(d, t.procs) || !refuse_outsiders(d, t.procs)) return false;
  take_self(d, t);
  for (size_t i = 0; i < t.procs.n; ++i) {
    if (!t.procs.desc[i]) continue;
    if (t.n >= kMaxMembers) return d.fail("the job has too many processes", -E2BIG);
    take(t, t.m[t.n++], t.procs.p[i]);
  }
  return true;
}

bool childless(Dump& d) {
  const long dir = sys::openat(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  bool none = true;
  long n;
  while (none && (n = sys::getdents64(int(dir), d.io_buf, kDentsSize)) > 0) {
    for (long at = 0; none && at < n;) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(d.io_buf + at);
      at += de->d_reclen;
      if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
      char path[64], kids[512];
      Text t;
      t.reset(path, sizeof path);
      t.str("/proc/self/task/").str(de->d_name).str("/children");
      // Missing (a kernel without CONFIG_PROC_CHILDREN) or long: not known to be childless.
      const long len = read_small_file(AT_FDCWD, path, kids, sizeof kids);
      for (size_t p = 0; none && len >= 0 && p < size_t(len);) {
        const size_t from = p;
        const long pid = long(parse_unsigned(kids, size_t(len), &p, 10));
        if (p == from) break;
        none = pid == d.writer_pid;  // the previous forked dump's, not the job's
        ++p;
      }
      none = none && len >= 0;
    }
  }
  sys::close(int(dir));
  return none && n == 0;
}

void take_alone(Dump& d, Tree& t) {
  d.pgid = sys::getpgid(0);
  d.sid = sys::getsid(0);
  take_self(d, t);
}

bool refuse_outsiders_now(Dump& d) {
  ProcTable pt{};
  return read_table(d, pt) && refuse_outsiders(d, pt);
}

bool rescan_members(Dump& d, Tree& t, bool* added) {
  *added = false;
  if (!read_table(d, t.procs)) return false;
  for (size_t i = 1; i < t.n; ++i) {  // exits since the last scan
    Member& m = t.m[i];
    if (m.zombie || m.stopped) continue;
    bool found = false;
    for (size_t k = 0; k < t.procs.n && !found; ++k) {
      if (t.procs.p[k].pid != m.info.pid) continue;
      found = true;
      if (t.procs.p[k].state == 'Z' || t.procs.p[k].state == 'X') take(t, m, t.procs.p[k]);
      else m.info = t.procs.p[k];  // an exec changed its comm
    }
    if (found) continue;
    if (m.sock >= 0) sys::close(m.sock);
    t.m[i--] = t.m[--t.n];  // reaped by its parent before that stopped
  }
  for (size_t k = 0; k < t.procs.n; ++k) {
    if (!t.procs.desc[k] || find_member(t, t.procs.p[k].pid) >= 0) continue;
    if (t.n >= kMaxMembers) return d.fail("the job has too many processes", -E2BIG);
    take(t, t.m[t.n++], t.procs.p[k]);
    *added = true;
  }
  return true;
}

bool check_member(Dump& d, Tree& t, Member& m) {
  if (m.zombie || m.signalled) return true;
  const long started = now_ns();
  const char* lib = library_path(d);
  // A vfork child shares its parent's memory until it execs: its image would be its parent's.
  while (m.info.ppid > 0 && sys::kcmp(m.info.pid, m.info.ppid, KCMP_VM, 0, 0) == 0) {
    if (now_ns() - started > kVforkWaitNs || now_ns() > t.deadline_ns)
      return refuse_member(d, m, "is a vfork child that has not exec'd (it shares its parent's memory)");
    sys::nanosleep_ns(1'000'000);
  }
  while (!maps_library(d, m.info.pid, lib)) {
    if (ended(m.info.pid)) return true;
    if (now_ns() - started > kLibraryGraceNs)
      return refuse_member(d, m, "does not carry the checkpoint library (a static program, or started without "
                                 "LD_PRELOAD): the tree cannot be captured whole");
    sys::nanosleep_ns(2'000'000);
  }
  for (;;) {
    bool gone = false;
    if (catches(m.info.pid, d.sig, &gone)) return true;
    if (gone) return true;  // exited: the next scan sees it as a zombie, or not at all
    if (now_ns() > t.deadline_ns)
      return refuse_member(d, m, "does not catch the checkpoint signal (it may be starting up): try again");
    sys::nanosleep_ns(2'000'000);
  }
}

}  // namespace ckptlib
