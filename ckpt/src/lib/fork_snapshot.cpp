// The forked writer's snapshot, checked complete before the job runs on.
//
// A fork does not copy every mapping: one the job marked MADV_DONTFORK
// (VmFlags `dc`; node/V8 marks ~20 of its own, its JIT code among them) is
// simply absent in the child, so a writer forked blindly writes an image that
// lacks it, and the restored job crashes. Reading the flags (/proc/self/smaps)
// on every dump costs ~11 ms at 1 GB, more than the whole forked stop. So the
// check is made after the fork instead, where it is cheap: the child's
// /proc/PID/maps (no page walk) against the mappings the image will hold. The
// child waits for the verdict before it writes anything. Rarely (node) some
// are missing: the parent, still stopped, discards that child, turns those
// mappings MADV_DOFORK, forks again and puts MADV_DONTFORK back on its own
// copies; the image records them (`"dontfork": true`). If that cannot be
// done, no writer is forked and the caller writes the image in-process.
//
// Not detected: MADV_WIPEONFORK (`wf`) mappings, present in the child but
// zeroed (only smaps shows the flag); neither node nor the JVM uses it.
#include <fcntl.h>
#include <sys/mman.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

struct Range {
  uint64_t start, end;
};

// The child's mappings, in address order, parsed into `out` (at most cap);
// -errno, or -E2BIG when they do not fit.
long child_ranges(long pid, char* text, size_t text_cap, Range* out, size_t cap) {
  char path[48];
  Text p;
  p.reset(path, sizeof path);
  p.str("/proc/").dec(uint64_t(pid)).str("/maps");
  path[p.len] = 0;
  const long n = read_small_file(AT_FDCWD, path, text, text_cap);
  if (n < 0) return n;
  size_t count = 0;
  for (size_t i = 0; i < size_t(n);) {
    size_t eol = i;
    while (eol < size_t(n) && text[eol] != '\n') ++eol;
    if (count == cap) return -E2BIG;
    size_t pos = 0;
    Range& r = out[count++];
    r.start = parse_unsigned(text + i, eol - i, &pos, 16);
    ++pos;  // '-'
    r.end = parse_unsigned(text + i, eol - i, &pos, 16);
    i = eol + 1;
  }
  return long(count);
}

// Counts the dumped mappings the child lacks (wholly or in part), marking
// them `dontfork` if `mark`; -errno when the child's mappings cannot be read.
long find_missing(Dump& d, long child, bool mark) {
  // The io buffer is free until the writer runs (and the child has its own
  // copy of it): the text in front, the parsed ranges behind.
  constexpr size_t kRangesBytes = kMaxMappings * sizeof(Range);
  Range* ranges = reinterpret_cast<Range*>(d.io_buf + kIoBufSize - kRangesBytes);
  const long nr = child_ranges(child, d.io_buf, kIoBufSize - kRangesBytes, ranges, kMaxMappings);
  if (nr < 0) return nr;
  long missing = 0;
  size_t j = 0;
  for (size_t i = 0; i < d.nmaps; ++i) {
    Mapping& m = d.maps[i];
    if (!m.dumped) continue;
    uint64_t pos = m.start;
    while (j < size_t(nr) && ranges[j].end <= pos) ++j;
    for (size_t k = j; pos < m.end && k < size_t(nr) && ranges[k].start <= pos; ++k) pos = ranges[k].end;
    if (pos < m.end) {
      if (mark) m.dontfork = true;
      ++missing;
    }
  }
  return missing;
}

// MADV_DOFORK (fork = true) or back to MADV_DONTFORK on the marked mappings;
// false if the kernel refuses one (a VM_IO mapping cannot be forked).
bool set_fork(Dump& d, bool fork) {
  bool ok = true;
  for (size_t i = 0; i < d.nmaps; ++i) {
    const Mapping& m = d.maps[i];
    if (!m.dontfork) continue;
    if (sys::madvise(reinterpret_cast<void*>(m.start), m.end - m.start, fork ? MADV_DOFORK : MADV_DONTFORK) < 0)
      ok = false;
  }
  return ok;
}

// The verdict, one byte down the pipe: 'w' write the image, 'x' exit.
void tell(int fd, char verdict) {
  while (sys::write(fd, &verdict, 1) == -EINTR) {
  }
}

void discard(int verdict_fd, long child) {
  tell(verdict_fd, 'x');
  sys::wait4(int(child), nullptr, 0x40000000 /* __WALL */);
}

}  // namespace

long fork_snapshot(Dump& d) {
  int verdict[2];
  const long pr = sys::pipe2(verdict, O_CLOEXEC);
  if (pr < 0) return pr;
  long result = -EAGAIN;
  bool refork = false;  // some mappings are MADV_DOFORK for now
  for (int attempt = 0; attempt < 2; ++attempt) {
    const long child = sys::call6(SYS_clone, 0 /* no exit signal */, 0, 0, 0, 0);
    if (child == 0) {
      sys::close(verdict[1]);
      char v = 0;
      long r;
      while ((r = sys::read(verdict[0], &v, 1)) == -EINTR) {
      }
      sys::close(verdict[0]);
      if (r != 1 || v != 'w') sys::call6(SYS_exit_group, 0);
      return 0;
    }
    if (child < 0) {
      result = child;
      break;
    }
    // The second time, only the mappings turned MADV_DOFORK are marked (and
    // put back), whatever else may be missing.
    const long missing = find_missing(d, child, attempt == 0);
    if (missing == 0) {
      tell(verdict[1], 'w');
      result = child;
      break;
    }
    discard(verdict[1], child);
    if (missing < 0) {
      result = missing;
      break;
    }
    // Missing even after MADV_DOFORK (the second attempt): give up forking.
    if (attempt == 1) break;
    refork = true;
    if (!set_fork(d, true)) break;
  }
  if (refork) set_fork(d, false);
  sys::close(verdict[0]);
  sys::close(verdict[1]);
  return result;
}

}  // namespace ckptlib
