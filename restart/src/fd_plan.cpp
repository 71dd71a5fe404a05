// Descriptors come back at their numbers with their flags and offsets. They are
// opened here, in the restarter, so a failure is reported before anything runs;
// spawn_child moves them into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <tuple>

#include "object_factory.h"
#include "phases.h"

namespace ckptsim::restart {
namespace {

bool is_stdio_endpoint(const FdEntry& fd) {
  // A terminal or pipe on 0-2 belongs to whoever started the job: the
  // restored job talks to whoever starts the restarter instead.
  return fd.fd <= 2 && (fd.kind == "tty" || fd.kind == "pipe" || fd.kind == "socket");
}

// Why this descriptor cannot be reopened, or "" if it can.
std::string unrestorable_reason(const Image& img, const FdEntry& fd) {
  if (is_stdio_endpoint(fd)) return "";
  if (fd.object) return object_unrestorable_reason(img, fd);
  if (fd.kind == "regular") return is_deleted_path(fd.path) ? "a deleted file" : "";
  if (fd.kind == "directory" || fd.kind == "devnull" || fd.kind == "chardev") return "";
  if (fd.kind == "tty" && !fd.path.empty()) return "";
  return "a " + fd.kind + (fd.path.empty() ? "" : " (" + fd.path + ")");
}

// Flags as fdinfo shows them, minus what only makes sense when creating.
int reopen_flags(int flags) {
  return (flags & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_CLOEXEC)) | O_CLOEXEC;
}

}  // namespace

void check_fds_restorable(const Image& img, bool skip_unrestorable) {
  if (skip_unrestorable) return;
  for (const auto& fd : img.fds) {
    std::string why = unrestorable_reason(img, fd);
    if (!why.empty())
      throw ImageError("fd " + std::to_string(fd.fd) + " is " + why +
                       ", which cannot be restored (--skip-unrestorable makes it /dev/null)");
  }
}

FdPlan plan_fds(const Image& img, bool skip_unrestorable) {
  FdPlan plan;
  // fds that shared one open file description (2>&1, dup) must share it again,
  // or they would overwrite each other: same file, flags and offset => dup.
  std::map<std::tuple<std::string, int, uint64_t>, int> shared;
  bool seen_stdio[3] = {false, false, false};
  AsImageOwner as_owner(img.owner);  // what the job gets, it could have opened itself
  ObjectFactory objects(img);
  std::map<int, int> index_of;  // fd number -> its description in plan.opened
  for (const auto& fd : img.fds) {
    if (fd.fd < 0) throw ImageError("manifest.json: negative fd number");
    if (fd.fd <= 2) seen_stdio[fd.fd] = true;
    if (is_stdio_endpoint(fd)) {
      plan.slots.push_back({fd.fd, -1});
      continue;
    }
    std::string why = unrestorable_reason(img, fd);
    std::string path = fd.path;
    int flags = reopen_flags(fd.flags);
    if (!why.empty()) {
      if (!skip_unrestorable) throw ImageError("fd " + std::to_string(fd.fd) + " is " + why + ", which cannot be restored");
      std::cerr << "ckptsim: warning: fd " << fd.fd << " was " << why << "; it is /dev/null in the restored process\n";
      path = "/dev/null";
      flags = O_RDWR | O_CLOEXEC;
    } else if (fd.object) {
      const int index = fd.object->dup_of >= 0 ? index_of.at(fd.object->dup_of) : static_cast<int>(plan.opened.size());
      if (fd.object->dup_of < 0) plan.opened.push_back(objects.open(fd));
      if (is_deleted_path(fd.path)) plan.mapped_objects.emplace(fd.path, index);
      plan.slots.push_back({fd.fd, index});
      index_of[fd.fd] = index;
      continue;
    } else if (fd.kind == "devnull") {
      path = "/dev/null";
    } else if (fd.kind == "directory") {
      flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    }
    const auto key = std::make_tuple(path, flags, fd.offset);
    if (fd.kind == "regular") {
      if (auto it = shared.find(key); it != shared.end()) {
        plan.slots.push_back({fd.fd, it->second});
        continue;
      }
    }
    // fd paths are what /proc/PID/fd resolved to: a link in their last
    // component was put there since, and is not followed.
    util::OwnedFd opened(::open(path.c_str(), flags | O_NOFOLLOW));
    if (!opened)
      throw RestoreError("cannot reopen fd " + std::to_string(fd.fd) + " (" + path + "): " + std::strerror(errno));
    struct stat st {};
    ::fstat(opened.get(), &st);
    if (fd.kind == "regular" && !S_ISREG(st.st_mode))
      throw RestoreError("cannot reopen fd " + std::to_string(fd.fd) + " (" + path + "): not a regular file any more");
    if (fd.kind == "regular") img.owner.check_file_owner(st.st_uid, "give the job " + path);
    if (fd.kind == "regular" &&
        ::lseek(opened.get(), static_cast<off_t>(fd.offset), SEEK_SET) < 0)
      throw RestoreError("cannot seek fd " + std::to_string(fd.fd) + " (" + path + "): " + std::strerror(errno));
    const int index = static_cast<int>(plan.opened.size());
    plan.opened.push_back(std::move(opened));
    plan.slots.push_back({fd.fd, index});
    if (fd.kind == "regular") shared.emplace(key, index);
  }
  for (const auto& sf : img.shared_files)
    if (is_deleted_path(sf.path) && !plan.mapped_objects.count(sf.path)) {
      plan.mapped_objects.emplace(sf.path, static_cast<int>(plan.opened.size()));
      plan.opened.push_back(objects.open_mapped(sf));
    }
  for (int i = 0; i <= 2; ++i)
    if (!seen_stdio[i]) plan.close_in_child.push_back(i);
  return plan;
}

}  // namespace ckptsim::restart
