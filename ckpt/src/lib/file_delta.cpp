// File copies in blocks: whole, reflinked, or the ranges changed since the
// parent image's copy (file_delta.h).
#include "file_delta.h"

#include <fcntl.h>
#include <linux/fs.h>  // FICLONE
#include <sys/stat.h>

#include "copy_reuse.h"
#include "dump.h"
#include "hash.h"
#include "sys.h"

namespace ckptlib {
namespace {

constexpr uint64_t kBlock = 64u << 10;
static_assert(kIoBufSize % kBlock == 0, "a chunk read is whole blocks");
constexpr uint64_t kSumsMagic = 0x31534b434f4c4243ull;  // "CBLOCKS1"
constexpr size_t kSumsWindow = 4096;                    // checksums read or written at a time
constexpr uint32_t kMaxRanges = 4096;                   // past that, the gaps between are copied too
constexpr size_t kScratchWords = 2 * kSumsWindow + 2 * kMaxRanges + kBlock / 8;

// files/NAME.blocks: this header, then `count` XXH3s, one per block.
struct SumsHeader {
  uint64_t magic, block, size, xxh3, count;
};

uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
uint64_t blocks_of(uint64_t size) { return (size + kBlock - 1) / kBlock; }

// Reads up to n bytes at off, short only at the end of the file; or -errno.
long pread_full(int fd, void* buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    long r = sys::pread(fd, static_cast<char*>(buf) + done, n - done, long(off + done));
    if (r == -EINTR) continue;
    if (r < 0) return r;
    if (r == 0) break;
    done += size_t(r);
  }
  return long(done);
}

bool sums_name(char* out, size_t cap, const char* name) {
  Text t;
  t.reset(out, cap);
  t.str(name).str(fmt::kBlockSumsSuffix);
  return !t.overflow;
}

// The parent copy's block checksums, read a window at a time.
struct ParentSums {
  int fd = -1;
  uint64_t size = 0, count = 0;
  uint64_t* window = nullptr;
  uint64_t first = 0, held = 0;
  ParentSums() = default;
  ParentSums(const ParentSums&) = delete;
  ParentSums& operator=(const ParentSums&) = delete;
  ~ParentSums() {
    if (fd >= 0) sys::close(fd);
  }
  bool at(uint64_t i, uint64_t* out) {
    if (i < first || i >= first + held) {
      first = i;
      const uint64_t want = min64(kSumsWindow, count - i);
      held = pread_full(fd, window, want * 8, sizeof(SumsHeader) + i * 8) == long(want * 8) ? want : 0;
      if (!held) return false;
    }
    *out = window[i - first];
    return true;
  }
};

// Opens the parent's checksums of pc when they describe that very content.
bool open_parent_sums(Dump& d, const ParentCopy& pc, ParentSums* ps) {
  char name[96];
  if (!sums_name(name, sizeof name, pc.name)) return false;
  const long fd = sys::openat(d.parent_dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  ps->fd = int(fd);
  struct stat st;
  SumsHeader h;
  if (sys::fstat(ps->fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (pread_full(ps->fd, &h, sizeof h, 0) != long(sizeof h)) return false;
  if (h.magic != kSumsMagic || h.block != kBlock || h.size != pc.size || h.xxh3 != pc.xxh3 ||
      h.count != blocks_of(h.size) || uint64_t(st.st_size) != sizeof h + h.count * 8)
    return false;
  ps->size = h.size;
  ps->count = h.count;
  return true;
}

// This copy's checksums, written as the blocks are read; the header last.
struct SumsOut {
  int fd = -1;
  uint64_t* buf = nullptr;
  size_t held = 0;
  long err = 0;
  SumsOut() = default;
  SumsOut(const SumsOut&) = delete;
  SumsOut& operator=(const SumsOut&) = delete;
  ~SumsOut() {
    if (fd >= 0) sys::close(fd);
  }
  void add(uint64_t h) {
    buf[held++] = h;
    if (held == kSumsWindow) flush();
  }
  void flush() {
    if (!err && held) err = write_all(fd, buf, held * 8);
    held = 0;
  }
};

// The copy being written, and in a delta the ranges it holds.
struct Out {
  Dump& d;
  int src, dst;
  uint64_t* ranges;  // pairs
  uint32_t nranges = 0;
  uint64_t bytes = 0;
  char* gap_buf;
  HashState* delta_state;

  // The changed block [off, off + len) whose bytes are p: appended to the copy.
  long add_changed(uint64_t off, const char* p, uint64_t len) {
    const HashOps& hash = hash_ops();
    uint64_t* last = nranges ? ranges + 2 * (nranges - 1) : nullptr;
    if (last && last[0] + last[1] != off && nranges == kMaxRanges) {
      // No room for another range: the unchanged bytes between are copied too.
      for (uint64_t at = last[0] + last[1]; at < off;) {
        const long n = pread_full(src, gap_buf, size_t(min64(kBlock, off - at)), at);
        if (n <= 0) return n < 0 ? n : -EIO;
        const long r = write_all(dst, gap_buf, size_t(n));
        if (r < 0) return r;
        hash.update(delta_state, gap_buf, size_t(n));
        bytes += uint64_t(n);
        last[1] += uint64_t(n);
        at += uint64_t(n);
      }
    }
    if (last && last[0] + last[1] == off) {
      last[1] += len;
    } else {
      ranges[2 * nranges] = off;
      ranges[2 * nranges + 1] = len;
      ++nranges;
    }
    const long r = write_all(dst, p, size_t(len));
    if (r < 0) return r;
    hash.update(delta_state, p, size_t(len));
    bytes += len;
    return 0;
  }
};

// dst_dir/name becomes a link to the parent's copy, each in one rename; its
// checksums too (those written here describe the same bytes: kept if not).
bool link_over(Dump& d, const char* from, int dst_dir, const char* name) {
  char tmp[112];
  Text t;
  t.reset(tmp, sizeof tmp);
  t.str(name).str(".link");
  if (t.overflow || sys::linkat(d.parent_dirfd, from, dst_dir, tmp, 0) != 0) return false;
  if (sys::renameat(dst_dir, tmp, dst_dir, name) == 0) return true;
  sys::unlinkat(dst_dir, tmp, 0);
  return false;
}

bool relink_parent(Dump& d, const ParentCopy& pc, int dst_dir, const char* name, bool* sums_linked) {
  *sums_linked = false;
  if (!link_over(d, pc.name, dst_dir, name)) return false;
  char from[96], to[96];
  *sums_linked = sums_name(from, sizeof from, pc.name) && sums_name(to, sizeof to, name) &&
                 link_over(d, from, dst_dir, to);
  return true;
}

// The delta's record, in the pool; nullptr when the pool is full.
const CopyDelta* keep_delta(Dump& d, const ParentCopy& pc, const Out& out, uint64_t delta_xxh3) {
  auto* cd = static_cast<CopyDelta*>(d.alloc(sizeof(CopyDelta)));
  auto* ranges = static_cast<uint64_t*>(d.alloc(2 * out.nranges * sizeof(uint64_t) + 8));
  if (!cd || !ranges) return nullptr;
  for (size_t i = 0; i < sizeof cd->parent_copy; ++i) cd->parent_copy[i] = pc.name[i];
  cd->parent_size = pc.size;
  cd->parent_xxh3 = pc.xxh3;
  cd->bytes = out.bytes;
  cd->xxh3 = delta_xxh3;
  for (uint32_t i = 0; i < 2 * out.nranges; ++i) ranges[i] = out.ranges[i];
  cd->ranges = ranges;
  cd->nranges = out.nranges;
  return cd;
}

}  // namespace

bool copy_in_blocks(Dump& d, int src, const char* path, size_t path_len, int dst_dir, const char* name,
                    bool incremental, uint64_t* size, uint64_t* out_hash, const CopyDelta** delta) {
  if (delta) *delta = nullptr;
  ParentCopy pc;
  ParentSums parent;
  bool against_parent = false;
  if (incremental) {
    if (!d.block_scratch) d.block_scratch = static_cast<uint64_t*>(d.alloc(kScratchWords * sizeof(uint64_t)));
    if (!d.block_scratch) return d.fail("copying a file in blocks", -ENOMEM);
    parent.window = d.block_scratch;
    against_parent = d.incremental && d.parent_dirfd >= 0 && d.parent_manifest_len && path && delta &&
                     find_parent_copy(d, path, path_len, &pc) && open_parent_sums(d, pc, &parent);
    // A parent copy without checksums (an older image's) may still be the same bytes.
    if (!against_parent && link_unchanged(d, src, path, path_len, dst_dir, name, size, out_hash)) return true;
  }
  const long dst = sys::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (dst < 0) return d.fail("creating file copy", dst);
  uint64_t* scratch = d.block_scratch;  // null unless incremental (no ranges then)
  Out out{d, src, int(dst), scratch ? scratch + 2 * kSumsWindow : nullptr, 0, 0,
          scratch ? reinterpret_cast<char*>(scratch + 2 * kSumsWindow + 2 * kMaxRanges) : nullptr,
          static_cast<HashState*>(d.delta_state)};
  SumsOut sums;
  bool ok = true;
  long r = sys::fchmod(int(dst), 0600);
  if (r < 0) ok = d.fail("creating file copy", r);
  char sums_file[96];
  if (ok && incremental) {
    sums.buf = d.block_scratch + kSumsWindow;
    const SumsHeader blank{};
    const long fd = sums_name(sums_file, sizeof sums_file, name)
                        ? sys::openat(dst_dir, sums_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                        : -ENAMETOOLONG;
    if (fd < 0) ok = d.fail("creating a copy's block checksums", fd);
    if (ok) sums.fd = int(fd);
    if (ok && (r = write_all(sums.fd, &blank, sizeof blank)) < 0) ok = d.fail("writing a copy's block checksums", r);
  }
  // A whole copy is first tried as a clone; most file systems say EOPNOTSUPP
  // (ext4), EXDEV (another one) or EINVAL, and any refusal falls back to writing.
  const bool cloned = ok && !against_parent && sys::ioctl(int(dst), FICLONE, reinterpret_cast<void*>(long(src))) == 0;
  const HashOps& hash = hash_ops();
  auto* whole = static_cast<HashState*>(d.xxh_state);
  hash.reset(whole);
  hash.reset(out.delta_state);
  uint64_t off = 0;
  while (ok) {
    const long n = pread_full(src, d.io_buf, kIoBufSize, off);
    if (n < 0) {
      ok = d.fail("reading an open file", n);
      break;
    }
    if (n == 0) break;
    hash.update(whole, d.io_buf, size_t(n));
    if (!against_parent && !cloned && (r = write_all(int(dst), d.io_buf, size_t(n))) < 0) {
      ok = d.fail("writing file copy", r);
      break;
    }
    for (uint64_t b = 0; incremental && ok && b < uint64_t(n); b += kBlock) {
      const uint64_t len = min64(kBlock, uint64_t(n) - b);
      const uint64_t h = hash.once(d.io_buf + b, size_t(len));
      sums.add(h);
      if (!against_parent) continue;
      const uint64_t i = (off + b) / kBlock;
      bool changed = true;
      uint64_t ph = 0;
      if (i < parent.count) {
        if (!parent.at(i, &ph)) {
          ok = d.fail("reading the parent image's block checksums", -EIO);
          break;
        }
        changed = ph != h || min64(kBlock, parent.size - i * kBlock) != len;
      }
      if (changed && (r = out.add_changed(off + b, d.io_buf + b, len)) < 0) ok = d.fail("writing file copy", r);
    }
    off += uint64_t(n);
    if (uint64_t(n) < kIoBufSize) break;
  }
  *size = off;
  *out_hash = hash.digest(whole);
  if (ok && incremental) {
    sums.flush();
    const SumsHeader head{kSumsMagic, kBlock, off, *out_hash, blocks_of(off)};
    if (!sums.err) sums.err = sys::pwrite(sums.fd, &head, sizeof head, 0) == long(sizeof head) ? 0 : -EIO;
    if (sums.err) ok = d.fail("writing a copy's block checksums", sums.err);
  }
  // Nothing changed in a whole copy: the parent's file is this one's too,
  // linked over what was written here before anything is synced. The parent's
  // files were synced when it was committed, and the links are entries of
  // files/, synced before this image is; the copies they replace are never
  // read. In-process, that is two fsyncs less per unchanged file while the job
  // is stopped (a job's written files pile up: each is copied at every dump).
  const bool sync = d.cfg->fsync && !d.cfg->fork;
  bool relinked = false, sums_relinked = false;
  if (ok && against_parent && out.nranges == 0 && off == pc.size && !pc.delta)
    relinked = relink_parent(d, pc, dst_dir, name, &sums_relinked);
  if (ok && incremental && sync && !sums_relinked && (r = sys::fsync(sums.fd)) < 0)
    ok = d.fail("writing a copy's block checksums", r);
  if (ok && sync && !relinked && (r = sys::fsync(int(dst))) < 0) ok = d.fail("syncing file copy", r);
  r = sys::close(int(dst));
  if (ok && r < 0 && r != -EINTR) ok = d.fail("closing file copy", r);
  if (!ok || !against_parent || relinked) return ok;
  // Everything changed (or nothing is left): what was written is the whole content.
  if (off == 0 || (out.nranges == 1 && out.ranges[0] == 0 && out.ranges[1] == off)) return true;
  *delta = keep_delta(d, pc, out, hash.digest(out.delta_state));
  if (!*delta) return d.fail("recording a file copy's changed ranges", -ENOMEM);
  return true;
}

}  // namespace ckptlib
