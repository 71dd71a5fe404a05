// Dirty pages from the kernel (CKPT_DIRTY=auto|kernel|checksum). Every
// tracked mapping is registered on one userfaultfd of the library's in
// write-protect mode with UFFD_FEATURE_WP_ASYNC: a write to a protected page
// is resolved by the kernel itself (no fault reaches us, nothing reads the
// fd) and only drops the page's protection. At the next dump, PAGEMAP_SCAN
// with PM_SCAN_WP_MATCHING lists the pages that lost it and protects them
// again in the same walk, so nothing written between the list and the re-arm
// is lost. Both happen before this dump copies a byte of memory (threads
// stopped; a forked writer copies later still), so an unlisted page holds
// what this image holds.
//
// The kernel's answer is used only where it is about the parent image: the
// parent is the image this process armed at last (not a restored process,
// whose mappings are new and unregistered; not after a failed dump), the
// mapping has the extent it was armed with, and the kernel confirms it is
// still registered (PM_SCAN_CHECK_WPASYNC fails on a mapping that was
// replaced in place). Anything else is checksummed (segment_writer.cpp).
// Only anonymous memory: a private file mapping's page dropped by
// MADV_DONTNEED reverts to the file without a write the kernel would report.
#include "dirty_tracking.h"

#include <fcntl.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

// Not in Debian 12's 6.1 headers (PAGEMAP_SCAN and WP_ASYNC came in 6.7).
constexpr unsigned long iowr(unsigned type, unsigned nr, unsigned long size) {
  return (3ul << 30) | (size << 16) | (type << 8) | nr;
}
struct UffdRange { uint64_t start, len; };
struct UffdApi { uint64_t api, features, ioctls; };
struct UffdRegister { UffdRange range; uint64_t mode, ioctls; };
struct UffdWriteProtect { UffdRange range; uint64_t mode; };
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
constexpr uint64_t kUffdApi = 0xAA;
// WP_UNPOPULATED: without it the scan does not count an anonymous mapping as
// protected at all (the kernel's userfaultfd_wp_use_markers).
constexpr uint64_t kFeatureWpAsync = 1ull << 15, kFeatureWpUnpopulated = 1ull << 13;
constexpr unsigned long kUffdioApi = iowr(0xAA, 0x3F, sizeof(UffdApi));
constexpr unsigned long kUffdioRegister = iowr(0xAA, 0x00, sizeof(UffdRegister));
constexpr unsigned long kUffdioWriteProtect = iowr(0xAA, 0x06, sizeof(UffdWriteProtect));
constexpr uint64_t kRegisterModeWp = 1u << 1, kWriteProtectModeWp = 1u << 0;
constexpr unsigned long kPagemapScan = iowr('f', 16, sizeof(PmScanArg));
constexpr uint64_t kScanWpMatching = 1u << 0, kScanCheckWpAsync = 1u << 1;
constexpr uint64_t kPageIsWritten = 1u << 1;
constexpr long kUserModeOnly = 1;  // UFFD_USER_MODE_ONLY: allowed without privilege

struct Armed {
  uint64_t start, end;
};
constexpr size_t kMaxArmed = 8192;  // more mappings than this: the rest are checksummed

// In the library's data (plain, zero-initialised: see Config). A restored
// process gets these bytes back but none of the kernel state they describe:
// `pid` and the fd's identity (dirty_settle) tell.
struct Tracking {
  bool have_fd;
  int fd;
  long pid;         // the process that opened fd
  bool unusable;    // the kernel cannot: checksums from now on (said once)
  char image[32];   // the image the armed extents were armed at ("" none)
  size_t narmed;
  Armed armed[kMaxArmed];
};
Tracking g_track;

void say_unusable(const Dump& d, const char* what, long err) {
  g_track.unusable = true;
  if (d.cfg->dirty != DirtyMode::kernel) return;  // auto falls back without a word
  char line[256];
  Text t;
  t.reset(line, sizeof line);
  t.str("ckpt: CKPT_DIRTY=kernel: ").str(what).str(" failed (errno ").dec(uint64_t(-err));
  t.str("): changed pages found by checksums\n");
  write_all(2, t.data, t.len);
}

bool open_uffd(const Dump& d) {
  if (g_track.have_fd) return true;
  const long fd = sys::call6(SYS_userfaultfd, kUserModeOnly | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    say_unusable(d, "userfaultfd", fd);
    return false;
  }
  UffdApi api{kUffdApi, kFeatureWpAsync | kFeatureWpUnpopulated, 0};
  const long r = sys::ioctl(int(fd), kUffdioApi, &api);
  if (r < 0) {
    sys::close(int(fd));
    say_unusable(d, "UFFDIO_API with WP_ASYNC", r);
    return false;
  }
  g_track.have_fd = true;
  g_track.fd = int(fd);
  g_track.pid = sys::getpid();
  return true;
}

bool trackable(const Mapping& m) {
  return m.dumped && !m.shared && m.perms[0] == 'r' && (m.kind == MapKind::anon || m.kind == MapKind::heap);
}

bool was_armed(const Mapping& m) {
  for (size_t i = 0; i < g_track.narmed; ++i)
    if (g_track.armed[i].start == m.start && g_track.armed[i].end == m.end) return true;
  return false;
}

