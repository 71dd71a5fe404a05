// The image directory's life cycle: pick the number, clear temp dirs of dead
// writers, write under .tmp-ckpt-NNNN-PID, make it durable, rename it into
// place, switch `latest`; or remove everything on failure.
#include <dirent.h>
#include <fcntl.h>
#include <time.h>

#include "dump.h"
#include "errtext.h"
#include "sys.h"

namespace ckptlib {

namespace {

bool all_digits(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// Removes dirfd/name and what it holds (at most `depth` levels of directories).
// An image is at most three deep: a tree's ckpt-NNNN/proc-PID/files/x.
constexpr int kImageDepth = 3;
void remove_tree(int dirfd, const char* name, int depth) {
  if (sys::unlinkat(dirfd, name, 0) == 0) return;
  long fd = sys::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    char buf[4096];
    for (;;) {
      long n = sys::getdents64(int(fd), buf, sizeof buf);
      if (n <= 0) break;
      bool removed = false;
      for (long pos = 0; pos < n;) {
        auto* de = reinterpret_cast<const sys::LinuxDirent64*>(buf + pos);
        pos += de->d_reclen;
        if (cstr_eq(de->d_name, ".") || cstr_eq(de->d_name, "..")) continue;
        // DT_UNKNOWN (some file systems): a directory is known by unlink's EISDIR.
        if (de->d_type == DT_DIR || (sys::unlinkat(int(fd), de->d_name, 0) == -EISDIR && de->d_type == DT_UNKNOWN)) {
          if (depth > 0) remove_tree(int(fd), de->d_name, depth - 1);
        }
        removed = true;
      }
      // Entries were removed under the listing: start it again from the top.
      if (removed) sys::lseek(int(fd), 0, SEEK_SET);
      else break;
    }
    sys::close(int(fd));
  }
  sys::unlinkat(dirfd, name, AT_REMOVEDIR);
}

// ".tmp-ckpt-0004-1234" / ".tmp-latest-1234" -> 1234 (0 if not such a name).
long temp_owner(const char* name) {
  if (!starts_with(name, cstr_len(name), fmt::kPartialPrefix)) return 0;
  const char* dash = nullptr;
  for (const char* p = name; *p; ++p)
    if (*p == '-') dash = p;
  if (!dash || !all_digits(dash + 1)) return 0;
  size_t pos = 0;
  return long(parse_unsigned(dash + 1, cstr_len(dash + 1), &pos, 10));
}

void status_line(Dump& d, const char* word, const char* rest, uint64_t stopped_ns = 0) {
  char line[256];
  Text t;
  t.reset(line, sizeof line);
  t.str(word).ch(' ').dec(d.seq);
  if (rest) t.ch(' ').str(rest);
  write_status(*d.cfg, t.data, t.len, stopped_ns);
}

long open_subdir(int dirfd, const char* name) {
  long r = sys::mkdirat(dirfd, name, 0700);
  if (r < 0) return r;
  long fd = sys::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fd;
  r = sys::fchmod(int(fd), 0700);  // mkdir's mode is subject to the umask
  if (r < 0) {
    sys::close(int(fd));
    return r;
  }
  return fd;
}

}  // namespace

void write_status(const Config& cfg, const char* line, size_t len, uint64_t stopped_ns) {
  char path[kPathMax + 32];
  Text t;
  t.reset(path, sizeof path);
  t.str(cfg.dir).str("/.ckpt-status");
  long fd = sys::openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  // 256 bytes, overwritten in place: the line, '\n', "@" and the write's
  // CLOCK_REALTIME in ns (and " stopped_ns=S"), '\n', blank padding. The stamp tells a reader that the
  // same line was written again (a number reused after its image was deleted);
  // the mtime cannot: the kernel updates it before it copies the bytes, so a
  // reader could take the old line for the new one.
  char buf[256];
  struct timespec now {};
  sys::clock_gettime(CLOCK_REALTIME, &now);
  char stamp[64];
  Text s;
  s.reset(stamp, sizeof stamp);
  s.ch('@').dec(uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec));
  if (stopped_ns) s.str(" stopped_ns=").dec(stopped_ns);
  size_t n = len < 254 - s.len - 1 ? len : 254 - s.len - 1;
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) buf[at++] = line[i] == '\n' ? ' ' : line[i];
  buf[at++] = '\n';
  for (size_t i = 0; i < s.len; ++i) buf[at++] = s.data[i];
  buf[at++] = '\n';
  while (at < 255) buf[at++] = ' ';
  buf[255] = '\n';
  sys::pwrite(int(fd), buf, sizeof buf, 0);
  sys::close(int(fd));
}

