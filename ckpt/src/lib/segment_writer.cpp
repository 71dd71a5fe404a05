// The job's memory into the core, one segment per mapping, each hashed from
// the very bytes that reach the file: anonymous memory through the write
// pipeline (copied and hashed in user space, written by a second task) with
// untouched pages left as holes; writable private file mappings (a restored
// job's memory) through a bounce buffer filled by process_vm_readv, which
// turns a page past its file's end into EFAULT rather than SIGBUS; other file
// mappings straight from their addresses; incremental images page by page.
#include <sys/uio.h>

#include "segment_writer.h"

#include "hash.h"
#include "sys.h"

// glibc's rseq registration (exported since 2.35): each thread's area is at
// its thread pointer plus __rseq_offset.
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

namespace ckptlib {

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kWriteChunk = 1u << 20;

// Memory whose every page reads without a fault: user-space copies are safe.
bool always_readable(const Mapping& m) {
  return m.perms[0] == 'r' && (m.kind == MapKind::anon || m.kind == MapKind::heap || m.kind == MapKind::stack);
}

// Anonymous memory the job never touched (neither present nor swapped out, by
// /proc/self/pagemap) stays a hole in the core: it reads back as the zeros it
// is, and is hashed as zeros. A thread's 8 MiB stack of which a few KiB were
// ever used costs those few KiB. Without pagemap every page is copied.
bool put_touched_pages(Dump& d, const Mapping& m, WritePipeline& pipe, HashState* state, int pagemap) {
  const HashOps& hash = hash_ops();
  auto flush = [&](uint64_t lo, uint64_t hi, bool touched) {
    if (lo == hi) return true;
    if (touched) {
      d.memory_bytes += hi - lo;
      d.full_memory_bytes += hi - lo;
      return pipe.put(reinterpret_cast<const void*>(lo), hi - lo, m.core_offset + (lo - m.start), state);
    }
    for (uint64_t p = lo; p < hi; p += kPage) hash.update(state, d.zero_page, kPage);
    return true;
  };
  if (pagemap < 0) return flush(m.start, m.end, true);
  constexpr size_t kBatch = 512;
  uint64_t entries[kBatch];
  uint64_t run_start = m.start;
  bool run_touched = true;
  for (uint64_t addr = m.start; addr < m.end;) {
    const size_t pages = (m.end - addr) / kPage < kBatch ? size_t((m.end - addr) / kPage) : kBatch;
    const long n = sys::pread(pagemap, entries, pages * 8, long(addr / kPage * 8));
    if (n != long(pages * 8)) {  // cannot tell: copy the rest
      if (!flush(run_start, addr, run_touched)) return false;
      return flush(addr, m.end, true);
    }
    for (size_t i = 0; i < pages; ++i) {
      const bool touched = (entries[i] >> 62) & 3;  // bit 63 present, bit 62 swapped
      const uint64_t page = addr + i * kPage;
      if (touched == run_touched) continue;
      if (!flush(run_start, page, run_touched)) return false;
      run_start = page;
      run_touched = touched;
    }
    addr += pages * kPage;
  }
  return flush(run_start, m.end, run_touched);
}

bool read_file_pages(Dump& d, char* buf, uint64_t addr, size_t len) {
  for (size_t done = 0; done < len;) {
    const long n = read_self(buf + done, addr + done, len - done);
    if (n < 0 && n != -EFAULT) return d.fail("reading file-mapped memory", n);
    if (n > 0) {
      done += size_t(n) & ~size_t(kPage - 1);
      if (size_t(n) % kPage == 0) continue;
    }
    __builtin_memcpy(buf + done, d.zero_page, kPage);  // the page at `done` cannot be read
    done += kPage;
  }
  return true;
}

// A writable private file mapping (a restored job's memory is mapped from its
// image's core) copied through the bounce buffer, so that the bytes hashed are
// the bytes written: a parked thread's signal handler still runs on its own
// stack, and written straight from memory a page it touched meanwhile made
// the segment's checksum wrong (a four-thread job restored, then dumped).
bool put_file_pages(Dump& d, const Mapping& m, WritePipeline& pipe, HashState* state) {
  for (uint64_t addr = m.start; addr < m.end;) {
    const size_t len = m.end - addr < kBounceSize ? size_t(m.end - addr) : kBounceSize;
    if (!read_file_pages(d, d.bounce, addr, len)) return false;
    d.memory_bytes += len;
    d.full_memory_bytes += len;
    if (!pipe.put(d.bounce, len, m.core_offset + (addr - m.start), state)) return false;
    addr += len;
  }
  return true;
}

// Incremental mode (CKPT_INCREMENTAL): each page's checksum goes into this
// image's `pages`; in an incremental image (d.incremental) a page whose
// checksum equals the parent's is not written (its bytes are the parent's),
// the others are, and m.runs lists them. Pages of the handler's own stack are
// always written and their checksum recorded as 0 ("unknown"): they change
// while being written. Anonymous pages the job never touched are holes
// (zeros), written as holes in this core when the parent's page was not zero.
// Private file mappings (a restored job's memory is mapped from its image's
// core) are read through a bounce buffer (read_file_pages), every page of them.
// The mapping's place in this image's `pages` (its checksums' slots), or
// nullptr when they no longer fit (the next dump is then a full one); whether
// it is written as a delta on the parent.
uint64_t* begin_tracking(Dump& d, Mapping& m) {
  const uint64_t npages = (m.end - m.start) / kPage;
  const bool tracked = d.pages_ok && d.nranges < kMaxMappings && d.npages + npages <= kMaxTrackedPages;
  if (!tracked) d.pages_ok = false;
  m.delta = d.incremental && tracked;
  m.runs_first = uint32_t(d.nruns);
  m.nruns = 0;
  if (!tracked) return nullptr;
  d.ranges[d.nranges++] = PageRange{m.start, m.end, d.npages};
  uint64_t* hashes = d.page_hashes + d.npages;
  d.npages += npages;
  return hashes;
}

// A page holding a thread's rseq area: the kernel rewrites the area (cpu_id,
// mm_cid) whenever that thread is scheduled, the dumping one included, and
// in a forked writer the area is the writer's own. Such a page can change
// while it is being written and differ from what the job holds: it is
// handled as the handler's own stack is (always written, checksum 0).
bool holds_rseq_area(const Dump& d, uint64_t lo, uint64_t hi) {
  if (!&__rseq_size || !&__rseq_offset || __rseq_size == 0) return false;
  const uint64_t len = __rseq_size < 32 ? 32 : __rseq_size;
  for (size_t i = 0; i < d.roster.count; ++i) {
    const uint64_t area = d.roster.threads[i].fs_base + uint64_t(__rseq_offset);
    if (area < hi && area + len > lo) return true;
  }
  return false;
}

bool put_tracked_pages(Dump& d, Mapping& m, WritePipeline& pipe, HashState* state, int pagemap) {
  const HashOps& hash = hash_ops();
  const bool from_file = m.kind == MapKind::file;
  uint64_t* hashes = begin_tracking(d, m);
  auto* delta_state = static_cast<HashState*>(d.delta_state);
  if (m.delta) hash.reset(delta_state);

  const char* src = nullptr;            // the current chunk's bytes (the memory, or the bounce buffer)
  uint64_t chunk_start = 0;
  uint64_t write_lo = 0, write_hi = 0;  // pages of the chunk waiting to be put in one go
  auto flush = [&] {
    if (write_lo == write_hi) return true;
    const uint64_t len = write_hi - write_lo;
    d.memory_bytes += len;
    const bool ok = pipe.put(src + (write_lo - chunk_start), len, m.core_offset + (write_lo - m.start), state,
                             m.delta ? delta_state : nullptr);
    write_lo = write_hi = 0;
    return ok;
  };
  auto present = [&](uint64_t index) {  // in this core
    if (!m.delta) return true;
    if (m.nruns && d.runs[d.nruns - 1].first + d.runs[d.nruns - 1].count == index) {
      ++d.runs[d.nruns - 1].count;
      return true;
    }
    if (d.nruns >= kMaxRuns) return d.fail("too many changed runs of pages", -E2BIG);
    d.runs[d.nruns++] = PageRun{uint32_t(index), 1};
    ++m.nruns;
    return true;
  };

  const bool rseq_here = holds_rseq_area(d, m.start, m.end);
  constexpr size_t kChunk = kBounceSize / kPage;
  uint64_t entries[kChunk];
  for (uint64_t addr = m.start; addr < m.end;) {
    const size_t pages = (m.end - addr) / kPage < kChunk ? size_t((m.end - addr) / kPage) : kChunk;
    chunk_start = addr;
    bool known = false;
    // Every page is hashed, compared and written from one copy in the bounce
    // buffer: memory read twice (once for its checksum, once when its run is
    // put) may differ in between (a thread's rseq area, rewritten by the
    // kernel whenever the dumping thread sleeps on the writer), and a page
    // checksum that is not the checksum of the bytes written makes the next
    // image take the parent's page for an equal one: its segment then does
    // not match its checksum once assembled from the chain.
    src = d.bounce;
    if (from_file) {
      if (!read_file_pages(d, d.bounce, addr, pages * kPage)) return false;
    } else {
      known = pagemap >= 0 && sys::pread(pagemap, entries, pages * 8, long(addr / kPage * 8)) == long(pages * 8);
    }
    for (size_t i = 0; i < pages; ++i) {
      const uint64_t page = addr + i * kPage;
      bool touched = !known || ((entries[i] >> 62) & 3);  // bit 63 present, bit 62 swapped
      const bool live = (page < d.live_hi && page + kPage > d.live_lo) ||
                        (rseq_here && holds_rseq_area(d, page, page + kPage));
      // A page the kernel saw no write to since the parent is the parent's:
      // its checksum is the parent's, and it is not hashed on its own.
      const bool clean = touched && m.dirty_known && !live && !dirty_page_written(d, page);
      // A clean page is hashed into the segment's checksum from memory (the
      // kernel vouches it is the parent's); a page written is always a copy.
      const char* bytes = reinterpret_cast<const char*>(page);
      if (!from_file && touched && !clean) __builtin_memcpy(d.bounce + i * kPage, bytes, kPage);
      if (from_file || !clean) bytes = d.bounce + i * kPage;
      const uint64_t h = clean ? parent_page_hash(d, page) : touched ? hash.once(bytes, kPage) : d.zero_page_xxh3;
      // Zeros are a hole: a page protected before it was ever touched reads as
      // "swapped" (the kernel's marker), not as never touched.
      if (h == d.zero_page_xxh3) touched = false;
      if (hashes) hashes[(page - m.start) / kPage] = live ? 0 : h;
      if (touched) d.full_memory_bytes += kPage;
      const uint64_t before = m.delta ? parent_page_hash(d, page) : 0;
      const bool changed = !m.delta || live || before == 0 || before != h;
      if (changed && touched) {  // written
        if (bytes != d.bounce + i * kPage) __builtin_memcpy(d.bounce + i * kPage, bytes, kPage);
        if (write_hi != page && !flush()) return false;
        if (write_lo == write_hi) write_lo = page;
        write_hi = page + kPage;
        if (!present((page - m.start) / kPage)) return false;
        continue;
      }
      if (!flush()) return false;
      hash.update(state, touched ? bytes : d.zero_page, kPage);
      if (changed && m.delta) {  // a hole in this core, over the parent's non-zero page
        hash.update(delta_state, d.zero_page, kPage);
        if (!present((page - m.start) / kPage)) return false;
      }
    }
    if (!flush()) return false;  // before the chunk's buffer is reused
    addr += pages * kPage;
  }
  if (m.delta) m.delta_xxh3 = hash.digest(delta_state);
  return true;
}

}  // namespace

