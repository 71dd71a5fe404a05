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
};

// The value of NAME in NUL-separated NAME=VALUE text, or nullptr; *len its length.
const char* env_value(const char* text, size_t n, const char* name, size_t* len) {
  const size_t name_len = cstr_len(name);
  for (size_t at = 0; at < n;) {
    size_t end = at;
    while (end < n && text[end]) ++end;
    if (starts_with(text + at, end - at, name) && end - at > name_len && text[at + name_len] == '=') {
      *len = end - at - name_len - 1;
      return text + at + name_len + 1;
    }
    at = end + 1;
  }
  return nullptr;
}

// True when the image directory process `pid` was started with (its CKPT_DIR,
// as the library resolves it: against its working directory, default
// "ckpt-images") is `dir`, this process's.
bool same_dir(long pid, const char* value, size_t len, const char* dir) {
  if (!value || len == 0) value = fmt::kDefaultDir, len = sizeof fmt::kDefaultDir - 1;
  char path[kPathMax + 64];
  Text t;
  t.reset(path, sizeof path);
  if (value[0] != '/') {
    char link[64];
    Text l;
    l.reset(link, sizeof link);
    proc_path(l, pid, "cwd");
    const long n = sys::readlinkat(AT_FDCWD, link, path, kPathMax);
    if (n <= 0) return false;
    t.len = size_t(n);
    if (t.len > 1) t.ch('/');
  }
  t.raw(value, len);
  while (t.len > 1 && path[t.len - 1] == '/') --t.len;
  path[t.len] = 0;
  return !t.overflow && cstr_eq(path, dir);
}

// Another process of this job: it maps this library and checkpoints into the
// same directory. Unreadable means no (a process of another user cannot be in
// the job), except a mapping list too long to read (a large runtime's), which
// counts: a silent wrong result is worse than a refusal.
bool same_job(Scan& s, long pid) {
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "environ");
  long n = read_small_file(AT_FDCWD, path, s.buf, s.cap);
  if (n < 0) return false;
  size_t len = 0;
  const char* value = env_value(s.buf, size_t(n), fmt::env::kDir, &len);
  if (!same_dir(pid, value, len, s.d.cfg->dir)) return false;
  if (!s.lib) return true;
  t.reset(path, sizeof path);
  proc_path(t, pid, "maps");
  n = read_small_file(AT_FDCWD, path, s.buf, s.cap);
  if (n == -E2BIG) return true;
  return n >= 0 && contains(s.buf, size_t(n), s.lib, cstr_len(s.lib));
}

struct Found {
  Text names;
  size_t count;
};

void name(Found& f, const ProcStat& p, const char* relation) {
  if (f.count++ >= kMaxNamed) return;
  f.names.str(f.count > 1 ? ", " : "").str(relation).ch(' ').dec(uint64_t(p.pid)).str(" (").str(p.comm);
  if (p.state == 'Z') f.names.str(", exited, not reaped");
  f.names.ch(')');
}

void look_at(Scan& s, Found& f, long pid, long my_pgrp, long my_sid) {
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "stat");
  const long n = read_small_file(AT_FDCWD, path, s.buf, s.cap);
  ProcStat p{};
  if (n < 0 || !parse_proc_stat(s.buf, size_t(n), &p)) return;  // gone meanwhile
  p.pid = pid;
  // A previous forked dump's writer and its core writer task are the dump's own.
  if (s.d.writer_pid > 0 && p.ppid == s.d.writer_pid) return;
  if (p.ppid == s.d.pid) return name(f, p, "child");
  if (p.state == 'Z') return;
  // A group or session led from outside our pid namespace reads as 0 for all
  // of its members there: 0 says nothing about who belongs to the job, so a
  // sibling (a pipeline's other stage) is also looked at by its parent.
  const bool near = pid == s.d.ppid || (s.d.ppid > 1 && p.ppid == s.d.ppid) || (my_pgrp > 0 && p.pgrp == my_pgrp) ||
                    (my_sid > 0 && p.session == my_sid);
  if (near && same_job(s, pid)) name(f, p, pid == s.d.ppid ? "parent" : "job member");  // not an image name
}

}  // namespace

bool refuse_process_tree(Dump& d) {
  const long my_pgrp = d.pgid = sys::getpgid(0), my_sid = d.sid = sys::getsid(0);
  Scan s{d, d.io_buf + kDentsSize, kIoBufSize - kDentsSize, library_path(d)};
  char names[512];
  Found f{{}, 0};
  f.names.reset(names, sizeof names);

  const long dir = sys::openat(AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return d.fail("reading /proc", dir);
  long n;
  while ((n = sys::getdents64(int(dir), d.io_buf, kDentsSize)) > 0) {
    for (long at = 0; at < n;) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(d.io_buf + at);
      at += de->d_reclen;
      const char* entry = de->d_name;
      size_t pos = 0;
      const long pid = long(parse_unsigned(entry, cstr_len(entry), &pos, 10));
      if (pos == 0 || entry[pos] || pid == d.pid || pid == d.writer_pid) continue;
      look_at(s, f, pid, my_pgrp, my_sid);
    }
  }
  sys::close(int(dir));
  // Not knowing the job's processes must not pass for knowing there are none.
  if (n < 0) return d.fail("listing /proc for the job's other processes", n);
  if (!f.count) return true;
  if (f.count > kMaxNamed) f.names.str(" and ").dec(f.count - kMaxNamed).str(" more");
  // The names first: the status record (256 bytes) keeps only the start.
  Text why;
  char* what = d.pool + d.pool_used;
  why.reset(what, kPoolSize - d.pool_used);
  why.str("process ").dec(uint64_t(d.pid)).str(" (").str(d.comm).str(") is one of a job of ").dec(f.count + 1);
  why.str(" processes: ").str(names).str("; a process tree is not captured yet (restored alone, it would go on ");
  why.str("without the others)");
  if (why.overflow) return d.fail("the job is more than one process (a process tree is not captured yet)", 0);
  d.pool_used += why.len + 1;
  d.refused = true;
  return d.fail(what, 0);
}

}  // namespace ckptlib