// Retention (CKPT_KEEP=N): once the new image is complete and `latest` names
// it, every complete image but the N newest goes, except the parents that a
// kept incremental image needs (its `parent` file names it), and theirs. Only
// ckpt-NNNN names count, the new image is the newest, so `latest` never loses
// its target; temp directories are left to begin_image. A failure here costs
// disk, not the image.
constexpr uint64_t kKept = 1ull << 63, kVisited = 1ull << 62, kNumber = kVisited - 1;

// The image number dirfd/ckpt-NNNN/parent names, or 0.
static uint64_t parent_number(int dirfd, uint64_t number) {
  char path[64], text[40];
  Text t;
  t.reset(path, sizeof path);
  t.str(fmt::kImagePrefix).dec_width(number, 4).ch('/').str(fmt::kParentFile);
  long n = read_small_file(dirfd, path, text, sizeof text);
  if (n > 0 && text[n - 1] == '\n') --n;
  return n > 0 ? fmt::image_number(text, size_t(n)) : 0;
}

static void remove_old_images(Dump& d) {
  auto* numbers = reinterpret_cast<uint64_t*>(d.io_buf);
  const size_t cap = kIoBufSize / 2 / sizeof(uint64_t);
  char* buf = d.io_buf + kIoBufSize / 2;
  size_t count = 0;
  sys::lseek(d.dirfd, 0, SEEK_SET);
  for (;;) {
    long n = sys::getdents64(d.dirfd, buf, kIoBufSize / 2);
    if (n <= 0) break;
    for (long pos = 0; pos < n;) {
      auto* de = reinterpret_cast<const sys::LinuxDirent64*>(buf + pos);
      pos += de->d_reclen;
      const size_t len = cstr_len(de->d_name);
      const uint64_t number = fmt::image_number(de->d_name, len);
      if (!number || count >= cap) continue;
      numbers[count++] = number & kNumber;
    }
  }
  if (count <= d.cfg->keep) return;
  // The keep-th highest number: everything below it goes.
  uint64_t threshold = ~0ull;
  for (uint32_t k = 0; k < d.cfg->keep; ++k) {
    uint64_t best = 0;
    for (size_t i = 0; i < count; ++i)
      if (numbers[i] < threshold && numbers[i] > best) best = numbers[i];
    threshold = best;
  }
  for (size_t i = 0; i < count; ++i)
    if (numbers[i] >= threshold || numbers[i] == d.seq) numbers[i] |= kKept;
  // Parents of kept images are kept, to the full image at the bottom of each chain.
  for (bool more = true; more;) {
    more = false;
    for (size_t i = 0; i < count; ++i) {
      if (!(numbers[i] & kKept) || (numbers[i] & kVisited)) continue;
      numbers[i] |= kVisited;
      const uint64_t parent = parent_number(d.dirfd, numbers[i] & kNumber);
      for (size_t j = 0; parent && j < count; ++j)
        if ((numbers[j] & kNumber) == parent && !(numbers[j] & kKept)) {
          numbers[j] |= kKept;
          more = true;
        }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    if (numbers[i] & kKept) continue;
    char name[32];
    Text t;
    t.reset(name, sizeof name);
    t.str(fmt::kImagePrefix).dec_width(numbers[i] & kNumber, 4);
    remove_tree(d.dirfd, name, kImageDepth);
  }
}

bool begin_image(Dump& d) {
  long dirfd = sys::openat(AT_FDCWD, d.cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return d.fail("opening the checkpoint directory", dirfd);
  d.dirfd = int(dirfd);
  // One dump at a time per directory: a forked writer (CKPT_FORK) may still be
  // writing the previous image; it holds this lock through its copy of dirfd.
  // A writer that is finishing gets up to 2 s (polled: the job is stopped meanwhile).
  for (int waited_ms = 0;; ++waited_ms) {
    const long locked = sys::call6(SYS_flock, d.dirfd, 2 /* LOCK_EX */ | 4 /* LOCK_NB */);
    if (locked != -EWOULDBLOCK) break;
    if (waited_ms >= 2000) return d.fail("the previous checkpoint is still being written", -EBUSY);
    const struct timespec ms {0, 1000000};
    sys::call6(SYS_nanosleep, sys::L(&ms), 0);
  }

  // Highest ckpt-NNNN, and temp entries whose writer is gone.
  char* buf = d.io_buf;
  const size_t cap = kIoBufSize / 2;
  const char* stale[256];
  size_t nstale = 0;
  uint64_t highest = 0;
  for (;;) {
    long n = sys::getdents64(d.dirfd, buf, cap);
    if (n < 0) return d.fail("listing the checkpoint directory", n);
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      auto* de = reinterpret_cast<const sys::LinuxDirent64*>(buf + pos);
      pos += de->d_reclen;
      const char* name = de->d_name;
      const size_t len = cstr_len(name);
      if (const uint64_t num = fmt::image_number(name, len)) {
        if (num > highest) highest = num;
      } else if (long owner = temp_owner(name)) {
        if (owner != d.pid && sys::kill(int(owner), 0) == -ESRCH && nstale < 256) {
          stale[nstale] = d.keep(name, len);
          if (stale[nstale]) ++nstale;
        }
      }
    }
  }
  for (size_t i = 0; i < nstale; ++i) remove_tree(d.dirfd, stale[i], kImageDepth);

  d.seq = highest + 1;
  Text t;
  t.reset(d.image_name, sizeof d.image_name);
  t.str(fmt::kImagePrefix).dec_width(d.seq, 4);
  t.reset(d.tmp_name, sizeof d.tmp_name);
  t.str(fmt::kPartialPrefix).str(d.image_name).ch('-').dec(uint64_t(d.pid));
  status_line(d, "busy", nullptr);

  remove_tree(d.dirfd, d.tmp_name, kImageDepth);  // our own leftover, if a previous life of this pid died here
  long fd = open_subdir(d.dirfd, d.tmp_name);
  if (fd < 0) return d.fail("creating the image directory", fd);
  if (d.in_tree) {
    d.treefd = int(fd);
    return open_proc_image(d, d.treefd);
  }
  d.tmpfd = int(fd);
  fd = open_subdir(d.tmpfd, fmt::kFilesDir);
  if (fd < 0) return d.fail("creating the image directory", fd);
  d.filesfd = int(fd);
  return true;
}

bool open_proc_image(Dump& d, int top) {
  char name[32];
  Text t;
  t.reset(name, sizeof name);
  t.str(fmt::kProcDirPrefix).dec(uint64_t(d.pid));
  long fd = open_subdir(top, name);
  if (fd < 0) return d.fail("creating the process's image directory", fd);
  d.tmpfd = int(fd);
  fd = open_subdir(d.tmpfd, fmt::kFilesDir);
  if (fd < 0) return d.fail("creating the process's image directory", fd);
  d.filesfd = int(fd);
  return true;
}

bool commit_image(Dump& d) {
  long r;
  if (d.cfg->fsync && (r = sys::fsync(d.tmpfd)) < 0) return d.fail("syncing the image directory", r);
  if (d.cfg->fsync && d.treefd >= 0 && (r = sys::fsync(d.treefd)) < 0) return d.fail("syncing the image directory", r);
  r = sys::renameat(d.dirfd, d.tmp_name, d.dirfd, d.image_name);
  if (r < 0) return d.fail("renaming the image into place", r);
  if (d.cfg->fsync && (r = sys::fsync(d.dirfd)) < 0) {
    remove_tree(d.dirfd, d.image_name, kImageDepth);  // not known to be durable: not an image
    return d.fail("syncing the checkpoint directory", r);
  }

  char tmp_link[64];
  Text t;
  t.reset(tmp_link, sizeof tmp_link);
  t.str(fmt::kPartialPrefix).str(fmt::kLatest).ch('-').dec(uint64_t(d.pid));
  sys::unlinkat(d.dirfd, tmp_link, 0);
  r = sys::symlinkat(d.image_name, d.dirfd, tmp_link);
  if (r == 0) r = sys::renameat(d.dirfd, tmp_link, d.dirfd, fmt::kLatest);
  if (r < 0) {
    // The image itself is complete and durable; only the pointer failed.
    sys::unlinkat(d.dirfd, tmp_link, 0);
    remove_tree(d.dirfd, d.image_name, kImageDepth);
    return d.fail("switching latest", r);
  }
  if (d.cfg->fsync && (r = sys::fsync(d.dirfd)) < 0) return d.fail("syncing the checkpoint directory", r);
  if (d.cfg->keep) remove_old_images(d);
  // The manifest's stopped_ns had to be taken before the manifest was written;
  // an in-process dump has also stopped the job for the manifest, the commit
  // and the retention since, and `run --interval auto` should charge it all.
  const uint64_t stopped = d.in_writer ? d.stopped_ns : monotonic_ns() - d.started_mono_ns;
  // Which way the changed pages were found, for whoever tunes the job.
  char rest[64];
  Text rt;
  rt.reset(rest, sizeof rest);
  rt.str(d.image_name);
  if (d.cfg->incremental) rt.str(" dirty: ").str(dirty_method(d));
  // A tree's size at this checkpoint, for `run`'s log and whoever reads the status.
  if (d.treefd >= 0) {
    rt.str(" processes: ").dec(d.tree_live);
    if (d.tree_zombies) rt.str(", zombies: ").dec(d.tree_zombies);
  }
  rest[rt.len < sizeof rest ? rt.len : sizeof rest - 1] = 0;
  status_line(d, "ok", rest, stopped ? stopped : 1);
  return true;
}

void abandon_image(Dump& d) {
  if (d.filesfd >= 0) sys::close(d.filesfd);
  if (d.tmpfd >= 0) sys::close(d.tmpfd);
  if (d.treefd >= 0) sys::close(d.treefd);
  d.filesfd = d.tmpfd = d.treefd = -1;
  if (d.dirfd >= 0 && d.tmp_name[0]) remove_tree(d.dirfd, d.tmp_name, kImageDepth);

  char errbuf[24];
  const char* why = d.fail_err ? errno_text(d.fail_err, errbuf) : nullptr;
  char line[1024];
  Text t;
  t.reset(line, sizeof line - 1);
  t.str("ckpt: checkpoint ");
  if (d.seq) t.dec(d.seq).ch(' ');  // refused before it had a number
  t.str(d.refused ? "refused: " : "failed: ").str(d.fail_what ? d.fail_what : "?");
  if (why) t.str(": ").str(why);
  if (t.overflow) t.len = sizeof line - 5, t.str("...");
  line[t.len++] = '\n';
  write_all(2, line, t.len);

  // The status record holds 256 bytes: the reason is cut there.
  char reason[256];
  t.reset(reason, sizeof reason);
  t.str(d.refused ? "refused: " : "").str(d.fail_what ? d.fail_what : "?");
  if (why) t.str(": ").str(why);
  status_line(d, "fail", reason);
}

}  // namespace ckptlib
