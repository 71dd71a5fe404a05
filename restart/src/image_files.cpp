// Who may restore what (docs/restarting.md, "Security"): every directory and file of an
// image belongs to one user, the image's owner, and none is writable by group
// or others; the caller must be that user, or root. The directory holding the
// image must belong to the owner or root and not be writable by others either.
#include "image_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "restart/restart.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;
namespace {

std::string describe_mode(mode_t m) {
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  if (S_ISDIR(m)) return "a directory";
  return "not a regular file";
}

void check_not_writable_by_others(const struct stat& st, const fs::path& p) {
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw ImageError(p.string() + " is writable by group or others: refusing an image that others could have changed");
}

}  // namespace

bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

ImagePath split_image_path(const fs::path& image) {
  fs::path given = image;
  while (given.has_relative_path() && given.filename().empty()) given = given.parent_path();  // "img/"
  return {given.has_parent_path() ? given.parent_path() : fs::path("."), given};
}

ImageFiles::ImageFiles(const fs::path& image) {
  const auto [parent, given] = split_image_path(image);
  std::string name = given.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw ImageError(image.string() + " is not an image directory (name the image or DIR/latest)");
  // The path the user typed may go through links; the image itself may not.
  util::OwnedFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) throw ImageError("no image at " + image.string() + " (" + std::strerror(errno) + ")");
  struct stat pst {};
  ::fstat(parent_fd.get(), &pst);

  struct stat lst {};
  if (::fstatat(parent_fd.get(), name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0)
    throw ImageError("no image at " + image.string());
  if (S_ISLNK(lst.st_mode)) {  // DIR/latest
    char target[256] = {};
    const ssize_t n = ::readlinkat(parent_fd.get(), name.c_str(), target, sizeof target - 1);
    if (n <= 0) throw ImageError("cannot read the link " + image.string());
    const std::string t(target, static_cast<size_t>(n));
    if (!is_plain_name(t) || fmt::image_number(t.data(), t.size()) == 0)
      throw ImageError(image.string() + " points to \"" + t + "\", not to an image beside it (ckpt-NNNN)");
    name = t;
  }
  dir_ = parent / name;
  dirfd_ = util::OwnedFd(::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd_) {
    if (errno == ELOOP || errno == ENOTDIR) throw ImageError(dir_.string() + " is not an image directory");
    throw ImageError("no image at " + dir_.string() + " (" + std::strerror(errno) + ")");
  }
  struct stat st {};
  ::fstat(dirfd_.get(), &st);
  owner_ = st.st_uid;
  group_ = st.st_gid;
  const uid_t me = ::geteuid();
  if (owner_ != me && me != 0)
    throw ImageError(dir_.string() + " belongs to uid " + std::to_string(owner_) +
                     ": an image may be restored by its owner or by root only");
  check_not_writable_by_others(st, dir_);
  if (S_ISLNK(lst.st_mode)) check_one_owner(lst.st_uid, image);
  if (pst.st_uid != owner_ && pst.st_uid != 0)
    throw ImageError(parent.string() + " belongs to uid " + std::to_string(pst.st_uid) +
                     ": the directory holding an image must belong to the image's owner or root");
  check_not_writable_by_others(pst, parent);
}

ImageFiles::ImageFiles(const ImageFiles& tree, const std::string& name)
    : dir_(tree.dir_ / name), owner_(tree.owner_), group_(tree.group_), tree_member_(true) {
  if (!is_plain_name(name)) throw ImageError(std::string(fmt::kTreeManifest) + ": \"" + name + "\" is not a plain name");
  dirfd_ = util::OwnedFd(::openat(tree.dirfd_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd_) {
    if (errno == ELOOP || errno == ENOTDIR) throw ImageError(dir_.string() + " is not an image directory");
    throw ImageError("missing " + dir_.string() + " (" + std::strerror(errno) + ")");
  }
  struct stat st {};
  ::fstat(dirfd_.get(), &st);
  check_one_owner(st.st_uid, dir_);
  check_not_writable_by_others(st, dir_);
}

void ImageFiles::check_one_owner(uid_t uid, const fs::path& p) const {
  if (uid != owner_)
    throw ImageError(p.string() + " belongs to uid " + std::to_string(uid) + ", the image to uid " +
                     std::to_string(owner_) + ": every part of an image must have one owner");
}

int ImageFiles::get(const std::string& rel) {
  if (auto it = open_.find(rel); it != open_.end()) return it->second.get();
  int base = dirfd_.get();
  std::string name = rel;
  const std::string files_prefix = std::string(fmt::kFilesDir) + "/";
  if (rel.rfind(files_prefix, 0) == 0) {
    name = rel.substr(files_prefix.size());
    if (!filesfd_) {
      const fs::path files = dir_ / fmt::kFilesDir;
      filesfd_ = util::OwnedFd(::openat(dirfd_.get(), fmt::kFilesDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!filesfd_) throw ImageError("missing " + files.string() + " (or it is not a directory)");
      struct stat st {};
      ::fstat(filesfd_.get(), &st);
      check_one_owner(st.st_uid, files);
      check_not_writable_by_others(st, files);
    }
    base = filesfd_.get();
  } else if (rel != fmt::kManifest && rel != fmt::kCore && rel != fmt::kExeCopy && rel != fmt::kTreeManifest) {
    throw ImageError("manifest.json: \"" + rel + "\" is not a file of the image (exe, core or files/NAME)");
  }
  const fs::path path = dir_ / rel;
  if (!is_plain_name(name)) throw ImageError("manifest.json: \"" + rel + "\" is not a plain name inside the image");
  // Non-blocking: a FIFO put in a file's place must not hang the restore.
  util::OwnedFd fd(::openat(base, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ELOOP) throw ImageError(path.string() + " is a symbolic link: refusing it");
    throw ImageError("missing " + path.string() + " (" + std::strerror(errno) + ")");
  }
  struct stat st {};
  ::fstat(fd.get(), &st);
  if (!S_ISREG(st.st_mode)) throw ImageError(path.string() + " is " + describe_mode(st.st_mode) + ", not a regular file");
  check_one_owner(st.st_uid, path);
  check_not_writable_by_others(st, path);
  ::fcntl(fd.get(), F_SETFL, 0);
  const int raw = fd.get();
  open_.emplace(rel, std::move(fd));
  return raw;
}

std::string ImageFiles::read_all(const std::string& rel) {
  const int fd = get(rel);
  std::string out;
  char buf[1 << 16];
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ImageError("cannot read " + (dir_ / rel).string() + ": " + std::strerror(errno));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
    if (out.size() > (256u << 20)) throw ImageError((dir_ / rel).string() + " is too large");
  }
  return out;
}

}  // namespace ckptsim::restart
