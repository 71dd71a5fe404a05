// The journal of files the job writes (written_files.h): the interposed
// opens, and what they append. glibc's own opens (fopen's, freopen's) go
// through its internal __open, so the stdio calls are interposed themselves.
// A record is appended once per file and process (a small cache of the files
// this process has noted, dropped when the journal is not the same file any
// more: compacted, or the job restored where the journal was not copied).
// Everything here may run in a vfork child or a signal handler: raw system
// calls, the caller's errno kept, nothing allocated.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "ckpt/image_format.h"
#include "dump.h"
#include "libc_next.h"
#include "sys.h"
#include "written_files.h"

namespace ckptlib::written_files {
namespace {

namespace fmt = ckptsim::image_format;

using OpenFn = int (*)(const char*, int, ...);
using OpenatFn = int (*)(int, const char*, int, ...);
using Open2Fn = int (*)(const char*, int);
using Openat2Fn = int (*)(int, const char*, int);
using CreatFn = int (*)(const char*, mode_t);
using FopenFn = FILE* (*)(const char*, const char*);
using FreopenFn = FILE* (*)(const char*, const char*, FILE*);
using TruncateFn = int (*)(const char*, off_t);
using RenameFn = int (*)(const char*, const char*);
using RenameatFn = int (*)(int, const char*, int, const char*);
using Renameat2Fn = int (*)(int, const char*, int, const char*, unsigned);

OpenFn g_open, g_open64;
OpenatFn g_openat, g_openat64;
Open2Fn g_open_2, g_open64_2;
Openat2Fn g_openat_2, g_openat64_2;
CreatFn g_creat, g_creat64;
FopenFn g_fopen, g_fopen64;
FreopenFn g_freopen, g_freopen64;
TruncateFn g_truncate, g_truncate64;
RenameFn g_rename;
RenameatFn g_renameat;
Renameat2Fn g_renameat2;

char g_dir[kPathMax];       // the checkpoint directory, "" until start
size_t g_dir_len;
char g_journal[kPathMax + 32];

constexpr size_t kSeen = 256;
uint64_t g_seen[kSeen];     // files this process has noted: key(dev, ino), 0 = empty
uint64_t g_seen_journal;    // key of the journal they were noted in

uint64_t key(uint64_t dev, uint64_t ino) {
  uint64_t k = dev * 0x9E3779B97F4A7C15ull ^ (ino + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  return k ? k : 1;
}

// The journal's key, 0 when it does not exist (yet).
uint64_t journal_key() {
  struct stat st;
  return sys::fstatat(AT_FDCWD, g_journal, &st, AT_SYMLINK_NOFOLLOW) == 0 ? key(st.st_dev, st.st_ino) : 0;
}

bool writes(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC); }
bool writes(const char* mode) {
  for (; mode && *mode && *mode != ','; ++mode)
    if (*mode == 'w' || *mode == 'a' || *mode == '+') return true;
  return false;
}

bool skipped_path(const char* p, size_t n) {
  if (n == 0 || p[0] != '/') return true;  // not a path in this file system ("pipe:[..]", "anon_inode:...")
  if (starts_with(p, n, "/proc/") || starts_with(p, n, "/sys/")) return true;
  // The checkpoint directory: images, the status line, the journal itself.
  return n > g_dir_len && starts_with(p, n, g_dir) && p[g_dir_len] == '/';
}

// Appends fd's path unless it is not a regular file with a name, or noted already.
void note_fd(int fd) {
  if (!g_dir[0] || fd < 0) return;
  struct stat st;
  if (sys::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink == 0) return;
  const uint64_t k = key(st.st_dev, st.st_ino);
  const uint64_t jk = journal_key();
  uint64_t* slot = &g_seen[k % kSeen];
  if (jk != 0 && jk == __atomic_load_n(&g_seen_journal, __ATOMIC_RELAXED)) {
    if (__atomic_load_n(slot, __ATOMIC_RELAXED) == k) return;
  } else {
    for (auto& s : g_seen) __atomic_store_n(&s, 0, __ATOMIC_RELAXED);
  }
  char link[32], rec[kPathMax + 1];
  Text t;
  t.reset(link, sizeof link);
  t.str("/proc/self/fd/").dec(unsigned(fd));
  const long n = sys::readlinkat(AT_FDCWD, link, rec, kPathMax);
  if (n <= 0 || n >= long(kPathMax) || skipped_path(rec, size_t(n))) return;
  rec[n] = 0;
  const long j = sys::openat(AT_FDCWD, g_journal, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (j < 0) return;  // the checkpoint will say it cannot read the journal if it matters
  const bool whole = sys::write(int(j), rec, size_t(n) + 1) == n + 1;
  sys::close(int(j));
  if (!whole) return;
  __atomic_store_n(&g_seen_journal, journal_key(), __ATOMIC_RELAXED);
  __atomic_store_n(slot, k, __ATOMIC_RELAXED);
}

int after_open(int fd, int flags) {
  if (fd >= 0 && writes(flags)) {
    const int e = errno;
    note_fd(fd);
    errno = e;
  }
  return fd;
}

FILE* after_fopen(FILE* f, const char* mode) {
  if (f && writes(mode)) {
    const int e = errno;
    note_fd(fileno(f));
    errno = e;
  }
  return f;
}

int after_path(int r, int dirfd, const char* path) {
  if (r == 0) {
    const int e = errno;
    note_path(dirfd, path);
    errno = e;
  }
  return r;
}

mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode_t(va_arg(ap, unsigned)) : 0;
}

}  // namespace

void start(const char* dir) {
  libc_next(&g_open, "open");
  libc_next(&g_open64, "open64");
  libc_next(&g_openat, "openat");
  libc_next(&g_openat64, "openat64");
  libc_next(&g_open_2, "__open_2");
  libc_next(&g_open64_2, "__open64_2");
  libc_next(&g_openat_2, "__openat_2");
  libc_next(&g_openat64_2, "__openat64_2");
  libc_next(&g_creat, "creat");
  libc_next(&g_creat64, "creat64");
  libc_next(&g_fopen, "fopen");
  libc_next(&g_fopen64, "fopen64");
  libc_next(&g_freopen, "freopen");
  libc_next(&g_freopen64, "freopen64");
  libc_next(&g_truncate, "truncate");
  libc_next(&g_truncate64, "truncate64");
  libc_next(&g_rename, "rename");
  libc_next(&g_renameat, "renameat");
  libc_next(&g_renameat2, "renameat2");
  if (!dir) return;
  const size_t n = cstr_len(dir);
  if (n + 1 + sizeof fmt::kWrittenJournal > sizeof g_journal) return;
  Text t;
  t.reset(g_journal, sizeof g_journal);
  t.str(dir).ch('/').str(fmt::kWrittenJournal);
  for (size_t i = 0; i <= n; ++i) g_dir[i] = dir[i];
  g_dir_len = n;
}

void note_open(int fd, int flags) {
  if (writes(flags)) note_fd(fd);
}

void note_path(int dirfd, const char* path) {
  if (!g_dir[0] || !path) return;
  // O_PATH: nothing is opened for reading or writing, a FIFO does not block.
  const long fd = sys::openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  note_fd(int(fd));
  sys::close(int(fd));
}

}  // namespace ckptlib::written_files

