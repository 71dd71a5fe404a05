// Gathering the process's own description from /proc/self and the signal
// context: mappings, mm fields, auxv, argv, comm, exe, cwd and registers.
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/mman.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

MapKind classify(const char* path, uint32_t len, bool shared) {
  if (len == 0) return MapKind::anon;
  if (path[0] != '[') {
    // Shared anonymous memory shows up as a deleted /dev/zero or SysV segment:
    // there is no file to map again, its contents are in the core.
    if (starts_with(path, len, "/dev/zero") || starts_with(path, len, "/SYSV"))
      return shared ? MapKind::anon : MapKind::file;
    return MapKind::file;
  }
  if (cstr_eq(path, "[heap]")) return MapKind::heap;
  if (cstr_eq(path, "[stack]")) return MapKind::stack;
  if (cstr_eq(path, "[vdso]")) return MapKind::vdso;
  if (cstr_eq(path, "[vvar]")) return MapKind::vvar;
  if (cstr_eq(path, "[vvar_vclock]")) return MapKind::vvar_vclock;
  if (cstr_eq(path, "[vsyscall]")) return MapKind::vsyscall;
  if (starts_with(path, len, "[anon:") || starts_with(path, len, "[anon_shmem:")) return MapKind::anon;
  return MapKind::other;
}

bool add_mapping(Dump& d, const Mapping& m) {
  if (m.end <= m.start) return true;
  if (d.nmaps >= kMaxMappings) return d.fail("too many mappings", -E2BIG);
  d.maps[d.nmaps++] = m;
  return true;
}

// One line of /proc/self/maps: "start-end perms offset maj:min inode   path".
bool parse_maps(Dump& d) {
  const char* t = d.maps_text;
  const size_t n = d.maps_len;
  const uint64_t scratch_lo = uint64_t(d.scratch);
  const uint64_t scratch_hi = scratch_lo + d.scratch_size;
  size_t i = 0;
  while (i < n) {
    size_t eol = i;
    while (eol < n && t[eol] != '\n') ++eol;
    Mapping m{};
    size_t p = i;
    m.start = parse_unsigned(t, eol, &p, 16);
    ++p;  // '-'
    m.end = parse_unsigned(t, eol, &p, 16);
    ++p;
    for (int k = 0; k < 4 && p < eol; ++k) m.perms[k] = t[p++];
    m.perms[4] = 0;
    ++p;
    m.file_offset = parse_unsigned(t, eol, &p, 16);
    ++p;
    m.dev_major = uint32_t(parse_unsigned(t, eol, &p, 16));
    ++p;  // ':'
    m.dev_minor = uint32_t(parse_unsigned(t, eol, &p, 16));
    ++p;
    m.inode = parse_unsigned(t, eol, &p, 10);
    while (p < eol && t[p] == ' ') ++p;
    m.path = d.keep(t + p, eol - p);
    if (!m.path) return d.fail("reading /proc/self/maps", -ENOMEM);
    m.path_len = uint32_t(eol - p);
    m.shared = m.perms[3] == 's';
    m.kind = classify(m.path, m.path_len, m.shared);
    const bool readable = m.perms[0] == 'r';
    m.dumped = readable && m.kind != MapKind::vvar && m.kind != MapKind::vvar_vclock &&
               m.kind != MapKind::vsyscall;
    i = eol + 1;

    // Leave this dump's own scratch mapping out (it may have merged with a
    // neighbour, so cut it out of whatever line contains it).
    if (m.end <= scratch_lo || m.start >= scratch_hi) {
      if (!add_mapping(d, m)) return false;
      continue;
    }
    Mapping below = m, above = m;
    below.end = scratch_lo < m.end ? scratch_lo : m.end;
    above.start = scratch_hi > m.start ? scratch_hi : m.start;
    if (m.kind == MapKind::file) above.file_offset += above.start - m.start;
    if (below.start < scratch_lo && !add_mapping(d, below)) return false;
    if (above.end > scratch_hi && !add_mapping(d, above)) return false;
  }
  return true;
}