// The written pages of m into d.dirty, protected again as they are listed.
// 0, or -EPERM (not registered with us any more), -ENOSPC, another -errno.
long scan(Dump& d, int pagemap, const Mapping& m) {
  PmScanArg a{};
  a.size = sizeof a;
  a.flags = kScanWpMatching | kScanCheckWpAsync;
  a.category_mask = a.return_mask = kPageIsWritten;
  for (uint64_t at = m.start; at < m.end;) {
    if (d.ndirty == kMaxDirtyRegions) return -ENOSPC;
    a.start = at;
    a.end = m.end;
    a.vec = uint64_t(d.dirty + d.ndirty);
    a.vec_len = kMaxDirtyRegions - d.ndirty;
    const long n = sys::ioctl(pagemap, kPagemapScan, &a);
    if (n < 0) return n;
    d.ndirty += size_t(n);
    if (a.walk_end <= at) return -EIO;
    at = a.walk_end;
  }
  return 0;
}

// Registers m (again, if a scan could not vouch for it) and protects it all.
bool arm(const Mapping& m) {
  const uint64_t len = m.end - m.start;
  UffdRegister reg{{m.start, len}, kRegisterModeWp, 0};
  long r = sys::ioctl(g_track.fd, kUffdioRegister, &reg);
  if (r < 0) return false;
  UffdWriteProtect wp{{m.start, len}, kWriteProtectModeWp};
  r = sys::ioctl(g_track.fd, kUffdioWriteProtect, &wp);
  return r == 0;
}

}  // namespace

void dirty_settle() {
  if (!g_track.have_fd) return;
  const long pid = sys::getpid();
  if (pid == g_track.pid) {
    // The same process, unless it is a restored one that got the pid back:
    // then the number is not ours (the image never holds our fd).
    char link[40], target[32];
    Text t;
    t.reset(link, sizeof link);
    t.str("/proc/self/fd/").dec(unsigned(g_track.fd));
    const long n = sys::readlinkat(AT_FDCWD, link, target, sizeof target);
    const char want[] = "anon_inode:[userfaultfd]";
    if (n == long(sizeof want - 1) && __builtin_memcmp(target, want, size_t(n)) == 0) return;
  } else if (sys::kcmp(pid, g_track.pid, 0 /* KCMP_FILE */, g_track.fd, g_track.fd) == 0) {
    // A descendant made without fork(3) (whose handler closes it): its copy
    // of the armed process's fd, never the job's.
    sys::close(g_track.fd);
  }
  // Otherwise a restored process: the number may be a job's fd by now; leave it.
  g_track.have_fd = false;
  g_track.narmed = 0;
  g_track.image[0] = 0;
}

void dirty_after_fork() {
  if (g_track.have_fd) sys::close(g_track.fd);
  g_track.have_fd = false;
  g_track.narmed = 0;
  g_track.image[0] = 0;
}

bool dirty_own_fd(int fd) { return g_track.have_fd && fd == g_track.fd; }

void dirty_forget() { g_track.image[0] = 0; }

bool dirty_page_written(Dump& d, uint64_t addr) {
  while (d.dirty_cursor < d.ndirty && d.dirty[d.dirty_cursor].end <= addr) ++d.dirty_cursor;
  return d.dirty_cursor < d.ndirty && d.dirty[d.dirty_cursor].start <= addr;
}

const char* dirty_method(const Dump& d) { return d.dirty_kernel ? "kernel" : "checksums"; }

void dirty_prepare(Dump& d) {
  for (size_t i = 0; i < d.nmaps; ++i) d.maps[i].dirty_known = false;
  d.ndirty = d.dirty_cursor = 0;
  d.dirty_kernel = false;
  if (d.cfg->dirty == DirtyMode::checksum || g_track.unusable || !open_uffd(d)) return;
  // The kernel's list is about the parent only if we armed at the parent.
  bool usable = d.incremental && g_track.image[0] && g_track.pid == sys::getpid();
  for (size_t i = 0; usable && i < sizeof g_track.image && g_track.image[i]; ++i)
    usable = g_track.image[i] == d.parent_name[i];
  const long pagemap = sys::openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  size_t narmed = 0;
  for (size_t i = 0; i < d.nmaps; ++i) {
    Mapping& m = d.maps[i];
    if (!trackable(m)) continue;
    bool protected_now = false;
    if (pagemap >= 0 && g_track.narmed && was_armed(m)) {
      const size_t before = d.ndirty;
      const long r = scan(d, int(pagemap), m);
      if (r == -ENOTTY || r == -EINVAL) {  // no PAGEMAP_SCAN in this kernel
        say_unusable(d, "PAGEMAP_SCAN", r);
        break;
      }
      protected_now = r == 0;
      m.dirty_known = usable && protected_now;
      if (!m.dirty_known) d.ndirty = before;  // a stale list: the scan only re-armed
    }
    if (!protected_now && !arm(m)) continue;  // not armed: checksummed next time too
    if (narmed < kMaxArmed) g_track.armed[narmed++] = Armed{m.start, m.end};
    d.dirty_kernel = d.dirty_kernel || m.dirty_known;
  }
  if (pagemap >= 0) sys::close(int(pagemap));
  g_track.narmed = g_track.unusable ? 0 : narmed;
  for (size_t i = 0; i < sizeof g_track.image; ++i) g_track.image[i] = g_track.unusable ? 0 : d.image_name[i];
}

}  // namespace ckptlib
