#include "image_owner.h"

#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "restart/restart.h"

namespace ckptsim::restart {

ImageOwner image_owner(uid_t uid, gid_t gid, bool allow_foreign_files) {
  ImageOwner o;
  o.uid = uid;
  o.gid = gid;
  o.allow_foreign_files = allow_foreign_files;
  o.foreign = ::geteuid() == 0 && uid != 0;
  if (!o.foreign) return o;
  if (const passwd* pw = ::getpwuid(uid)) {
    int n = 64;
    std::vector<gid_t> groups(n);
    if (::getgrouplist(pw->pw_name, gid, groups.data(), &n) < 0) {
      groups.resize(n);
      ::getgrouplist(pw->pw_name, gid, groups.data(), &n);
    }
    groups.resize(n > 0 ? n : 0);
    o.groups = groups;
  } else {
    o.groups = {gid};  // a uid without a name (a container's): its own group only
  }
  return o;
}

void ImageOwner::check_file_owner(uid_t st_uid, const std::string& use) const {
  if (!foreign || allow_foreign_files || st_uid == uid) return;
  throw ImageError("refusing to " + use + ": it belongs to uid " + std::to_string(st_uid) + ", the image to uid " +
                   std::to_string(uid) + " (--allow-foreign-files)");
}

AsImageOwner::AsImageOwner(const ImageOwner& o) {
  if (!o.foreign || o.allow_foreign_files) return;
  active_ = true;
  old_gid_ = static_cast<gid_t>(::setfsgid(o.gid));
  old_uid_ = static_cast<uid_t>(::setfsuid(o.uid));
}

AsImageOwner::~AsImageOwner() {
  if (!active_) return;
  ::setfsuid(old_uid_);
  ::setfsgid(old_gid_);
}

int become_owner(const ImageOwner& o) {
  if (!o.foreign) return 0;
  if (::setgroups(o.groups.size(), o.groups.data()) != 0) return errno;
  if (::setresgid(o.gid, o.gid, o.gid) != 0) return errno;
  if (::setresuid(o.uid, o.uid, o.uid) != 0) return errno;
  return 0;
}

}  // namespace ckptsim::restart
