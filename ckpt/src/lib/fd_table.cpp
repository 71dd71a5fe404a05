// The open file descriptors: number, kind, path, flags, offset (getdents64 on
// /proc/self/fd, then readlink + fstat + fcntl + lseek for each).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

FdKind classify(const struct stat& st) {
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: return FdKind::regular;
    case S_IFDIR: return FdKind::directory;
    case S_IFIFO: return FdKind::pipe;
    case S_IFSOCK: return FdKind::socket;
    case S_IFCHR: {
      const unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
      if (maj == 1 && min == 3) return FdKind::devnull;
      // /dev/ttyN and serial (4), /dev/tty and /dev/console (5:0, 5:1), pseudo-terminals (136-143).
      if (maj == 4 || (maj == 5 && min <= 1) || (maj >= 136 && maj <= 143)) return FdKind::tty;
      return FdKind::chardev;
    }
    default: return FdKind::other;
  }
}

bool describe_fd(Dump& d, int fd) {
  if (d.nfds >= kMaxFds) return d.fail("too many open files", -EMFILE);
  FdEntry& e = d.fds[d.nfds];
  e = FdEntry{};
  e.fd = fd;
  char link[32];
  Text t;
  t.reset(link, sizeof link);
  t.str("/proc/self/fd/").dec(unsigned(fd));
  long n = sys::readlinkat(AT_FDCWD, link, d.io_buf, kPathMax);
  if (n == -ENOENT || n == -EBADF) return true;  // closed meanwhile: not part of the table
  if (n < 0) return d.fail("reading the fd table", n);
  e.path = d.keep(d.io_buf, size_t(n));
  if (!e.path) return d.fail("reading the fd table", -ENOMEM);
  e.path_len = uint32_t(n);
  struct stat st;
  long r = sys::fstat(fd, &st);
  if (r < 0) return d.fail("reading the fd table", r);
  e.kind = classify(st);
  e.dev = st.st_dev;
  e.ino = st.st_ino;
  e.size = e.kind == FdKind::regular ? uint64_t(st.st_size) : 0;
  long fl = sys::fcntl(fd, F_GETFL);
  if (fl < 0) return d.fail("reading the fd table", fl);
  e.flags = int(fl);
  long fdfl = sys::fcntl(fd, F_GETFD);
  e.cloexec = fdfl > 0 && (fdfl & FD_CLOEXEC);
  e.offset = sys::lseek(fd, 0, SEEK_CUR);
  if (e.offset < 0) e.offset = -1;
  ++d.nfds;
  return true;
}

}  // namespace

bool read_fd_table(Dump& d) {
  dirty_settle();
  long dirfd = sys::openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return d.fail("opening /proc/self/fd", dirfd);
  // The names are read completely first: describing an fd must not disturb the listing.
  char* names = d.io_buf + kPathMax + 1;
  const size_t names_cap = kIoBufSize - kPathMax - 1;
  size_t used = 0;
  for (;;) {
    long n = sys::getdents64(int(dirfd), names + used, names_cap - used);
    if (n < 0) {
      sys::close(int(dirfd));
      return d.fail("listing /proc/self/fd", n);
    }
    if (n == 0) break;
    used += size_t(n);
    if (names_cap - used < 4096) {
      sys::close(int(dirfd));
      return d.fail("listing /proc/self/fd", -EMFILE);
    }
  }
  bool ok = true;
  for (size_t pos = 0; pos < used && ok;) {
    const sys::LinuxDirent64* de = reinterpret_cast<const sys::LinuxDirent64*>(names + pos);
    pos += de->d_reclen;
    if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
    size_t p = 0;
    const int fd = int(parse_unsigned(de->d_name, cstr_len(de->d_name), &p, 10));
    if (fd == dirfd || fd == d.skip_fd || dirty_own_fd(fd)) continue;
    ok = describe_fd(d, fd);
  }
  sys::close(int(dirfd));
  return ok;
}

bool refresh_shared_fd_state(Dump& d) {
  for (size_t i = 0; i < d.nfds; ++i) {
    FdEntry& e = d.fds[i];
    struct stat st;
    const long r = sys::fstat(e.fd, &st);
    if (r < 0) return d.fail("reading the fd table again", r);
    if (e.kind == FdKind::regular) e.size = uint64_t(st.st_size);
    const long fl = sys::fcntl(e.fd, F_GETFL);
    if (fl < 0) return d.fail("reading the fd table again", fl);
    e.flags = int(fl);
    e.offset = sys::lseek(e.fd, 0, SEEK_CUR);
    if (e.offset < 0) e.offset = -1;
  }
  return true;
}

}  // namespace ckptlib
