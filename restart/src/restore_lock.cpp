// One restore of a job at a time: a restore holds an exclusive flock on the
// job's status file (DIR/.ckpt-status, beside its images) for as long as the
// restored job lives, so ten `ckptsim restart` of one image started at once run
// the job once. The library never flocks that file (it locks DIR itself while
// it dumps, which a restore must not block), so the restored job's own dumps
// go on. An image copied without its status file locks its own directory.
//
// flock, not a lock file of our own: nothing is created in a directory that
// may belong to another user, a lock dies with its holder (no stale locks after
// a crash), and /proc/locks names the holder's pid for the refusal.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "image_files.h"
#include "restart/restart.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;

namespace {

// The pid holding a flock on (dev, ino), from /proc/locks; 0 if not found.
pid_t flock_holder(const struct stat& st) {
  char dev[32];
  std::snprintf(dev, sizeof dev, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  // (On an overlay the device may be the lower one's: then the inode alone.)
  const std::string ino = ":" + std::to_string(st.st_ino);
  std::ifstream locks("/proc/locks");
  pid_t by_ino = 0;
  int ino_matches = 0;
  for (std::string line; std::getline(locks, line);) {
    std::istringstream in(line);
    std::string n, kind, mode, rw, id;
    long pid = 0;
    if (!(in >> n >> kind) || kind == "->") continue;  // a waiter
    if (!(in >> mode >> rw >> pid >> id) || kind != "FLOCK") continue;
    if (id == dev) return static_cast<pid_t>(pid);
    if (id.size() > ino.size() && id.compare(id.size() - ino.size(), ino.size(), ino) == 0)
      by_ino = static_cast<pid_t>(pid), ++ino_matches;
  }
  return ino_matches == 1 ? by_ino : 0;
}

// What to lock for `image` (an image directory or DIR/latest): DIR/.ckpt-status,
// opened without following a link or blocking, a regular file; else the image
// directory itself.
util::OwnedFd open_lock_target(const fs::path& image, fs::path* named) {
  const auto [dir, given] = split_image_path(image);
  util::OwnedFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) throw ImageError("no image at " + image.string() + " (" + std::strerror(errno) + ")");
  // Looked at before it is opened: root opens nothing but a regular file here.
  struct stat st {};
  util::OwnedFd status;
  // Read-write where it may (NFS emulates flock with byte-range locks, whose
  // exclusive kind needs a descriptor open for writing); nothing is written.
  if (::fstatat(dirfd.get(), fmt::kStatusFile, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
    const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    status = util::OwnedFd(::openat(dirfd.get(), fmt::kStatusFile, O_RDWR | flags));
    if (!status) status = util::OwnedFd(::openat(dirfd.get(), fmt::kStatusFile, O_RDONLY | flags));
  }
  if (status && ::fstat(status.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    *named = dir / fmt::kStatusFile;
    return status;
  }
  // No status file: the image directory (the link's target for DIR/latest).
  util::OwnedFd own(::openat(dirfd.get(), given.filename().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!own) throw ImageError("no image at " + image.string() + " (" + std::strerror(errno) + ")");
  *named = given;
  return own;
}

}  // namespace

RestoreLock::RestoreLock(const fs::path& image) {
  fs::path named;
  util::OwnedFd fd = open_lock_target(image, &named);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      // A file system without such locks must not stop a restore: said, not refused.
      std::fprintf(stderr, "ckptsim: warning: cannot lock %s (%s): a second restore of this job would not be refused\n",
                   named.string().c_str(), std::strerror(errno));
      return;
    }
    struct stat st {};
    ::fstat(fd.get(), &st);
    const pid_t holder = flock_holder(st);
    throw RestoreBusy("the job of " + image.string() + " is running already, restored by process " +
                      (holder > 0 ? std::to_string(holder) : std::string("?")) + " (which holds " + named.string() +
                      "); one restore at a time: --force restores it again");
  }
  fd_ = fd.release();
}

RestoreLock::~RestoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

RestoreLock::RestoreLock(RestoreLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

RestoreLock& RestoreLock::operator=(RestoreLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

}  // namespace ckptsim::restart