// /proc/self/stat fields after the comm's closing parenthesis, 1-based as in proc(5).
bool parse_stat(Dump& d) {
  const char* t = d.stat_text;
  const size_t n = d.stat_len;
  size_t p = n;
  while (p > 0 && t[p - 1] != ')') --p;
  if (p == 0) return d.fail("parsing /proc/self/stat", -EINVAL);
  uint64_t field[64] = {};
  int f = 3;
  while (p < n && f < 64) {
    while (p < n && t[p] == ' ') ++p;
    if (p >= n || t[p] == '\n') break;
    if (t[p] == '-') {  // negative fields (nice, ...) are not needed
      while (p < n && t[p] != ' ') ++p;
      ++f;
      continue;
    }
    size_t q = p;
    field[f] = parse_unsigned(t, n, &q, 10);
    p = q;
    while (p < n && t[p] != ' ' && t[p] != '\n') ++p;
    ++f;
  }
  if (f <= 51) return d.fail("parsing /proc/self/stat", -EINVAL);
  d.num_threads = field[20];
  d.mm[0] = field[26];   // start_code
  d.mm[1] = field[27];   // end_code
  d.mm[2] = field[45];   // start_data
  d.mm[3] = field[46];   // end_data
  d.mm[4] = field[47];   // start_brk
  d.mm[5] = uint64_t(sys::brk(nullptr));
  d.mm[6] = field[28];   // start_stack
  d.mm[7] = field[48];   // arg_start
  d.mm[8] = field[49];   // arg_end
  d.mm[9] = field[50];   // env_start
  d.mm[10] = field[51];  // env_end
  return true;
}

const char* read_link(Dump& d, const char* path) {
  char* buf = d.io_buf;
  long n = sys::readlinkat(AT_FDCWD, path, buf, kPathMax);
  if (n < 0) {
    d.fail(path, n);
    return nullptr;
  }
  const char* kept = d.keep(buf, size_t(n));
  if (!kept) d.fail(path, -ENOMEM);
  return kept;
}

}  // namespace

const char* Dump::keep(const char* s, size_t n) {
  if (pool_used + n + 1 > kPoolSize) return nullptr;
  char* out = pool + pool_used;
  for (size_t i = 0; i < n; ++i) out[i] = s[i];
  out[n] = 0;
  pool_used += n + 1;
  return out;
}

void* Dump::alloc(size_t n) {
  const size_t start = (pool_used + 7) & ~size_t(7);
  if (start + n > kPoolSize) return nullptr;
  pool_used = start + n;
  return pool + start;
}

bool map_scratch(Dump& d) {
  const size_t page = 4096;
  size_t off = 0;
  auto take = [&](size_t size, size_t align) {
    off = align_up(off, align);
    size_t at = off;
    off += size;
    return at;
  };
  const size_t io = take(kIoBufSize, page), zero = take(page, page), xxh = take(page, page),
               writer_stack = take(kWriterStackSize, page),
               maps = take(kMapsTextSize, page), pool = take(kPoolSize, page),
               header = take(kHeaderSize, page), manifest = take(kManifestSize, page),
               cmdline = take(kSmallTextSize, page), auxv = take(64 << 10, page),
               stat = take(64 << 10, page), mappings = take(kMaxMappings * sizeof(Mapping), page),
               fds = take(kMaxFds * sizeof(FdEntry), page),
               shared = take(kMaxShared * sizeof(SharedFile), page), bounce = take(kBounceSize, page);
  // Incremental dumps only (only the pages used cost memory).
  const bool inc = d.cfg->incremental;
  const size_t parent_pages = inc ? take(kPagesFileMax, page) : 0,
               ranges = inc ? take(kMaxMappings * sizeof(PageRange), page) : 0,
               hashes = inc ? take(kMaxTrackedPages * 8, page) : 0, runs = inc ? take(kMaxRuns * sizeof(PageRun), page) : 0,
               dirty = inc ? take(kMaxDirtyRegions * sizeof(DirtyRegion), page) : 0;
  d.scratch_size = align_up(off, page);
  long addr = sys::mmap(nullptr, d.scratch_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr < 0 && addr > -4096) {
    d.scratch = nullptr;
    return d.fail("allocating the dump buffers", addr);
  }
  // Different VMA flags keep the kernel from merging it with a job mapping.
  sys::madvise(reinterpret_cast<void*>(addr), d.scratch_size, MADV_DONTDUMP);
  char* base = reinterpret_cast<char*>(addr);
  d.scratch = base;
  d.io_buf = base + io;
  d.zero_page = base + zero;
  d.xxh_state = base + xxh;
  d.writer_stack = base + writer_stack;
  d.writer_stack_size = kWriterStackSize;
  d.maps_text = base + maps;
  d.pool = base + pool;
  d.pool_used = 0;
  d.header = base + header;
  d.manifest = base + manifest;
  d.cmdline = base + cmdline;
  d.auxv = base + auxv;
  d.stat_text = base + stat;
  d.maps = reinterpret_cast<Mapping*>(base + mappings);
  d.fds = reinterpret_cast<FdEntry*>(base + fds);
  d.shared = reinterpret_cast<SharedFile*>(base + shared);
  d.delta_state = base + xxh + 1024;  // a second HashState in the same page
  d.bounce = base + bounce;
  if (inc) {
    d.parent_pages = base + parent_pages;
    d.ranges = reinterpret_cast<PageRange*>(base + ranges);
    d.page_hashes = reinterpret_cast<uint64_t*>(base + hashes);
    d.runs = reinterpret_cast<PageRun*>(base + runs);
    d.dirty = reinterpret_cast<DirtyRegion*>(base + dirty);
  }
  return true;
}

