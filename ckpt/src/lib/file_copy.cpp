// Copies into the image: every open regular file (files/fd-N), every file
// behind a MAP_SHARED mapping not already copied (files/map-K), every other
// file the job has written (files/wr-K, written_files.cpp), the executable
// (exe). Each copy is hashed while it is written.
#include <fcntl.h>
#include <sys/stat.h>

#include "hash.h"

#include "dump.h"
#include "sys.h"
#include "copy_reuse.h"
#include "file_delta.h"
#include "written_files.h"

namespace ckptlib {


// Copies src (from offset 0 to EOF) to dst_dir/name, mode 0600, or links the
// parent image's copy of `path` when the bytes are the same (copy_reuse.h);
// in an incremental run, in blocks (file_delta.h).
bool copy_file(Dump& d, int src, const char* path, size_t path_len, int dst_dir, const char* name, uint64_t* size,
               uint64_t* out_hash, const CopyDelta** delta) {
  if (delta) *delta = nullptr;
  const bool in_blocks = d.cfg->incremental && path && delta;
  if (!in_blocks && link_unchanged(d, src, path, path_len, dst_dir, name, size, out_hash)) return true;
  return copy_in_blocks(d, src, path, path_len, dst_dir, name, in_blocks, size, out_hash, delta);
}

bool already_copied(const Dump& d, uint64_t dev, uint64_t ino) {
  for (size_t i = 0; i < d.nfds; ++i)
    if (d.fds[i].kind == FdKind::regular && d.fds[i].dev == dev && d.fds[i].ino == ino) return true;
  for (size_t i = 0; i < d.nshared; ++i)
    if (d.shared[i].dev == dev && d.shared[i].ino == ino) return true;
  return false;
}

namespace {

bool copy_fd(Dump& d, FdEntry& e) {
  char src_path[32], name[32];
  Text t;
  t.reset(src_path, sizeof src_path);
  t.str("/proc/self/fd/").dec(unsigned(e.fd));
  t.reset(name, sizeof name);
  t.str("fd-").dec(unsigned(e.fd));
  // A fresh read-only description of the same file: the job's own offset and
  // access mode (often O_WRONLY) stay untouched.
  long src = sys::openat(AT_FDCWD, src_path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return d.fail("opening an open file for copying", src);
  bool ok = copy_file(d, int(src), e.path, e.path_len, d.filesfd, name, &e.copy_size, &e.xxh3, &e.delta);
  sys::close(int(src));
  return ok;
}

bool copy_shared_mapping(Dump& d, const Mapping& m) {
  // The maps path may be stale (renamed, deleted); map_files names the very inode.
  char path[64];
  Text t;
  t.reset(path, sizeof path);
  t.str("/proc/self/map_files/").raw("", 0);
  {
    char hex[17];
    Text h;
    h.reset(hex, sizeof hex);
    h.hex16(m.start);
    size_t k = 0;
    while (k < 15 && hex[k] == '0') ++k;
    t.str(hex + k).ch('-');
    h.reset(hex, sizeof hex);
    h.hex16(m.end);
    k = 0;
    while (k < 15 && hex[k] == '0') ++k;
    t.str(hex + k);
  }
  long src = sys::openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (src < 0) src = sys::openat(AT_FDCWD, m.path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return d.fail("opening a shared mapped file", src);
  struct stat st;
  long r = sys::fstat(int(src), &st);
  if (r < 0 || !S_ISREG(st.st_mode) || already_copied(d, st.st_dev, st.st_ino)) {
    sys::close(int(src));
    return true;
  }
  if (d.nshared >= kMaxShared) {
    sys::close(int(src));
    return d.fail("too many shared file mappings", -E2BIG);
  }
  SharedFile& s = d.shared[d.nshared];
  s = SharedFile{};
  s.path = m.path;
  s.path_len = m.path_len;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.copy_index = uint32_t(d.nshared);
  char name[32];
  t.reset(name, sizeof name);
  t.str("map-").dec(s.copy_index);
  bool ok = copy_file(d, int(src), s.path, s.path_len, d.filesfd, name, &s.size, &s.xxh3, &s.delta);
  sys::close(int(src));
  if (ok) ++d.nshared;
  return ok;
}

}  // namespace

bool copy_stream(Dump& d, int dst_dir, const char* name, ChunkReader read, void* ctx, uint64_t* size,
                 uint64_t* out_hash) {
  long dst = sys::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (dst < 0) return d.fail("creating file copy", dst);
  const HashOps& hash = hash_ops();
  auto* state = static_cast<HashState*>(d.xxh_state);
  hash.reset(state);
  bool ok = true;
  long r = sys::fchmod(int(dst), 0600);
  if (r < 0) ok = d.fail("creating file copy", r);
  uint64_t off = 0;
  while (ok) {
    long n = read(ctx, d.io_buf, kIoBufSize, off);
    if (n < 0) {
      ok = d.fail("reading an open file", n);
      break;
    }
    if (n == 0) break;
    if ((r = write_all(int(dst), d.io_buf, size_t(n))) < 0) {
      ok = d.fail("writing file copy", r);
      break;
    }
    hash.update(state, d.io_buf, size_t(n));
    off += uint64_t(n);
  }
  // A forked dump's copies are synced by its writer (syncfs), not while the job waits.
  if (ok && d.cfg->fsync && !d.cfg->fork && (r = sys::fsync(int(dst))) < 0) ok = d.fail("syncing file copy", r);
  r = sys::close(int(dst));
  if (ok && r < 0 && r != -EINTR) ok = d.fail("closing file copy", r);
  *size = off;
  *out_hash = hash.digest(state);
  return ok;
}

namespace {

// The executable. A running program's file cannot be written (ETXTBSY), and
// a forked writer's /proc/self/exe is the job's: a forked dump copies it in
// its writer, after the job has resumed (copy_forked_exe).
bool copy_exe(Dump& d) {
  long exe = sys::openat(AT_FDCWD, "/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return d.fail("opening the executable", exe);
  const bool ok = copy_file(d, int(exe), nullptr, 0, d.tmpfd, fmt::kExeCopy, &d.exe_size, &d.exe_xxh3, nullptr);
  sys::close(int(exe));
  return ok;
}

bool copy_all(Dump& d) {
  for (size_t i = 0; i < d.nfds; ++i)
    if (d.fds[i].kind == FdKind::regular && !copy_fd(d, d.fds[i])) return false;
  for (size_t i = 0; i < d.nmaps; ++i) {
    const Mapping& m = d.maps[i];
    if (m.shared && m.kind == MapKind::file && !copy_shared_mapping(d, m)) return false;
  }
  // A tree's coordinator copies the files the whole job wrote, once.
  if (!d.tree_member && !copy_written_files(d)) return false;
  bool ok = d.cfg->fork || copy_exe(d);
  long r;
  if (ok && d.cfg->fsync && !d.cfg->fork && (r = sys::fsync(d.filesfd)) < 0) ok = d.fail("syncing files/", r);
  return ok;
}

}  // namespace

bool copy_files(Dump& d) {
  // An incremental image links what its parent holds unchanged (copy_reuse.h).
  if (d.incremental && d.parent_name[0]) d.parent_dirfd = int(open_parent_image(d, d.parent_name));
  const bool ok = copy_all(d);
  if (d.parent_dirfd >= 0) sys::close(d.parent_dirfd);
  d.parent_dirfd = -1;
  return ok;
}

bool copy_forked_exe(Dump& d) {
  if (d.incremental && d.parent_name[0]) d.parent_dirfd = int(open_parent_image(d, d.parent_name));
  const bool ok = copy_exe(d);
  if (d.parent_dirfd >= 0) sys::close(d.parent_dirfd);
  d.parent_dirfd = -1;
  return ok;
}

}  // namespace ckptlib
