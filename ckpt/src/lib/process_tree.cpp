// The processes around the one being checkpointed. A checkpoint comes to the
// job's first process (the one `ckptsim run` started): its descendants are
// captured with it as a tree (tree_collect.cpp). A checkpoint sent to another
// process of a job (a pipeline's stage: its parent, or another process of its
// group or session, runs under the library with the same image directory) is
// refused naming them: an image of that part alone would restore without the
// rest, and the job would go on wrong without a word.
//
// A candidate job member is one that maps this library and whose CKPT_DIR is
// this process's.
#include <fcntl.h>

#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

constexpr size_t kDentsSize = 64u << 10;
constexpr size_t kMaxNamed = 6;  // named in the refusal; the rest are counted

// Parses /proc/PID/stat: "pid (comm) state ppid pgrp session ...".
}  // namespace

bool parse_proc_stat(const char* t, size_t n, ProcInfo* s) {
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
  int32_t* fields[] = {&s->ppid, &s->pgrp, &s->sid};
  for (int32_t* f : fields) {
    size_t q = p;
    *f = int32_t(parse_unsigned(t, n, &q, 10));
    if (q == p) return false;
    p = q + 1;
  }
  // starttime, the 22nd field (tty_nr..itrealvalue between may be negative):
  // with the pid, it tells a process from a later one given the same pid.
  for (int skip = 0; skip < 15 && p < n; ++p)
    if (t[p] == ' ') ++skip;
  size_t q = p;
  s->start = parse_unsigned(t, n, &q, 10);
  return true;
}

void proc_path(Text& t, long pid, const char* leaf) { t.str("/proc/").dec(uint64_t(pid)).ch('/').str(leaf); }

long read_proc_stat(long pid, char* buf, size_t cap) {
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "stat");
  return read_small_file(AT_FDCWD, path, buf, cap);
}

