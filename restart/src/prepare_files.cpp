// Files go back to what they were at the checkpoint, so that what the killed
// run wrote afterwards is undone. Written in place (same inode: other holders
// and hard links see it) and only when they differ; recreated with their
// directories when they are gone (the image was moved to another node).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "copy_bytes.h"
#include "file_hash.h"
#include "image_files.h"
#include "phases.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& what) { throw RestoreError(what + ": " + std::strerror(errno)); }

// True if the open file already holds the checkpoint's bytes.
bool same_content(int fd, uint64_t size, const std::string& xxh3) {
  uint64_t current_size = 0;
  const auto current = xxh3_of_fd(fd, &current_size);
  return current && current_size == size && *current == xxh3;
}

// True if `target` is a regular file that already holds the checkpoint's
// bytes, read through a read-only descriptor (not following a last link).
// errno is left as it was.
bool holds_content(const fs::path& target, uint64_t size, const std::string& xxh3) {
  const int saved = errno;
  util::OwnedFd fd(::open(target.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  const bool same = fd && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && same_content(fd.get(), size, xxh3);
  errno = saved;
  return same;
}

// The target is opened once, without following a link in its last
// component, and compared, copied and truncated through that descriptor.
// One this user may only read (a system file the job mapped shared and
// read-only, as glibc maps its gconv cache) needs no write when it holds the
// checkpoint's bytes: that is checked through a read-only descriptor instead.
void restore_content(const Image& img, const fs::path& target, const std::string& copy, uint64_t size,
                     const std::string& xxh3) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw RestoreError("cannot create " + target.parent_path().string() + ": " + ec.message());
  util::OwnedFd dst(::open(target.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
  if (!dst && (errno == EACCES || errno == EPERM || errno == EROFS) && holds_content(target, size, xxh3)) return;
  // The flag is named only where it would help: the owner's identity was
  // denied by the file's mode. (EPERM is an immutable or append-only file,
  // or a seal: no flag writes it.)
  if (!dst && img.owner.foreign && !img.owner.allow_foreign_files && errno == EACCES)
    throw ImageError("refusing to write " + target.string() + ": the image's owner (uid " +
                     std::to_string(img.owner.uid) + ") may not (--allow-foreign-files)");
  if (!dst) fail("cannot restore " + target.string());
  struct stat st {};
  ::fstat(dst.get(), &st);
  if (!S_ISREG(st.st_mode)) throw RestoreError("cannot restore " + target.string() + ": not a regular file");
  img.owner.check_file_owner(st.st_uid, "write " + target.string());
  if (same_content(dst.get(), size, xxh3)) return;
  copy_bytes(img.files->get(copy), dst.get(), size, target.string());
  if (::ftruncate(dst.get(), static_cast<off_t>(size)) != 0) fail("cannot truncate " + target.string());
}

}  // namespace

void prepare_files(const Image& img) {
  std::set<std::string> done;
  prepare_files(img, done);
}

void prepare_files(const Image& img, std::set<std::string>& done) {
  AsImageOwner as_owner(img.owner);
  std::error_code ec;
  fs::create_directories(img.cwd, ec);
  if (ec) throw RestoreError("cannot recreate the working directory " + img.cwd + ": " + ec.message());
  for (const auto& fd : img.fds) {
    if (fd.kind != "regular" || is_deleted_path(fd.path) || !done.insert(fd.path).second) continue;
    restore_content(img, fd.path, fd.copy, fd.size, fd.xxh3);
  }
  for (const auto& sf : img.shared_files) {
    if (is_deleted_path(sf.path) || !done.insert(sf.path).second) continue;
    restore_content(img, sf.path, sf.copy, sf.size, sf.xxh3);
  }
  for (const auto& wf : img.written_files) {
    if (!done.insert(wf.path).second) continue;
    restore_content(img, wf.path, wf.copy, wf.size, wf.xxh3);
  }
}

}  // namespace ckptsim::restart
