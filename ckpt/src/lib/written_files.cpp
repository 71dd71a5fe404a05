// The dump's side of the journal of written files (written_files.h): read
// it, copy each file it names that is not copied already, and compact it.
#include <fcntl.h>
#include <sys/stat.h>

#include "dump.h"
#include "sys.h"
#include "written_files.h"

namespace ckptlib {
namespace {

constexpr size_t kSlots = 2 * kMaxWritten;  // open addressing, a power of two
static_assert((kSlots & (kSlots - 1)) == 0);
constexpr uint64_t kMaxJournal = 256ull << 20;  // more is not a journal this library wrote

uint64_t fnv1a(const char* s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ uint8_t(s[i])) * 0x100000001b3ull;
  return h;
}

bool same(const WrittenFile& w, const char* p, size_t n) {
  if (w.path_len != n) return false;
  for (size_t i = 0; i < n; ++i)
    if (w.path[i] != p[i]) return false;
  return true;
}

// The distinct paths of the journal (whose bytes are in `fd`, `size` long) into d.written.
bool read_journal(Dump& d, int fd, uint64_t size) {
  auto* slots = static_cast<uint32_t*>(d.alloc(kSlots * sizeof(uint32_t)));
  d.written = static_cast<WrittenFile*>(d.alloc(kMaxWritten * sizeof(WrittenFile)));
  if (!slots || !d.written) return d.fail("reading the journal of written files", -ENOMEM);
  for (size_t i = 0; i < kSlots; ++i) slots[i] = 0;
  d.nwritten = 0;
  size_t held = 0;  // bytes of an unfinished record at the start of io_buf
  for (uint64_t off = 0; off < size;) {
    long n = sys::pread(fd, d.io_buf + held, kIoBufSize - held, long(off));
    if (n == -EINTR) continue;
    if (n < 0) return d.fail("reading the journal of written files", n);
    if (n == 0) break;  // shorter than it was: what is there is read
    off += uint64_t(n);
    const size_t avail = held + size_t(n);
    size_t start = 0;
    for (size_t i = 0; i < avail; ++i) {
      if (d.io_buf[i] != 0) continue;
      const char* p = d.io_buf + start;
      const size_t len = i - start;
      start = i + 1;
      if (len == 0 || len >= kPathMax || p[0] != '/') continue;  // not a record the library writes
      const uint64_t h = fnv1a(p, len);
      size_t s = size_t(h) & (kSlots - 1);
      while (slots[s] && !same(d.written[slots[s] - 1], p, len)) s = (s + 1) & (kSlots - 1);
      if (slots[s]) continue;
      if (d.nwritten >= kMaxWritten) return d.fail("the job has written more distinct files than a checkpoint copies (8192)", 0);
      WrittenFile& w = d.written[d.nwritten];
      w = WrittenFile{};
      w.path = d.keep(p, len);
      if (!w.path) return d.fail("reading the journal of written files", -ENOMEM);
      w.path_len = uint32_t(len);
      slots[s] = uint32_t(++d.nwritten);
    }
    // A record longer than the buffer is not one the library writes: dropped.
    held = avail - start;
    if (held >= kPathMax) held = 0;
    for (size_t i = 0; i < held; ++i) d.io_buf[i] = d.io_buf[start + i];
  }
  return true;
}

// Copies d.written[i] as files/wr-K, K its place among the copies kept; false
// only on a failure (a file gone, or no longer a regular file, is left out).
bool copy_one(Dump& d, size_t i, size_t* kept) {
  WrittenFile w = d.written[i];
  long src = sys::openat(AT_FDCWD, w.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (src == -ENOENT || src == -ELOOP || src == -ENOTDIR || src == -ENXIO) return true;
  if (src < 0) return d.fail("opening a file the job has written", src);
  struct stat st;
  long r = sys::fstat(int(src), &st);
  bool ok = true;
  if (r < 0) ok = d.fail("opening a file the job has written", r);
  else if (S_ISREG(st.st_mode) && !already_copied(d, st.st_dev, st.st_ino)) {
    char name[32];
    Text t;
    t.reset(name, sizeof name);
    t.str(fmt::kWrittenCopyPrefix + sizeof fmt::kFilesDir).dec(uint64_t(*kept));
    ok = copy_file(d, int(src), w.path, w.path_len, d.filesfd, name, &w.size, &w.xxh3, &w.delta);
    if (ok) d.written[(*kept)++] = w;
  }
  sys::close(int(src));
  return ok;
}

// Rewrites the journal as its distinct records (the job is stopped: no
// process of it appends meanwhile). A failure leaves the old one.
void compact(Dump& d) {
  char tmp[64];
  Text t;
  t.reset(tmp, sizeof tmp);
  t.str(fmt::kWrittenJournal).str(".new");
  long fd = sys::openat(d.dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = true;
  for (size_t i = 0; i < d.nwritten && ok; ++i) ok = write_all(int(fd), d.written[i].path, d.written[i].path_len + 1) == 0;
  sys::close(int(fd));
  if (!ok || sys::renameat(d.dirfd, tmp, d.dirfd, fmt::kWrittenJournal) != 0) sys::unlinkat(d.dirfd, tmp, 0);
}

}  // namespace

bool copy_written_files(Dump& d) {
  d.nwritten = 0;
  long fd = sys::openat(d.dirfd, fmt::kWrittenJournal, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd == -ENOENT) return true;  // nothing written, or not with this library
  if (fd < 0) return d.fail("opening the journal of written files", fd);
  struct stat st;
  long r = sys::fstat(int(fd), &st);
  bool ok = true;
  if (r < 0) ok = d.fail("reading the journal of written files", r);
  else if (!S_ISREG(st.st_mode) || uint64_t(st.st_size) > kMaxJournal)
    ok = d.fail("the journal of written files is not a regular file of at most 256 MiB", 0);
  else ok = read_journal(d, int(fd), uint64_t(st.st_size));
  sys::close(int(fd));
  if (!ok) return false;
  size_t distinct_bytes = 0;
  for (size_t i = 0; i < d.nwritten; ++i) distinct_bytes += d.written[i].path_len + 1;
  // Compacted before the copies drop the files that are gone: their names stay.
  if (uint64_t(st.st_size) > 2 * distinct_bytes + 4096) compact(d);
  const size_t listed = d.nwritten;
  size_t kept = 0;
  for (size_t i = 0; i < listed; ++i)
    if (!copy_one(d, i, &kept)) return false;
  d.nwritten = kept;
  return true;
}

}  // namespace ckptlib
