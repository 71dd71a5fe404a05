// What connects the processes of a tree, seen by the coordinator while every
// member is stopped (their fd tables cannot change): each member's fds from
// /proc/PID/fd (stat through the link: what it points to; fdinfo: its access
// mode), then
//   - pipes: one whose read and write ends are both held in the tree is
//     restorable (each member that reads it saves its queued bytes); one with
//     an end outside the tree is a stdio endpoint at fd 0..2, and refused
//     anywhere else (restored alone, its other end would be gone);
//   - shared_files: fds of different processes that are one open file
//     description (kcmp KCMP_FILE; candidates share device and inode), so
//     restart opens it once (shared offset and flags).
// The protocol's own sockets are left out, as the members' fd tables leave them.
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>

#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

constexpr size_t kDentsSize = 64u << 10;

bool own_socket(const Tree& t, const Member& m, int fd) {
  if (&m != &t.m[0]) return fd == m.sock_fd;
  if (fd == t.listener) return true;
  for (size_t i = 1; i < t.n; ++i)
    if (t.m[i].sock == fd) return true;
  return false;
}

int access_mode(long pid, int fd) {
  char path[64], buf[512];
  Text t;
  t.reset(path, sizeof path);
  proc_path(t, pid, "fdinfo/");
  t.dec(unsigned(fd));
  const long n = read_small_file(AT_FDCWD, path, buf, sizeof buf);
  for (long i = 0; i + 6 < n; ++i) {
    if ((i > 0 && buf[i - 1] != '\n') || !starts_with(buf + i, size_t(n - i), "flags:")) continue;
    size_t p = size_t(i) + 6;
    while (p < size_t(n) && (buf[p] == ' ' || buf[p] == '\t')) ++p;
    return int(parse_unsigned(buf, size_t(n), &p, 8)) & O_ACCMODE;
  }
  return O_RDWR;
}

bool add_ref(Dump& d, Tree& t, const Member& m, int fd) {
  char path[64];
  Text p;
  p.reset(path, sizeof path);
  proc_path(p, m.info.pid, "fd/");
  p.dec(unsigned(fd));
  struct stat st {};
  const long r = sys::stat_path(path, &st);
  if (r == -ENOENT) return true;  // closed before it stopped
  if (r < 0) return d.fail("reading the open files of the job's processes", r);
  if (t.nrefs >= kMaxTreeFds) return d.fail("the job has too many open files", -EMFILE);
  FdRef& f = t.refs[t.nrefs++];
  f = FdRef{m.info.pid, fd, st.st_dev, st.st_ino, st.st_mode, O_RDWR, -1, false};
  if (S_ISFIFO(st.st_mode)) f.acc = access_mode(m.info.pid, fd);
  return true;
}

bool list_fds(Dump& d, Tree& t, const Member& m) {
  char path[64];
  Text p;
  p.reset(path, sizeof path);
  proc_path(p, m.info.pid, "fd");
  const long dir = sys::openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return d.fail("listing the open files of the job's processes", dir);
  long n;
  bool ok = true;
  while (ok && (n = sys::getdents64(int(dir), d.io_buf, kDentsSize)) > 0) {
    for (long at = 0; at < n && ok;) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(d.io_buf + at);
      at += de->d_reclen;
      size_t pos = 0;
      const int fd = int(parse_unsigned(de->d_name, cstr_len(de->d_name), &pos, 10));
      if (pos == 0 || de->d_name[pos]) continue;
      if (&m == &t.m[0] && fd == int(dir)) continue;
      if (!own_socket(t, m, fd)) ok = add_ref(d, t, m, fd);
    }
  }
  sys::close(int(dir));
  return ok;
}

const Member* member_of(const Tree& t, int32_t pid) {
  const int i = find_member(t, pid);
  return i >= 0 ? &t.m[i] : nullptr;
}