namespace {

bool contains(const char* text, size_t n, const char* needle, size_t len) {
  if (len == 0 || len > n) return false;
  for (size_t at = 0; at + len <= n; ++at) {
    size_t i = 0;
    while (i < len && text[at + i] == needle[i]) ++i;
    if (i == len) return true;
  }
  return false;
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

void name(Found& f, const ProcInfo& p, const char* relation) {
  if (f.count++ >= kMaxNamed) return;
  f.names.str(f.count > 1 ? ", " : "").str(relation).ch(' ').dec(uint64_t(p.pid)).str(" (").str(p.comm);
  if (p.state == 'Z') f.names.str(", exited, not reaped");
  f.names.ch(')');
}

// A process of the job that is not one of ours: the parent, or a process of
// our group or session (a pipeline's other stage).
void look_at(Scan& s, Found& f, const ProcInfo& p, long my_pgrp, long my_sid) {
  if (p.state == 'Z') return;
  // A group or session led from outside our pid namespace reads as 0 for all
  // of its members there: 0 says nothing about who belongs to the job, so a
  // sibling (a pipeline's other stage) is also looked at by its parent.
  const bool near = p.pid == s.d.ppid || (s.d.ppid > 1 && p.ppid == s.d.ppid) ||
                    (my_pgrp > 0 && p.pgrp == my_pgrp) || (my_sid > 0 && p.sid == my_sid);
  if (near && same_job(s, p.pid)) name(f, p, p.pid == s.d.ppid ? "parent" : "job member");  // not an image name
}

// The highest ancestor of this process that is of the job (the one to checkpoint), or 0.
long first_of_job(Scan& s, const ProcTable& pt) {
  long top = 0;
  for (long pid = s.d.ppid, depth = 0; pid > 1 && depth < 64; ++depth) {
    if (!same_job(s, pid)) break;
    top = pid;
    long next = 0;
    for (size_t i = 0; i < pt.n && !next; ++i)
      if (pt.p[i].pid == pid) next = pt.p[i].ppid;
    pid = next;
  }
  return top;
}

}  // namespace

namespace {

// A restored process's memory is mapped from its image's core (restart maps
// every segment from it): its maps name IMAGE/.../core, not this library.
bool names_a_core(const char* path, size_t len) {
  const size_t n = cstr_len(fmt::kCore);
  return len > n && path[len - n - 1] == '/' && starts_with(path + len - n, n, fmt::kCore);
}

// The library's own path, remembered the first time it is seen under it: it
// is in the memory an image holds, so a restored job still knows it.
char g_library_path[kPathMax];

bool maps_a_core(const char* maps, size_t n) {
  for (size_t at = 0, line = 0; at <= n; ++at)
    if (at == n || maps[at] == '\n') {
      if (names_a_core(maps + line, at - line)) return true;
      line = at + 1;
    }
  return false;
}

}  // namespace

// The path of the file this library was loaded from, as /proc/self/maps says
// it (or said it, before this process was restored).
const char* library_path(const Dump& d) {
  const uint64_t self = uint64_t(reinterpret_cast<uintptr_t>(&refuse_outsiders));
  for (size_t i = 0; i < d.nmaps; ++i) {
    const auto& m = d.maps[i];
    if (m.start > self || self >= m.end || !m.path_len) continue;
    const bool restored = names_a_core(m.path, m.path_len);
    if (restored && g_library_path[0]) return g_library_path;
    if (!restored && !g_library_path[0] && m.path_len < kPathMax) {
      for (size_t k = 0; k < m.path_len; ++k) g_library_path[k] = m.path[k];
      g_library_path[m.path_len] = 0;
    }
    return m.path;
  }
  return nullptr;
}

// True when process `pid` maps `lib` (also when its mapping list is too long
// to read: a large runtime's, which then answers the signal or times out), or
// was restored from an image (its memory, the library's included, is mapped
// from a core: it carried the library when it was checkpointed).
bool maps_library(Dump& d, long pid, const char* lib) {
  if (!lib) return true;
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "maps");
  char* buf = d.io_buf + kDentsSize;
  const long n = read_small_file(AT_FDCWD, path, buf, kIoBufSize - kDentsSize);
  if (n == -E2BIG) return true;
  return n >= 0 && (contains(buf, size_t(n), lib, cstr_len(lib)) || maps_a_core(buf, size_t(n)));
}

bool refuse_outsiders(Dump& d, const ProcTable& pt) {
  const long my_pgrp = d.pgid = sys::getpgid(0), my_sid = d.sid = sys::getsid(0);
  Scan s{d, d.io_buf + kDentsSize, kIoBufSize - kDentsSize, library_path(d)};
  char names[512];
  Found f{{}, 0};
  f.names.reset(names, sizeof names);
  for (size_t i = 0; i < pt.n; ++i) {
    const ProcInfo& p = pt.p[i];
    if (pt.desc[i] || p.pid == d.pid || dump_writer(d, pt, p)) continue;  // a previous forked dump's writers
    look_at(s, f, p, my_pgrp, my_sid);
  }
  if (!f.count) return true;
  if (f.count > kMaxNamed) f.names.str(" and ").dec(f.count - kMaxNamed).str(" more");
  const long first = first_of_job(s, pt);
  // The names first: the status record (256 bytes) keeps only the start.
  Text why;
  char* what = d.pool + d.pool_used;
  why.reset(what, kPoolSize - d.pool_used);
  why.str("process ").dec(uint64_t(d.pid)).str(" (").str(d.comm).str(") is not the first process of its job: ");
  why.str(names).str("; an image of it alone would restore without the others: checkpoint ");
  if (first > 0) why.str("process ").dec(uint64_t(first)).str(", the job's first process, instead");
  else why.str("the job's first process instead");
  if (why.overflow) return d.fail("the process is not the first of its job", 0);
  d.pool_used += why.len + 1;
  d.refused = true;
  return d.fail(what, 0);
}

}  // namespace ckptlib