using namespace ckptlib;
using namespace ckptlib::written_files;

extern "C" int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  OpenFn fn = libc_next(&g_open, "open");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(path, flags, mode), flags);
}

extern "C" int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  OpenFn fn = libc_next(&g_open64, "open64");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(path, flags, mode), flags);
}

extern "C" int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  OpenatFn fn = libc_next(&g_openat, "openat");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(dirfd, path, flags, mode), flags);
}

extern "C" int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  OpenatFn fn = libc_next(&g_openat64, "openat64");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(dirfd, path, flags, mode), flags);
}

// _FORTIFY_SOURCE's checked opens (a program built with it calls these).
extern "C" int __open_2(const char* path, int flags) {
  Open2Fn fn = libc_next(&g_open_2, "__open_2");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(path, flags), flags);
}

extern "C" int __open64_2(const char* path, int flags) {
  Open2Fn fn = libc_next(&g_open64_2, "__open64_2");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(path, flags), flags);
}

extern "C" int __openat_2(int dirfd, const char* path, int flags) {
  Openat2Fn fn = libc_next(&g_openat_2, "__openat_2");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(dirfd, path, flags), flags);
}

extern "C" int __openat64_2(int dirfd, const char* path, int flags) {
  Openat2Fn fn = libc_next(&g_openat64_2, "__openat64_2");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(dirfd, path, flags), flags);
}