// Whether process `pid` has an fd on the pipe (dev, ino). A process whose
// fds we may not read (another user's) is taken not to hold it.
bool holds_pipe(Dump& d, long pid, uint64_t dev, uint64_t ino) {
  char path[64];
  Text p;
  p.reset(path, sizeof path);
  proc_path(p, pid, "fd");
  const long dir = sys::openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  bool found = false;
  long n;
  while (!found && (n = sys::getdents64(int(dir), d.io_buf, kDentsSize)) > 0) {
    for (long at = 0; at < n && !found;) {
      const auto* de = reinterpret_cast<const sys::LinuxDirent64*>(d.io_buf + at);
      at += de->d_reclen;
      if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
      char fd_path[96];
      Text f;
      f.reset(fd_path, sizeof fd_path);
      proc_path(f, pid, "fd/");
      f.str(de->d_name);
      struct stat st {};
      found = sys::stat_path(fd_path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
    }
  }
  sys::close(int(dir));
  return found;
}

// An end the tree lacks may be held by no process at all: closed by everyone
// (xargs's exec-error pipe once its child has exec'd, a pipe to a $(shell)
// that make has finished reading). Such a pipe is restorable with that end
// closed, as it is now. Only for pipes about to be refused: a /proc scan.
bool held_outside(Dump& d, const Tree& t, uint64_t dev, uint64_t ino) {
  for (size_t i = 0; i < t.procs.n; ++i) {
    const long pid = t.procs.p[i].pid;
    if (find_member(t, pid) < 0 && holds_pipe(d, pid, dev, ino)) return true;
  }
  return false;
}

// Pipes: restorable, a stdio endpoint, or refused.
bool sort_pipes(Dump& d, Tree& t) {
  for (size_t i = 0; i < t.nrefs; ++i) {
    const FdRef& f = t.refs[i];
    if (!S_ISFIFO(f.mode)) continue;
    bool first = true, reader = false, writer = false;
    for (size_t j = 0; j < t.nrefs; ++j) {
      const FdRef& g = t.refs[j];
      if (g.dev != f.dev || g.ino != f.ino) continue;
      if (j < i) first = false;
      reader |= g.acc != O_WRONLY;
      writer |= g.acc != O_RDONLY;
    }
    if (!first) continue;
    bool beyond_stdio = false;
    for (size_t j = i; j < t.nrefs && !(reader && writer); ++j)
      beyond_stdio |= t.refs[j].dev == f.dev && t.refs[j].ino == f.ino && t.refs[j].fd > 2;
    if ((reader && writer) || (beyond_stdio && !held_outside(d, t, f.dev, f.ino))) {
      if (t.npipes >= kMaxTreePipes) return d.fail("the job has too many pipes", -EMFILE);
      t.pipes[t.npipes++] = f.ino;
      continue;
    }
    for (size_t j = i; j < t.nrefs; ++j) {
      const FdRef& g = t.refs[j];
      if (g.dev != f.dev || g.ino != f.ino || g.fd <= 2) continue;
      char why[160];
      Text w;
      w.reset(why, sizeof why);
      w.str("has fd ").dec(unsigned(g.fd)).str(", a pipe whose other end is outside the job (only fds 0-2 may be)");
      const char* kept = d.keep(w.data, w.len);
      return refuse_member(d, *member_of(t, g.pid), kept ? kept : "has a pipe whose other end is outside the job");
    }
  }
  return true;
}

// shared_files: one group per open file description held by several processes.
bool group_shared(Dump& d, Tree& t) {
  t.ngroups = 0;
  for (size_t i = 0; i < t.nrefs; ++i) {
    FdRef& f = t.refs[i];
    if (f.group != -1) continue;
    const int32_t group = int32_t(t.ngroups);
    size_t members = 1;
    for (size_t j = i + 1; j < t.nrefs; ++j) {
      FdRef& g = t.refs[j];
      if (g.group != -1 || g.dev != f.dev || g.ino != f.ino) continue;
      const long r = sys::kcmp(f.pid, g.pid, KCMP_FILE, f.fd, g.fd);
      if (r < 0) return d.fail("comparing the open files of the job's processes (kcmp)", r);
      if (r != 0) continue;
      g.group = group;
      bool listed = g.pid != f.pid;  // one fd per process: the others are its dups (dup_of)
      for (size_t k = i + 1; k < j && listed; ++k) listed = !(t.refs[k].group == group && t.refs[k].pid == g.pid);
      g.listed = listed;
      if (listed) ++members;
    }
    if (members < 2) {
      for (size_t j = i + 1; j < t.nrefs; ++j)
        if (t.refs[j].group == group) t.refs[j].group = -2;  // dups inside one process only
      continue;
    }
    f.group = group;
    f.listed = true;
    ++t.ngroups;
  }
  return true;
}

}  // namespace

bool analyse_tree_fds(Dump& d, Tree& t) {
  if (!t.refs) {
    const size_t start = (d.pool_used + 7) & ~size_t(7);
    if (start + kMaxTreeFds * sizeof(FdRef) > kPoolSize) return d.fail("reading the job's open files", -ENOMEM);
    t.refs = reinterpret_cast<FdRef*>(d.pool + start);
    d.pool_used = start + kMaxTreeFds * sizeof(FdRef);
  }
  t.nrefs = 0;
  t.npipes = 0;
  for (size_t k = 0; k < t.n; ++k) {  // in tree order: shared_files list the first holder first
    const Member& m = t.m[t.order[k]];
    if (!m.zombie && !list_fds(d, t, m)) return false;
  }
  return sort_pipes(d, t) && group_shared(d, t);
}

}  // namespace ckptlib