// The io buffer takes every byte of the core: its pages faulted in with one
// call rather than one trap per page (traps are dear in a VM guest). Older
// kernels lack MADV_POPULATE_WRITE (5.14); the traps then happen. Called by
// write_core, not map_scratch: a forked dump's core is written by its writer,
// and filling the buffer while the job was stopped to fork cost 2-6 ms of a
// ~20 ms stop at load 5 (up to 50 ms), for pages that were then the job's,
// copied again (copy-on-write) by the writer's first write to each.
void populate_io_buf(Dump& d) { sys::madvise(d.io_buf, kIoBufSize, MADV_POPULATE_WRITE); }

void unmap_scratch(Dump& d) {
  if (d.scratch) sys::munmap(d.scratch, d.scratch_size);
  d.scratch = nullptr;
}

long read_whole(int dirfd, const char* name, char* buf, size_t cap, int flags) {
  const long fd = sys::openat(dirfd, name, flags);
  if (fd < 0) return fd;
  size_t len = 0;
  long r = 0;
  while (len < cap && (r = sys::read(int(fd), buf + len, cap - len)) != 0) {
    if (r == -EINTR) continue;
    if (r < 0) break;
    len += size_t(r);
  }
  char extra;
  if (r >= 0 && len == cap && sys::read(int(fd), &extra, 1) > 0) r = -E2BIG;
  sys::close(int(fd));
  return r < 0 ? r : long(len);
}

long read_small_file(int dirfd, const char* path, char* buf, size_t cap) {
  // The text, its NUL and one byte to spare: the limit this has always had.
  if (cap < 2) return -E2BIG;
  const long n = read_whole(dirfd, path, buf, cap - 2, O_RDONLY | O_CLOEXEC);
  if (n >= 0) buf[n] = 0;
  return n;
}

long write_all(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n) {
    long w = sys::write(fd, p, n);
    if (w == -EINTR) continue;
    if (w < 0) return w;
    if (w == 0) return -EIO;
    p += w;
    n -= size_t(w);
  }
  return 0;
}

bool read_process(Dump& d) {
  d.pid = sys::getpid();
  d.ppid = sys::getppid();
  int subreaper = 0;
  d.child_subreaper = sys::prctl(PR_GET_CHILD_SUBREAPER, long(&subreaper)) == 0 && subreaper;
  long n = read_small_file(AT_FDCWD, "/proc/self/maps", d.maps_text, kMapsTextSize);
  if (n < 0) return d.fail("reading /proc/self/maps", n);
  d.maps_len = size_t(n);
  if (!parse_maps(d)) return false;

  n = read_small_file(AT_FDCWD, "/proc/self/stat", d.stat_text, 64 << 10);
  if (n < 0) return d.fail("reading /proc/self/stat", n);
  d.stat_len = size_t(n);
  if (!parse_stat(d)) return false;
  // Every thread is parked (threads.cpp): the count cannot change under us,
  // unless the roster missed one, which must not make an image.
  if (d.num_threads != d.roster.count) return d.fail("the threads changed during the checkpoint", -EAGAIN);

  n = read_small_file(AT_FDCWD, "/proc/self/auxv", d.auxv, 64 << 10);
  if (n < 0) return d.fail("reading /proc/self/auxv", n);
  d.auxv_len = size_t(n);
  n = read_small_file(AT_FDCWD, "/proc/self/cmdline", d.cmdline, kSmallTextSize);
  if (n < 0) return d.fail("reading /proc/self/cmdline", n);
  d.cmdline_len = size_t(n);
  n = read_small_file(AT_FDCWD, "/proc/self/comm", d.comm, sizeof d.comm);
  if (n < 0) return d.fail("reading /proc/self/comm", n);
  while (n > 0 && d.comm[n - 1] == '\n') d.comm[--n] = 0;

  d.exe_path = read_link(d, "/proc/self/exe");
  if (!d.exe_path) return false;
  d.cwd = read_link(d, "/proc/self/cwd");
  if (!d.cwd) return false;
  return true;
}

}  // namespace ckptlib