// A private file mapping's pages, read without a load that could fault: a
// page past the end of its file (SIGBUS on a load) comes back as EFAULT from
// process_vm_readv and is taken as zeros, as write_segment writes it.
long read_self(void* buf, uint64_t addr, size_t len) {
  struct iovec local {buf, len}, remote {reinterpret_cast<void*>(addr), len};
  return sys::call6(SYS_process_vm_readv, sys::getpid(), sys::L(&local), 1, sys::L(&remote), 1, 0);
}

// Writes one mapping's bytes at its segment offset, hashing what was written.
// Pages the kernel cannot read (a file mapping past EOF...) are written as zeros.
bool write_segment(Dump& d, int fd, Mapping& m, WritePipeline& pipe, int pagemap) {
  const HashOps& hash = hash_ops();
  auto* state = static_cast<HashState*>(d.xxh_state);
  hash.reset(state);
  // Incremental mode tracks private memory, anonymous or file-backed (not the
  // stack: it is copied back into place on restore, not mapped).
  const bool private_file = m.kind == MapKind::file && m.perms[0] == 'r' && d.can_read_self;
  if (d.cfg->incremental && !m.shared && m.kind != MapKind::stack && (always_readable(m) || private_file)) {
    if (!put_tracked_pages(d, m, pipe, state, pagemap)) return false;
    m.xxh3 = hash.digest(state);
    return true;
  }
  if (always_readable(m)) {
    if (!put_touched_pages(d, m, pipe, state, pagemap)) return false;
    m.xxh3 = hash.digest(state);
    return true;
  }
  const bool changing = m.kind == MapKind::file && !m.shared && m.perms[1] == 'w';
  if (changing && private_file) {
    if (!put_file_pages(d, m, pipe, state)) return false;
    m.xxh3 = hash.digest(state);
    return true;
  }
  uint64_t addr = m.start, off = m.core_offset, left = m.end - m.start;
  while (left) {
    const size_t chunk = left < kWriteChunk ? size_t(left) : kWriteChunk;
    long w = sys::pwrite(fd, reinterpret_cast<const void*>(addr), chunk, long(off));
    if (w == -EINTR) continue;
    if (w == -EFAULT) {
      size_t zlen = size_t(kPage - (addr & (kPage - 1)));
      if (zlen > left) zlen = size_t(left);
      long z = sys::pwrite(fd, d.zero_page, zlen, long(off));
      if (z < 0) return d.fail("writing core", z);
      w = z;
      hash.update(state, d.zero_page, size_t(w));
    } else if (w < 0) {
      return d.fail("writing core", w);
    } else if (w == 0) {
      return d.fail("writing core", -EIO);
    } else if (changing || (addr < d.live_hi && addr + uint64_t(w) > d.live_lo)) {
      // Memory that may change while it is written (the stack this handler
      // runs on; without process_vm_readv, any writable private file
      // mapping): hash what reached the file, not the memory (read back
      // through the io buffer, which the pipeline must be done with).
      if (!pipe.drain()) return false;
      for (long done = 0; done < w;) {
        const size_t want = size_t(w - done) < kIoBufSize ? size_t(w - done) : kIoBufSize;
        long r = sys::pread(fd, d.io_buf, want, long(off) + done);
        if (r <= 0) return d.fail("reading back core", r < 0 ? r : -EIO);
        hash.update(state, d.io_buf, size_t(r));
        done += r;
      }
    } else {
      hash.update(state, reinterpret_cast<const void*>(addr), size_t(w));
    }
    addr += uint64_t(w);
    off += uint64_t(w);
    left -= uint64_t(w);
    d.memory_bytes += uint64_t(w);
    d.full_memory_bytes += uint64_t(w);
  }
  m.xxh3 = hash.digest(state);
  return true;
}

}  // namespace ckptlib
