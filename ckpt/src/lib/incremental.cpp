// Incremental images (CKPT_INCREMENTAL=1). Every image keeps, in its `pages`
// file, the XXH3 of each page of the private memory it holds; the next dump
// writes only the pages whose checksum differs, hashing each page again, or,
// where the kernel tracked the writes (dirty_tracking.cpp), only the pages it
// reports written (docs/image-format.md "Incremental images"). The image's
// manifest names its parent and the checksum of the parent's manifest.
//
// Which image is this process's parent is kept here, in the library's data:
// the image holds it too, so a job restored from ckpt-0005 continues its chain
// on ckpt-0005 whatever else the directory holds. A process of a tree has its
// chain too: its core in tree image K names K-1 as its parent, where the same
// process (by recorded pid) is K-1/proc-PID; which K-1, the coordinator says
// (Dump::tree_parent), and a process new since then is written in full.
#include <fcntl.h>

#include "dump.h"
#include "errtext.h"
#include "hash.h"
#include "sys.h"

namespace ckptlib {

namespace {

constexpr uint64_t kPagesMagic = 0x31304750504b4343ull;  // "CCKPPG01"

struct Lineage {
  char name[32];   // the image this memory was last written to ("" if none)
  uint32_t chain;  // its incremental links since the last full image
  long pid;        // whose memory (a child forked since inherits this, not the chain)
  bool tree;       // name is a tree's image, this process's core in its proc-PID
};
Lineage g_lineage;  // what the memory being dumped descends from
Lineage g_before;   // the value before this dump, for an in-process failure

void say_full(const Dump& d, const char* why, long err) {
  char line[512], errbuf[24];
  Text t;
  t.reset(line, sizeof line);
  t.str("ckpt: checkpoint ").dec(d.seq).str(": parent ").str(g_lineage.name).ch(' ').str(why);
  if (err) t.str(" (").str(errno_text(int(err < 0 ? -err : err), errbuf)).ch(')');
  t.str(": writing a full image\n");
  write_all(2, t.data, t.len);
}

// The parent's `pages`: magic, nranges, npages, ranges, checksums, and the
// XXH3 of all that. False if it is not whole.
bool take_parent_pages(Dump& d, size_t len) {
  const auto* w = reinterpret_cast<const uint64_t*>(d.parent_pages);
  if (len < 32 || len % 8 || w[0] != kPagesMagic) return false;
  const uint64_t nranges = w[1], npages = w[2];
  if (nranges > kMaxMappings || npages > kMaxTrackedPages) return false;
  const size_t expect = 24 + nranges * sizeof(PageRange) + npages * 8 + 8;
  if (len != expect || hash_ops().once(d.parent_pages, len - 8) != w[len / 8 - 1]) return false;
  d.parent_ranges = reinterpret_cast<const PageRange*>(d.parent_pages + 24);
  d.parent_hashes = reinterpret_cast<const uint64_t*>(d.parent_pages + 24 + nranges * sizeof(PageRange));
  for (uint64_t i = 0; i < nranges; ++i) {
    const PageRange& r = d.parent_ranges[i];
    if (r.end <= r.start || (r.end - r.start) % 4096 || r.first + (r.end - r.start) / 4096 > npages ||
        (i && r.start < d.parent_ranges[i - 1].end))
      return false;
  }
  d.parent_nranges = nranges;
  d.parent_cursor = 0;
  return true;
}

}  // namespace

long open_parent_image(const Dump& d, const char* name) {
  const long top = sys::openat(d.dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0 || !d.in_tree) return top;
  char proc[32];
  Text t;
  t.reset(proc, sizeof proc);
  t.str(fmt::kProcDirPrefix).dec(uint64_t(d.pid));
  const long dir = sys::openat(int(top), proc, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  sys::close(int(top));
  return dir;
}

bool tree_parent_usable(const Dump& d) {
  if (!g_lineage.name[0] || !g_lineage.tree || g_lineage.pid != d.pid) return false;
  if (g_lineage.chain + 1 > d.cfg->max_chain) return false;
  const long dir = sys::openat(d.dirfd, g_lineage.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) {
    say_full(d, "is gone", dir);
    return false;
  }
  sys::close(int(dir));
  return true;
}

const char* lineage_image() { return g_lineage.name; }

bool plan_incremental(Dump& d) {
  d.incremental = false;
  d.chain = 0;
  if (!g_lineage.name[0]) return true;  // the job's first image
  // A tree's image is no single process's parent, nor a single one a tree's;
  // in a tree, only the parent the coordinator chose, of this very process.
  if (g_lineage.tree != d.in_tree) return true;
  if (d.in_tree && (g_lineage.pid != d.pid || !cstr_eq(g_lineage.name, d.tree_parent))) return true;
  if (g_lineage.chain + 1 > d.cfg->max_chain) return true;  // the chain is long enough: a full one
  const long dir = open_parent_image(d, g_lineage.name);
  if (dir < 0) {
    // A process of the tree new since the parent image has no core there.
    if (!(d.in_tree && dir == -ENOENT)) say_full(d, "is gone", dir);
    return true;
  }
  // The manifest's checksum goes into ours, so a parent swapped later is refused.
  long n = read_whole(int(dir), fmt::kManifest, d.manifest, kManifestSize, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (n <= 0) {
    say_full(d, "has no readable manifest.json", n < 0 ? n : -ENODATA);
  } else {
    d.parent_manifest_xxh3 = hash_ops().once(d.manifest, size_t(n));
    d.parent_manifest_len = size_t(n);
    n = read_whole(int(dir), "pages", d.parent_pages, kPagesFileMax, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (n < 0) say_full(d, "has no page checksums", n);
    else if (!take_parent_pages(d, size_t(n))) say_full(d, "has a damaged page checksum file", 0);
    else d.incremental = true;
  }
  sys::close(int(dir));
  if (d.incremental) {
    d.chain = g_lineage.chain + 1;
    for (size_t i = 0; i < sizeof d.parent_name; ++i) d.parent_name[i] = g_lineage.name[i];
  }
  return true;
}

// Before the memory is written (it holds this): the memory now descends from
// the image being written.
void lineage_begin(const Dump& d) {
  g_before = g_lineage;
  for (size_t i = 0; i < sizeof g_lineage.name; ++i) g_lineage.name[i] = d.image_name[i];
  g_lineage.chain = d.chain;
  g_lineage.pid = d.pid;
  g_lineage.tree = d.in_tree;
}

// The image was not written (in-process): the old parent is still the parent.
void lineage_abandon() {
  g_lineage = g_before;
  dirty_forget();
}

uint64_t parent_page_hash(Dump& d, uint64_t addr) {
  if (!d.incremental) return 0;
  while (d.parent_cursor < d.parent_nranges && d.parent_ranges[d.parent_cursor].end <= addr) ++d.parent_cursor;
  if (d.parent_cursor == d.parent_nranges) return 0;
  const PageRange& r = d.parent_ranges[d.parent_cursor];
  if (addr < r.start) return 0;
  return d.parent_hashes[r.first + (addr - r.start) / 4096];
}

SyncAfter::~SyncAfter() {
  for (size_t i = 0; i < n; ++i)
    if (fds[i] >= 0) sys::close(fds[i]);
}

long SyncAfter::add(int fd) {
  if (n == sizeof fds / sizeof fds[0]) {  // no room: synced now
    const long r = sys::fsync(fd);
    sys::close(fd);
    return r;
  }
  constexpr unsigned kStartWrite = 2;  // SYNC_FILE_RANGE_WRITE: start writeback, do not wait
  sys::sync_file_range(fd, 0, 0, kStartWrite);
  fds[n++] = fd;
  return 0;
}

long SyncAfter::sync_all() {
  long err = 0;
  for (size_t i = 0; i < n; ++i) {
    const long r = sys::fsync(fds[i]);
    if (r < 0 && !err) err = r;
    sys::close(fds[i]);
    fds[i] = -1;
  }
  n = 0;
  return err;
}

namespace {

// Closes fd, or leaves its fsync to `after` (fsync on); `err` so far.
long finish_small_file(Dump& d, long fd, long err, SyncAfter* after) {
  if (err == 0 && d.cfg->fsync && after) return after->add(int(fd));
  if (err == 0 && d.cfg->fsync) err = sys::fsync(int(fd));
  sys::close(int(fd));
  return err;
}

}  // namespace

// `parent` lets retention keep what a kept image needs, without JSON.
bool write_parent_file(Dump& d, int dir, const char* parent, SyncAfter* after) {
  const long fd = sys::openat(dir, fmt::kParentFile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return d.fail("creating parent", fd);
  char line[40];
  Text t;
  t.reset(line, sizeof line);
  t.str(parent).ch('\n');
  const long r = finish_small_file(d, fd, write_all(int(fd), t.data, t.len), after);
  return r == 0 ? true : d.fail("writing parent", r);
}

bool write_page_hashes(Dump& d, SyncAfter* after) {
  if (!d.cfg->incremental) return true;
  long r;
  if (d.incremental && !write_parent_file(d, d.tmpfd, d.parent_name, after)) return false;
  // Without checksums for all of it, the next dump cannot compare: no file,
  // and the next dump is a full one (and says so).
  if (!d.pages_ok) return true;
  const long fd = sys::openat(d.tmpfd, "pages", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return d.fail("creating pages", fd);
  const HashOps& hash = hash_ops();
  auto* state = static_cast<HashState*>(d.xxh_state);
  hash.reset(state);
  const uint64_t head[3] = {kPagesMagic, d.nranges, d.npages};
  const void* parts[3] = {head, d.ranges, d.page_hashes};
  const size_t sizes[3] = {sizeof head, d.nranges * sizeof(PageRange), d.npages * 8};
  r = 0;
  for (int i = 0; i < 3 && r == 0; ++i) {
    hash.update(state, parts[i], sizes[i]);
    r = write_all(int(fd), parts[i], sizes[i]);
  }
  const uint64_t own = hash.digest(state);
  if (r == 0) r = write_all(int(fd), &own, sizeof own);
  r = finish_small_file(d, fd, r, after);
  if (r < 0) return d.fail("writing pages", r);
  return true;
}

}  // namespace ckptlib