extern "C" int creat(const char* path, mode_t mode) {
  CreatFn fn = libc_next(&g_creat, "creat");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(path, mode), O_WRONLY | O_CREAT | O_TRUNC);
}

extern "C" int creat64(const char* path, mode_t mode) {
  CreatFn fn = libc_next(&g_creat64, "creat64");
  if (!fn) return errno = ENOSYS, -1;
  return after_open(fn(path, mode), O_WRONLY | O_CREAT | O_TRUNC);
}

extern "C" FILE* fopen(const char* path, const char* mode) {
  FopenFn fn = libc_next(&g_fopen, "fopen");
  if (!fn) return errno = ENOSYS, nullptr;
  return after_fopen(fn(path, mode), mode);
}

extern "C" FILE* fopen64(const char* path, const char* mode) {
  FopenFn fn = libc_next(&g_fopen64, "fopen64");
  if (!fn) return errno = ENOSYS, nullptr;
  return after_fopen(fn(path, mode), mode);
}

extern "C" FILE* freopen(const char* path, const char* mode, FILE* stream) {
  FreopenFn fn = libc_next(&g_freopen, "freopen");
  if (!fn) return errno = ENOSYS, nullptr;
  return after_fopen(fn(path, mode, stream), mode);
}

extern "C" FILE* freopen64(const char* path, const char* mode, FILE* stream) {
  FreopenFn fn = libc_next(&g_freopen64, "freopen64");
  if (!fn) return errno = ENOSYS, nullptr;
  return after_fopen(fn(path, mode, stream), mode);
}

extern "C" int truncate(const char* path, off_t len) {
  TruncateFn fn = libc_next(&g_truncate, "truncate");
  if (!fn) return errno = ENOSYS, -1;
  return after_path(fn(path, len), AT_FDCWD, path);
}

extern "C" int truncate64(const char* path, off_t len) {
  TruncateFn fn = libc_next(&g_truncate64, "truncate64");
  if (!fn) return errno = ENOSYS, -1;
  return after_path(fn(path, len), AT_FDCWD, path);
}

// A file renamed onto a name (write a temporary, then rename it over the
// result) replaces what that name held: the name is noted once it does.
extern "C" int rename(const char* from, const char* to) {
  RenameFn fn = libc_next(&g_rename, "rename");
  if (!fn) return errno = ENOSYS, -1;
  return after_path(fn(from, to), AT_FDCWD, to);
}

extern "C" int renameat(int fromdir, const char* from, int todir, const char* to) {
  RenameatFn fn = libc_next(&g_renameat, "renameat");
  if (!fn) return errno = ENOSYS, -1;
  return after_path(fn(fromdir, from, todir, to), todir, to);
}

extern "C" int renameat2(int fromdir, const char* from, int todir, const char* to, unsigned flags) {
  Renameat2Fn fn = libc_next(&g_renameat2, "renameat2");
  if (!fn) return errno = ENOSYS, -1;
  return after_path(fn(fromdir, from, todir, to, flags), todir, to);
}
