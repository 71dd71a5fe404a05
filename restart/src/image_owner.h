// Whose restore this is. A user restores their own images as themselves.
// Root may restore anyone's image, but the job runs as the image's owner (the
// image's memory is the owner's to write, so running it as root would hand
// the owner root), and unless --allow-foreign-files the files restart puts
// back or opens for the job are reached with the owner's file-system identity
// and must belong to the owner: a manifest can name any path, and root must
// not write, or hand the job, a file the owner could not have.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace ckptsim::restart {

struct ImageOwner {
  bool foreign = false;  // the caller is root and the image is someone else's
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // the owner's supplementary groups (from the user database)
  bool allow_foreign_files = false;
  // ImageError unless restart may `use` (e.g. "write /x") a file of st_uid's for this image.
  void check_file_owner(uid_t st_uid, const std::string& use) const;
};

ImageOwner image_owner(uid_t uid, gid_t gid, bool allow_foreign_files);

// While alive, file access and creation use the image owner's identity
// (setfsuid/setfsgid) when a foreign image is restored without
// --allow-foreign-files; otherwise it does nothing.
class AsImageOwner {
 public:
  explicit AsImageOwner(const ImageOwner& o);
  ~AsImageOwner();
  AsImageOwner(const AsImageOwner&) = delete;
  AsImageOwner& operator=(const AsImageOwner&) = delete;

 private:
  bool active_ = false;
  uid_t old_uid_ = 0;
  gid_t old_gid_ = 0;
};

// In the forked child, before exec (async-signal-safe): become the owner.
// Returns 0 or an errno value.
int become_owner(const ImageOwner& o);

}  // namespace ckptsim::restart
