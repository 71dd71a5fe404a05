// Refusing a dump that would restore to a wrong result without a word: the
// process has children (a shell and its pipeline, make and its jobs, a pool
// and its workers), or it is one member of such a job (its parent, or another
// process of its group or session, runs under the library with the same
// image directory). An image holds one process; restoring it alone would lose
// the others, and the job would go on without them. Until process trees are
// captured whole, such a checkpoint is refused naming the processes.
//
// One scan of /proc (this kernel's /proc/PID/task/TID/children would list
// children only): its stat gives parent, group and session; a candidate member
// is one that maps this library and whose CKPT_DIR is this process's.
#include <fcntl.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

constexpr size_t kDentsSize = 64u << 10;
constexpr size_t kMaxNamed = 6;  // named in the refusal; the rest are counted

struct ProcStat {
  long pid, ppid, pgrp, session;
  char state;
  char comm[32];
};

// Parses /proc/PID/stat: "pid (comm) state ppid pgrp session ...".
bool parse_proc_stat(const char* t, size_t n, ProcStat* s) {
  size_t open = 0, close = n;
  while (open < n && t[open] != '(') ++open;
  while (close > 0 && t[close - 1] != ')') --close;
  if (open >= n || close == 0 || close <= open) return false;
  size_t c = 0;
  for (size_t i = open + 1; i + 1 < close && c + 1 < sizeof s->comm; ++i) s->comm[c++] = t[i];
  s->comm[c] = 0;
  size_t p = close + 1;
  if (p + 1 >= n) return false;
  s->state = t[p];
  p += 2;
  long* fields[] = {&s->ppid, &s->pgrp, &s->session};
  for (long* f : fields) {
    size_t q = p;
    *f = long(parse_unsigned(t, n, &q, 10));
    if (q == p) return false;
    p = q + 1;
  }
  return true;
}

void proc_path(Text& t, long pid, const char* leaf) { t.str("/proc/").dec(uint64_t(pid)).ch('/').str(leaf); }

// True when NUL-separated text holds exactly `entry`.
bool has_entry(const char* text, size_t n, const char* entry, size_t len) {
  for (size_t at = 0; at < n;) {
    size_t end = at;
    while (end < n && text[end]) ++end;
    if (end - at == len) {
      size_t i = 0;
      while (i < len && text[at + i] == entry[i]) ++i;
      if (i == len) return true;
    }
    at = end + 1;
  }
  return false;
}

bool contains(const char* text, size_t n, const char* needle, size_t len) {
  if (len == 0 || len > n) return false;
  for (size_t at = 0; at + len <= n; ++at) {
    size_t i = 0;
    while (i < len && text[at + i] == needle[i]) ++i;
    if (i == len) return true;
  }
  return false;
}

// The path of the file this library was loaded from, as /proc/self/maps says it.
const char* library_path(const Dump& d) {
  const uint64_t self = uint64_t(reinterpret_cast<uintptr_t>(&refuse_process_tree));
  for (size_t i = 0; i < d.nmaps; ++i)
    if (d.maps[i].start <= self && self < d.maps[i].end && d.maps[i].path_len) return d.maps[i].path;
  return nullptr;
}

struct Scan {
  Dump& d;
  char* buf;  // for one /proc file at a time
  size_t cap;
  const char* lib;
  char dir_entry[kPathMax + 16];  // "CKPT_DIR=..." as this process got it
  size_t dir_entry_len;
  Text why;
  size_t found;
};

// Another process of this job: it maps this library, and its CKPT_DIR (as it
// was started) is this process's. Unreadable means no (a process of another
// user cannot be in the job).
bool same_job(Scan& s, long pid) {
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "environ");
  long n = read_small_file(AT_FDCWD, path, s.buf, s.cap);
  if (n < 0) return false;
  if (s.dir_entry_len ? !has_entry(s.buf, size_t(n), s.dir_entry, s.dir_entry_len)
                      : contains(s.buf, size_t(n), "CKPT_DIR=", 9))
    return false;
  if (!s.lib) return true;
  t.reset(path, sizeof path);
  proc_path(t, pid, "maps");
  n = read_small_file(AT_FDCWD, path, s.buf, s.cap);
  return n >= 0 && contains(s.buf, size_t(n), s.lib, cstr_len(s.lib));
}

void name(Scan& s, const ProcStat& p, const char* relation) {
  if (s.found++ >= kMaxNamed) return;
  s.why.str(s.found > 1 ? ", " : "").str(relation).ch(' ').dec(uint64_t(p.pid)).str(" (").str(p.comm);
  if (p.state == 'Z') s.why.str(", exited, not yet reaped");
  s.why.ch(')');
}

void look_at(Scan& s, long pid, long my_pgrp, long my_sid) {
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "stat");
  const long n = read_small_file(AT_FDCWD, path, s.buf, s.cap);
  ProcStat p{};
  if (n < 0 || !parse_proc_stat(s.buf, size_t(n), &p)) return;  // gone meanwhile
  p.pid = pid;
  if (p.ppid == s.d.pid) return name(s, p, "child");
  if (p.state == 'Z') return;
  const bool near = pid == s.d.ppid || p.pgrp == my_pgrp || p.session == my_sid;
  if (near && same_job(s, pid)) name(s, p, pid == s.d.ppid ? "parent" : "job member");
}

}  // namespace

bool refuse_process_tree(Dump& d) {
  const long my_pgrp = d.pgid = sys::getpgid(0), my_sid = d.sid = sys::getsid(0);
  Scan s{d, d.io_buf + kDentsSize, kIoBufSize - kDentsSize, library_path(d), {}, 0, {}, 0};
  Text e;
  e.reset(s.dir_entry, sizeof s.dir_entry);
  if (d.cfg->dir_env[0]) e.str("CKPT_DIR=").str(d.cfg->dir_env);
  s.dir_entry_len = e.overflow ? 0 : e.len;
  char* why = d.pool + d.pool_used;
  const size_t room = kPoolSize - d.pool_used;
  if (room < 512) return d.fail("no room to describe the process tree", -ENOMEM);
  s.why.reset(why, 512);

  const long dir = sys::openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return d.fail("reading /proc", dir);
  for (;;) {
    const long n = sys::getdents64(int(dir), d.io_buf, kDentsSize);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(d.io_buf + at);
      at += de->d_reclen;
      const char* entry = de->d_name;
      size_t pos = 0;
      const long pid = long(parse_unsigned(entry, cstr_len(entry), &pos, 10));
      if (pos == 0 || entry[pos] || pid == d.pid || pid == d.writer_pid) continue;
      look_at(s, pid, my_pgrp, my_sid);
    }
  }
  sys::close(int(dir));
  if (!s.found) return true;
  if (s.found > kMaxNamed) s.why.str(" and ").dec(s.found - kMaxNamed).str(" more");
  d.pool_used += s.why.len + 1;
  Text head;
  char* what = d.pool + d.pool_used;
  head.reset(what, kPoolSize - d.pool_used);
  head.str("process ").dec(uint64_t(d.pid)).str(" (").str(d.comm).str(") is one process of a job of ");
  head.dec(s.found + 1).str(" and a process tree is not captured yet (restored alone, it would go on without ");
  head.str("the others): ").str(why);
  if (head.overflow) return d.fail("the job is more than one process (a process tree is not captured yet)", 0);
  d.pool_used += head.len + 1;
  d.refused = true;
  return d.fail(what, 0);
}

}  // namespace ckptlib
